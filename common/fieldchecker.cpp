#include "fieldchecker.h"

#include "configvalidator.h"

#include <cmath>

namespace validation {

QJsonValue member(const QJsonObject &object, const char *name)
{
    return object.value(QLatin1String(name));
}

QString integerSpec(qint64 min, qint64 max)
{
    if (min == NoMin && max == NoMax)
        return QStringLiteral("integer");
    if (max == NoMax)
        return QStringLiteral("integer >= %1").arg(min);
    return QStringLiteral("integer %1-%2").arg(min).arg(max);
}

// Value checks at the checker's current path. Each returns false, with the error recorded, on a bad value.

bool checkString(FieldChecker &c, const QJsonValue &v, QString *out)
{
    if (!v.isString()) {
        c.wrongType(QStringLiteral("string"), v);
        return false;
    }
    *out = v.toString();
    return true;
}

bool checkInteger(FieldChecker &c, const QJsonValue &v, qint64 min, qint64 max, int *out)
{
    if (!v.isDouble()) {
        c.wrongType(integerSpec(min, max), v);
        return false;
    }
    const double d = v.toDouble();
    if (std::floor(d) != d || d < double(min) || d > double(max)) {
        c.wrongValue(integerSpec(min, max), v);
        return false;
    }
    *out = int(d);
    return true;
}

bool checkNumber(FieldChecker &c, const QJsonValue &v, double min, bool exclusive, double *out)
{
    const auto spec = [&] {
        return QStringLiteral("number %1 %2")
            .arg(exclusive ? QLatin1String(">") : QLatin1String(">="))
            .arg(min);
    };
    if (!v.isDouble()) {
        c.wrongType(spec(), v);
        return false;
    }
    const double d = v.toDouble();
    if (exclusive ? !(d > min) : !(d >= min)) {
        c.wrongValue(spec(), v);
        return false;
    }
    *out = d;
    return true;
}

namespace {

// An optional member: absent -> false; present -> check(value) with the member's name in the error path.
template<typename Check>
bool optMember(FieldChecker &c, const QJsonObject &o, const char *name, Check check)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    return check(v);
}

} // namespace

bool optString(FieldChecker &c, const QJsonObject &o, const char *name, QString *out)
{
    return optMember(c, o, name, [&](const QJsonValue &v) { return checkString(c, v, out); });
}

bool optBool(FieldChecker &c, const QJsonObject &o, const char *name, bool *out)
{
    return optMember(c, o, name, [&](const QJsonValue &v) {
        if (!v.isBool()) {
            c.wrongType(QStringLiteral("boolean"), v);
            return false;
        }
        *out = v.toBool();
        return true;
    });
}

bool optInteger(FieldChecker &c, const QJsonObject &o, const char *name, qint64 min, qint64 max, int *out)
{
    return optMember(c, o, name, [&](const QJsonValue &v) { return checkInteger(c, v, min, max, out); });
}

bool optNumber(FieldChecker &c, const QJsonObject &o, const char *name, double min, bool exclusive,
               double *out)
{
    return optMember(c, o, name, [&](const QJsonValue &v) { return checkNumber(c, v, min, exclusive, out); });
}

bool optObject(FieldChecker &c, const QJsonObject &o, const char *name, QJsonObject *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    if (!v.isObject()) {
        Scope scope(c, name);
        c.wrongType(QStringLiteral("object"), v);
        return false;
    }
    *out = v.toObject();
    return true;
}

// A non-empty array; the caller enters the member's scope for the items.
bool optArray(FieldChecker &c, const QJsonObject &o, const char *name, QJsonArray *out)
{
    return optMember(c, o, name, [&](const QJsonValue &v) {
        if (!v.isArray()) {
            c.wrongType(QStringLiteral("non-empty array"), v);
            return false;
        }
        *out = v.toArray();
        if (out->isEmpty()) {
            c.wrongValue(QStringLiteral("non-empty array"), v);
            return false;
        }
        return true;
    });
}

void required(FieldChecker &c, const char *name, const QString &why)
{
    Scope scope(c, name);
    c.fail(why.isEmpty() ? QStringLiteral("required") : QStringLiteral("required ") + why);
}

bool optReference(FieldChecker &c, const QJsonObject &o, const char *name, QString *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    if (ConfigValidator::idFromJson(v, out))
        return true;
    Scope scope(c, name);
    const QString spec = QStringLiteral("non-empty string or integer >= 1");
    if (v.isString() || v.isDouble())
        c.wrongValue(spec, v);
    else
        c.wrongType(spec, v);
    return false;
}

// The object's own "id", when written, must name the same object as its key.
void checkId(FieldChecker &c, const QJsonObject &o, const QString &id)
{
    QString own;
    if (!optReference(c, o, "id", &own))
        return;
    if (own != id) {
        Scope scope(c, "id");
        c.wrongValue(QStringLiteral("\"%1\" (the id in the key)").arg(id), member(o, "id"));
    }
}

void checkNameDescLabels(FieldChecker &c, const QJsonObject &o, QString *name)
{
    optString(c, o, "name", name);
    QString desc;
    optString(c, o, "desc", &desc);
    QJsonObject labels;
    if (optObject(c, o, "labels", &labels)) {
        Scope scope(c, "labels");
        for (auto it = labels.constBegin(); it != labels.constEnd(); ++it) {
            if (!it.value().isString()) {
                const QString key = it.key();
                Scope item(c, &key);
                c.wrongType(QStringLiteral("string"), it.value());
            }
        }
    }
}

bool isHostChar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
           ch == '.' || ch == '_';
}

// A name or an IPv4 address, as APISIX's host_def: [0-9a-zA-Z-._]+
bool isHostName(QByteArrayView host)
{
    if (host.isEmpty())
        return false;
    for (const char ch : host) {
        if (!isHostChar(ch))
            return false;
    }
    return true;
}

// An IPv6 address without brackets; loose, as APISIX's own check, since connect() has the last word.

} // namespace validation
