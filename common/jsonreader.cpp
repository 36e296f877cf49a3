#include "jsonreader.h"

#include "canonicaljson.h"

#include <algorithm>
#include <cmath>

JsonReader::JsonReader(const QJsonObject &object, QString path, QString *error)
    : m_object(object)
    , m_path(std::move(path))
    , m_error(error)
{}

QString JsonReader::where(const QString &key) const
{
    return m_path.isEmpty() ? key : QStringLiteral("%1.%2").arg(m_path, key);
}

void JsonReader::fail(const QString &key, const QString &message)
{
    if (ok())
        *m_error = QStringLiteral("%1: %2").arg(where(key), message);
}

QJsonValue JsonReader::take(const char *key, const char *expected, bool (*accept)(const QJsonValue &))
{
    if (!ok())
        return {};
    const QString name = QLatin1String(key);
    const auto it = m_object.constFind(name);
    if (it == m_object.constEnd()) {
        fail(name, QStringLiteral("missing (expected %1)").arg(QLatin1String(expected)));
        return {};
    }
    const QJsonValue value = it.value();
    if (!accept(value)) {
        fail(name, QStringLiteral("expected %1, got %2")
                       .arg(QLatin1String(expected), QLatin1String(CanonicalJson::typeName(value))));
        return {};
    }
    return value;
}

namespace {

bool isInteger(const QJsonValue &v)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return std::isfinite(d) && std::trunc(d) == d;
}

} // namespace

QString JsonReader::string(const char *key)
{
    return take(key, "string", [](const QJsonValue &v) { return v.isString(); }).toString();
}

QString JsonReader::stringOrNull(const char *key)
{
    return take(key, "string or null", [](const QJsonValue &v) { return v.isString() || v.isNull(); })
        .toString();
}

bool JsonReader::boolean(const char *key)
{
    return take(key, "boolean", [](const QJsonValue &v) { return v.isBool(); }).toBool();
}

qint64 JsonReader::integer(const char *key)
{
    return take(key, "integer", isInteger).toInteger();
}

std::optional<qint64> JsonReader::integerOrNull(const char *key)
{
    const QJsonValue v =
        take(key, "integer or null", [](const QJsonValue &x) { return isInteger(x) || x.isNull(); });
    if (!isInteger(v))
        return std::nullopt;
    return v.toInteger();
}

QDateTime JsonReader::dateOrNull(const char *key)
{
    const QJsonValue v =
        take(key, "ISO 8601 time or null", [](const QJsonValue &x) { return x.isString() || x.isNull(); });
    if (!v.isString())
        return {};
    const QDateTime when = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
    if (!when.isValid())
        fail(QLatin1String(key), QStringLiteral("expected ISO 8601 time, got \"%1\"").arg(v.toString()));
    return when;
}

QDateTime JsonReader::date(const char *key)
{
    const QJsonValue v = take(key, "ISO 8601 time", [](const QJsonValue &x) { return x.isString(); });
    const QDateTime when = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
    if (ok() && !when.isValid())
        fail(QLatin1String(key), QStringLiteral("expected ISO 8601 time, got \"%1\"").arg(v.toString()));
    return when;
}

QStringList JsonReader::stringList(const char *key)
{
    const QJsonArray items =
        take(key, "array of strings", [](const QJsonValue &v) {
            if (!v.isArray())
                return false;
            const QJsonArray a = v.toArray();
            return std::all_of(a.begin(), a.end(), [](const QJsonValue &e) { return e.isString(); });
        }).toArray();
    QStringList out;
    out.reserve(items.size());
    for (const QJsonValue &e : items)
        out.append(e.toString());
    return out;
}

QJsonObject JsonReader::object(const char *key)
{
    return take(key, "object", [](const QJsonValue &v) { return v.isObject(); }).toObject();
}

QJsonArray JsonReader::array(const char *key)
{
    return take(key, "array", [](const QJsonValue &v) { return v.isArray(); }).toArray();
}

JsonReader JsonReader::child(const char *key)
{
    return JsonReader(object(key), where(QLatin1String(key)), m_error);
}

JsonReader JsonReader::element(const char *arrayKey, const QJsonArray &array, int index)
{
    const QString name = QStringLiteral("%1[%2]").arg(QLatin1String(arrayKey)).arg(index);
    const QJsonValue value = array.at(index);
    if (!value.isObject())
        fail(name,
             QStringLiteral("expected object, got %1").arg(QLatin1String(CanonicalJson::typeName(value))));
    return JsonReader(value.toObject(), where(name), m_error);
}

QJsonValue JsonReader::dateValue(const QDateTime &when)
{
    return when.isValid() ? QJsonValue(when.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}

QJsonValue JsonReader::stringValue(const QString &text)
{
    return text.isEmpty() ? QJsonValue() : QJsonValue(text);
}
