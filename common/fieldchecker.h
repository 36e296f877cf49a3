// Field-level checks of APISIX-format objects: a checker that records each error with its JSON pointer,
// and typed readers of members (string, integer in a range, enum, reference...).
#pragma once

#include "canonicaljson.h"
#include "configobjects.h"
#include "jsondiff.h"
#include "validationerror.h"

#include <QByteArrayView>
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QVarLengthArray>

#include <climits>

// Shared by the route validator (configvalidator.cpp) and the upstream checks (upstreamchecks.cpp).
namespace validation {

constexpr qint64 NoMin = INT_MIN; // bounds of an int field that has no range of its own
constexpr qint64 NoMax = INT_MAX;

// Walks one top-level object. The JSON pointer and the object key are only turned into strings when an
// error is recorded, so a valid object costs no allocation for them.
class FieldChecker
{
public:
    FieldChecker(ObjectKind kind, const QString &id, ValidationErrors *errors)
        : m_kind(kind)
        , m_id(id)
        , m_errors(errors)
    {}

    bool failed() const { return m_failed; }

    void push(const char *name) { m_path.append(Segment{name, nullptr, -1}); }
    void push(const QString *member) { m_path.append(Segment{nullptr, member, -1}); }
    void push(qsizetype index) { m_path.append(Segment{nullptr, nullptr, index}); }
    void pop() { m_path.removeLast(); }

    void fail(const QString &message)
    {
        m_failed = true;
        if (!m_errors)
            return;
        QString key = collectionName(m_kind);
        if (!m_id.isEmpty())
            key += QLatin1Char('/') + m_id;
        m_errors->append(ValidationError{key, pointer(), message});
    }

    // "expected <what>, got <type>" for a value of the wrong JSON type
    void wrongType(const QString &expected, const QJsonValue &value)
    {
        fail(QStringLiteral("expected %1, got %2")
                 .arg(expected, QLatin1String(CanonicalJson::typeName(value))));
    }
    // "expected <what>, got <value>" for a value of the right type that is out of range
    void wrongValue(const QString &expected, const QJsonValue &value)
    {
        fail(QStringLiteral("expected %1, got %2").arg(expected, literal(value)));
    }

    static QString literal(const QJsonValue &value)
    {
        QString text = QString::fromUtf8(CanonicalJson::serialize(value));
        if (text.size() > 80)
            text = text.left(77) + QLatin1String("...");
        return text;
    }

private:
    struct Segment
    {
        const char *name;
        const QString *member;
        qsizetype index;
    };

    QString pointer() const
    {
        QString out;
        for (const Segment &segment : m_path) {
            if (segment.member)
                JsonDiff::appendPointerToken(out, *segment.member);
            else if (segment.name)
                out += QLatin1Char('/') + QLatin1String(segment.name);
            else
                out += QLatin1Char('/') + QString::number(segment.index);
        }
        return out;
    }

    ObjectKind m_kind;
    const QString &m_id;
    ValidationErrors *m_errors;
    QVarLengthArray<Segment, 8> m_path;
    bool m_failed = false;
};

class Scope
{
public:
    template<typename T>
    Scope(FieldChecker &checker, T segment)
        : m_checker(checker)
    {
        checker.push(segment);
    }
    ~Scope() { m_checker.pop(); }
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

private:
    FieldChecker &m_checker;
};

QJsonValue member(const QJsonObject &object, const char *name);
QString integerSpec(qint64 min, qint64 max);
bool checkString(FieldChecker &c, const QJsonValue &v, QString *out);
bool checkInteger(FieldChecker &c, const QJsonValue &v, qint64 min, qint64 max, int *out);
bool checkNumber(FieldChecker &c, const QJsonValue &v, double min, bool exclusive, double *out);

struct EnumName
{
    const char *name;
    int value;
};

template<size_t N>
bool checkEnum(FieldChecker &c, const QJsonValue &v, const EnumName (&names)[N], int *out)
{
    const auto spec = [&] {
        QString text = QStringLiteral("one of ");
        for (size_t i = 0; i < N; ++i) {
            if (i)
                text += QLatin1String(", ");
            text += QLatin1String(names[i].name);
        }
        return text;
    };
    if (!v.isString()) {
        c.wrongType(spec(), v);
        return false;
    }
    const QString s = v.toString();
    for (const EnumName &entry : names) {
        if (s == QLatin1String(entry.name)) {
            *out = entry.value;
            return true;
        }
    }
    c.wrongValue(spec(), v);
    return false;
}

// Field readers: false when the member is absent or invalid (then the error is recorded).

// Field readers: false when the member is absent or invalid (then the error is recorded).
bool optString(FieldChecker &c, const QJsonObject &o, const char *name, QString *out);
bool optBool(FieldChecker &c, const QJsonObject &o, const char *name, bool *out);
bool optInteger(FieldChecker &c, const QJsonObject &o, const char *name, qint64 min, qint64 max, int *out);
bool optNumber(FieldChecker &c, const QJsonObject &o, const char *name, double min, bool exclusive,
               double *out);
bool optObject(FieldChecker &c, const QJsonObject &o, const char *name, QJsonObject *out);
bool optArray(FieldChecker &c, const QJsonObject &o, const char *name, QJsonArray *out);

template<size_t N>
bool optEnum(FieldChecker &c, const QJsonObject &o, const char *name, const EnumName (&names)[N], int *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    return checkEnum(c, v, names, out);
}

void required(FieldChecker &c, const char *name, const QString &why = QString());
bool optReference(FieldChecker &c, const QJsonObject &o, const char *name, QString *out);
// The object's own "id", when written, must name the same object as its key.
void checkId(FieldChecker &c, const QJsonObject &o, const QString &id);
void checkNameDescLabels(FieldChecker &c, const QJsonObject &o, QString *name);
bool isHostChar(char ch);
// A name or an IPv4 address, as APISIX's host_def: [0-9a-zA-Z-._]+
bool isHostName(QByteArrayView host);

} // namespace validation
