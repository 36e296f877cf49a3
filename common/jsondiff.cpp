#include "jsondiff.h"

#include <QJsonObject>

#include <algorithm>

const char *JsonChange::kindName(Kind kind)
{
    static const char *const names[] = {"added", "removed", "changed"}; // in the order of Kind
    return names[int(kind)];
}

namespace {

// One walk over both trees. The pointer is one growing buffer, truncated on the way back up, so a
// visited member costs no allocation unless it is reported.
class Walker
{
public:
    explicit Walker(QList<JsonChange> &out)
        : m_out(out)
    {}

    void value(const QJsonValue &from, const QJsonValue &to)
    {
        const QJsonValue::Type type = from.type();
        if (type != to.type()) {
            if (type == QJsonValue::Undefined)
                report(JsonChange::Kind::Added, from, to);
            else if (to.type() == QJsonValue::Undefined)
                report(JsonChange::Kind::Removed, from, to);
            else
                report(JsonChange::Kind::Changed, from, to);
            return;
        }
        // Qt compares shared data by pointer and everything else without building strings or values,
        // which is far cheaper than walking an equal subtree member by member.
        if (from == to)
            return;
        if (type == QJsonValue::Object)
            object(from.toObject(), to.toObject());
        else if (type == QJsonValue::Array)
            array(from.toArray(), to.toArray());
        else
            report(JsonChange::Kind::Changed, from, to);
    }

private:
    // QJsonObject keeps its keys sorted, so a merge of the two key sequences visits every key once,
    // in the order the output promises.
    void object(const QJsonObject &from, const QJsonObject &to)
    {
        const qsizetype mark = m_pointer.size();
        auto a = from.constBegin();
        auto b = to.constBegin();
        const auto aEnd = from.constEnd();
        const auto bEnd = to.constEnd();
        QString aKey = a != aEnd ? a.key() : QString();
        QString bKey = b != bEnd ? b.key() : QString();
        while (a != aEnd || b != bEnd) {
            int order;
            if (a == aEnd)
                order = 1;
            else if (b == bEnd)
                order = -1;
            else
                order = aKey.compare(bKey);

            if (order < 0) {
                JsonDiff::appendPointerToken(m_pointer, aKey);
                report(JsonChange::Kind::Removed, a.value(), QJsonValue(QJsonValue::Undefined));
            } else if (order > 0) {
                JsonDiff::appendPointerToken(m_pointer, bKey);
                report(JsonChange::Kind::Added, QJsonValue(QJsonValue::Undefined), b.value());
            } else {
                JsonDiff::appendPointerToken(m_pointer, aKey);
                value(a.value(), b.value());
            }
            m_pointer.truncate(mark);

            if (order <= 0 && ++a != aEnd)
                aKey = a.key();
            if (order >= 0 && ++b != bEnd)
                bKey = b.key();
        }
    }

    void array(const QJsonArray &from, const QJsonArray &to)
    {
        const qsizetype mark = m_pointer.size();
        const qsizetype common = std::min(from.size(), to.size());
        const qsizetype longest = std::max(from.size(), to.size());
        for (qsizetype i = 0; i < longest; ++i) {
            m_pointer += QLatin1Char('/');
            m_pointer += QString::number(i);
            if (i < common)
                value(from.at(i), to.at(i));
            else if (i < from.size())
                report(JsonChange::Kind::Removed, from.at(i), QJsonValue(QJsonValue::Undefined));
            else
                report(JsonChange::Kind::Added, QJsonValue(QJsonValue::Undefined), to.at(i));
            m_pointer.truncate(mark);
        }
    }

    void report(JsonChange::Kind kind, const QJsonValue &from, const QJsonValue &to)
    {
        JsonChange change;
        change.pointer = m_pointer;
        change.kind = kind;
        if (kind != JsonChange::Kind::Added)
            change.oldValue = from;
        if (kind != JsonChange::Kind::Removed)
            change.newValue = to;
        m_out.append(std::move(change));
    }

    QList<JsonChange> &m_out;
    QString m_pointer;
};

} // namespace

namespace JsonDiff {

QList<JsonChange> diff(const QJsonValue &from, const QJsonValue &to)
{
    QList<JsonChange> changes;
    Walker(changes).value(from, to);
    return changes;
}

QJsonArray toJson(const QList<JsonChange> &changes)
{
    QJsonArray out;
    for (const JsonChange &change : changes) {
        QJsonObject entry;
        entry.insert(QLatin1String("pointer"), change.pointer);
        entry.insert(QLatin1String("kind"), QLatin1String(JsonChange::kindName(change.kind)));
        // A null old or new value is still written: null is a value, only an absent one is omitted.
        if (change.kind != JsonChange::Kind::Added)
            entry.insert(QLatin1String("old"), change.oldValue);
        if (change.kind != JsonChange::Kind::Removed)
            entry.insert(QLatin1String("new"), change.newValue);
        out.append(entry);
    }
    return out;
}

QString escapePointerToken(const QString &token)
{
    QString pointer;
    JsonDiff::appendPointerToken(pointer, token);
    return pointer.mid(1);
}

} // namespace JsonDiff

void JsonDiff::appendPointerToken(QString &pointer, QStringView token)
{
    pointer += QLatin1Char('/');
    if (!token.contains(QLatin1Char('~')) && !token.contains(QLatin1Char('/'))) {
        pointer += token;
        return;
    }
    for (const QChar c : token) {
        if (c == QLatin1Char('~'))
            pointer += QLatin1String("~0");
        else if (c == QLatin1Char('/'))
            pointer += QLatin1String("~1");
        else
            pointer += c;
    }
}
