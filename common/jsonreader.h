// Reads the members of a JSON object into typed values, naming the first unexpected member precisely.
#pragma once

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>

// For the admin API's wire types (status, events): each reader call takes one member and, when it is
// missing or of the wrong type, records "control_plane.retry_in_ms: expected number or null, got string"
// and turns every later call into a no-op, so fromJson() reads straight through and checks ok() once.
// Members not asked for are ignored: a newer gateway may add some.
class JsonReader
{
public:
    // `path` prefixes member names in errors ("" at the top, "control_plane", "rejected[2]").
    JsonReader(const QJsonObject &object, QString path, QString *error);

    bool ok() const { return m_error->isEmpty(); }
    // Records an error about the member `key` (for values of the right type that are still wrong).
    void fail(const QString &key, const QString &message);

    QString string(const char *key);
    QString stringOrNull(const char *key); // null reads as ""
    bool boolean(const char *key);
    qint64 integer(const char *key);
    std::optional<qint64> integerOrNull(const char *key);
    QDateTime dateOrNull(const char *key); // ISO 8601; null reads as an invalid QDateTime
    QDateTime date(const char *key);
    QStringList stringList(const char *key);
    QJsonObject object(const char *key);
    QJsonArray array(const char *key);
    bool has(const char *key) const { return m_object.contains(QLatin1String(key)); }
    // The member as it is (undefined when missing), for optional members read leniently.
    QJsonValue value(const char *key) const { return m_object.value(QLatin1String(key)); }

    // A reader of the object member `key` (empty, with the error recorded, when it is not an object).
    JsonReader child(const char *key);
    // Calls read(reader) with a reader of each element of the array member `arrayKey`, which must hold
    // objects, until an error is recorded.
    template<typename Read>
    void forEachElement(const char *arrayKey, Read &&read)
    {
        const QJsonArray items = array(arrayKey);
        for (int i = 0; i < items.size() && ok(); ++i) {
            JsonReader reader = element(arrayKey, items, i);
            read(reader);
        }
    }

    // "2026-12-01T19:13:05.123Z", or null for an invalid time.
    static QJsonValue dateValue(const QDateTime &when);
    static QJsonValue stringValue(const QString &text); // "" as null

private:
    JsonReader element(const char *arrayKey, const QJsonArray &array, int index);
    QJsonValue take(const char *key, const char *expected, bool (*accept)(const QJsonValue &));
    QString where(const QString &key) const;

    QJsonObject m_object;
    QString m_path;
    QString *m_error;
};
