// Structural difference of two JSON documents, for the admin API and the console.
#pragma once

#include <QJsonArray>
#include <QJsonValue>
#include <QList>
#include <QString>

struct JsonChange
{
    enum class Kind
    {
        Added,
        Removed,
        Changed
    };

    QString pointer; // RFC 6901, "" for the root
    Kind kind = Kind::Changed;
    QJsonValue oldValue{QJsonValue::Undefined}; // undefined for Added
    QJsonValue newValue{QJsonValue::Undefined}; // undefined for Removed

    static const char *kindName(Kind kind); // "added", "removed", "changed"
};

namespace JsonDiff {

// Appends "/<token>" to an RFC 6901 pointer, escaping "~" and "/".
void appendPointerToken(QString &pointer, QStringView token);

// Changes that turn `from` into `to`, in a stable order (object keys sorted, array indices ascending).
// Objects are compared member by member, arrays element by element (extra elements are added or removed
// at their indices); anything else that differs, including a change of type, is "changed" at its
// pointer. An undefined `from` or `to` stands for "absent": the root is then added or removed.
// Numbers compare by value, as QJsonValue does: 1 and 1.0 are equal.
QList<JsonChange> diff(const QJsonValue &from, const QJsonValue &to);

// [{"pointer": "...", "kind": "added|removed|changed", "old": ..., "new": ...}], without "old" for an
// added value and without "new" for a removed one.
QJsonArray toJson(const QList<JsonChange> &changes);

// One segment of a JSON pointer: "~" becomes "~0" and "/" becomes "~1" (RFC 6901, section 3).
QString escapePointerToken(const QString &token);

} // namespace JsonDiff
