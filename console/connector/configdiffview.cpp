#include "configdiffview.h"

#include <QJsonArray>
#include <QJsonDocument>

std::optional<ConfigDiffView> ConfigDiffView::fromJson(const QJsonObject &json, QString *error)
{
    error->clear();
    const QJsonValue changes = json.value(QLatin1String("changes"));
    if (!changes.isArray()) {
        *error = QStringLiteral("/changes: expected an array");
        return std::nullopt;
    }
    ConfigDiffView out;
    out.persistedSha256 = json.value(QLatin1String("persisted_sha256")).toString();
    out.liveSha256 = json.value(QLatin1String("live_sha256")).toString();
    const QJsonArray list = changes.toArray();
    for (qsizetype i = 0; i < list.size(); ++i) {
        const QJsonObject entry = list.at(i).toObject();
        JsonChange change;
        const QJsonValue pointer = entry.value(QLatin1String("pointer"));
        const QString kind = entry.value(QLatin1String("kind")).toString();
        if (!pointer.isString()) {
            *error = QStringLiteral("/changes/%1/pointer: expected a string").arg(i);
            return std::nullopt;
        }
        change.pointer = pointer.toString();
        if (kind == QLatin1String("added"))
            change.kind = JsonChange::Kind::Added;
        else if (kind == QLatin1String("removed"))
            change.kind = JsonChange::Kind::Removed;
        else if (kind == QLatin1String("changed"))
            change.kind = JsonChange::Kind::Changed;
        else {
            *error =
                QStringLiteral("/changes/%1/kind: \"%2\" is not added, removed or changed").arg(i).arg(kind);
            return std::nullopt;
        }
        change.oldValue = entry.value(QLatin1String("old"));
        change.newValue = entry.value(QLatin1String("new"));
        out.changes.append(change);
    }
    return out;
}

QString ConfigDiffView::valueText(const QJsonValue &value)
{
    if (value.isUndefined())
        return {};
    // QJsonDocument takes only arrays and objects: wrap a scalar and strip the brackets.
    const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(wrapped.mid(1, wrapped.size() - 2));
}

QString ConfigDiffView::toText(const QList<JsonChange> &changes)
{
    QString out;
    for (const JsonChange &c : changes) {
        switch (c.kind) {
        case JsonChange::Kind::Added:
            out += QStringLiteral("+ %1: %2\n").arg(c.pointer, valueText(c.newValue));
            break;
        case JsonChange::Kind::Removed:
            out += QStringLiteral("- %1: %2\n").arg(c.pointer, valueText(c.oldValue));
            break;
        case JsonChange::Kind::Changed:
            out += QStringLiteral("~ %1: %2 -> %3\n")
                       .arg(c.pointer, valueText(c.oldValue), valueText(c.newValue));
            break;
        }
    }
    return out;
}
