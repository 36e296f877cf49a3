#include "canonicaljson.h"

#include "sha256.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QLocale>
#include <QVarLengthArray>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace {

void writeValue(QByteArray &out, const QJsonValue &value);

void writeUtf8(QByteArray &out, const QByteArray &utf8)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    const char *begin = utf8.constData();
    const char *end = begin + utf8.size();
    const char *run = begin; // copy unescaped runs in one go
    for (const char *p = begin; p != end; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(run, p - run);
        run = p + 1;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    out.append(run, end - run);
    out += '"';
}

void writeString(QByteArray &out, const QString &string)
{
    writeUtf8(out, string.toUtf8());
}

void writeNumber(QByteArray &out, const QJsonValue &value)
{
    const double d = value.toDouble();
    if (!std::isfinite(d)) {
        out += "null"; // as QJsonDocument does: JSON has no infinities
        return;
    }
    // toInteger() keeps integers beyond 2^53 exact when the parser read them as integers.
    if (std::fabs(d) < 9.2e18) {
        const qint64 i = value.toInteger();
        if (static_cast<double>(i) == d) {
            out += QByteArray::number(i);
            return;
        }
    }
    out += QByteArray::number(d, 'g', QLocale::FloatingPointShortest);
}

// open, the items written by write() with commas between them, close.
template<typename Items, typename Write>
void writeList(QByteArray &out, char open, char close, const Items &items, Write write)
{
    out += open;
    bool first = true;
    for (const auto &item : items) {
        if (!first)
            out += ',';
        first = false;
        write(item);
    }
    out += close;
}

struct Member
{
    QByteArray key; // UTF-8, the sort key
    QJsonValue value;
};

void writeObject(QByteArray &out, const QJsonObject &object)
{
    QVarLengthArray<Member, 16> members;
    members.reserve(object.size());
    for (auto it = object.constBegin(); it != object.constEnd(); ++it)
        members.append(Member{it.key().toUtf8(), it.value()});
    const auto byKey = [](const Member &a, const Member &b) { return a.key < b.key; };
    // Usually already in order (ASCII keys): skip the sort then.
    if (!std::is_sorted(members.begin(), members.end(), byKey))
        std::sort(members.begin(), members.end(), byKey);

    writeList(out, '{', '}', members, [&](const Member &member) {
        writeUtf8(out, member.key);
        out += ':';
        writeValue(out, member.value);
    });
}

void writeArray(QByteArray &out, const QJsonArray &array)
{
    writeList(out, '[', ']', array, [&](const QJsonValue &item) { writeValue(out, item); });
}

void writeValue(QByteArray &out, const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Bool:
        out += value.toBool() ? "true" : "false";
        break;
    case QJsonValue::Double:
        writeNumber(out, value);
        break;
    case QJsonValue::String:
        writeString(out, value.toString());
        break;
    case QJsonValue::Array:
        writeArray(out, value.toArray());
        break;
    case QJsonValue::Object:
        writeObject(out, value.toObject());
        break;
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        out += "null";
        break;
    }
}

} // namespace

namespace CanonicalJson {

QByteArray serialize(const QJsonValue &value)
{
    // Written into a buffer each thread keeps, then copied once at its final size: growing a fresh
    // array append by append cost a full sync of 100k objects one realloc after another.
    thread_local QByteArray scratch;
    scratch.resize(0);
    writeValue(scratch, value);
    QByteArray out(scratch.constData(), scratch.size());
    if (scratch.capacity() > 1024 * 1024)
        scratch = QByteArray(); // a large document's buffer is not kept
    return out;
}

QByteArray sha256Hex(const QByteArray &bytes)
{
    return Sha256::hash(bytes).toHex();
}

const char *typeName(const QJsonValue &value)
{
    // Indexed by QJsonValue::Type, Null (0) to Object (5); Undefined (0x80) is "nothing".
    static const char *const names[] = {"null", "boolean", "number", "string", "array", "object"};
    const int type = int(value.type());
    return type >= 0 && type < int(std::size(names)) ? names[type] : "nothing";
}

} // namespace CanonicalJson
