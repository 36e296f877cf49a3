// Canonical JSON (sorted keys, compact) and its SHA-256: one form for digests everywhere.
#pragma once

#include <QByteArray>
#include <QJsonValue>

namespace CanonicalJson {

// Compact, members sorted by the UTF-8 bytes of their keys (that is, by code point) at every level,
// strings as UTF-8 with only '"', '\\' and control characters escaped, integral numbers without a
// fraction ("1.0" and "1" both give 1), others in the shortest form that reads back the same double.
// QJsonDocument::toJson is not used because Qt 6.4 orders non-ASCII keys differently in a parsed
// object (code point order) and a built one (UTF-16 order), so equal objects would digest differently.
QByteArray serialize(const QJsonValue &value);
QByteArray sha256Hex(const QByteArray &bytes); // lower-case hex
// "string", "number", "object", … as used in validation messages
const char *typeName(const QJsonValue &value);

} // namespace CanonicalJson
