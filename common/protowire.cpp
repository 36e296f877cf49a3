#include "protowire.h"

namespace {

const char *typeName(ProtoWire::WireType type)
{
    switch (type) {
    case ProtoWire::WireType::Varint:
        return "varint";
    case ProtoWire::WireType::Fixed64:
        return "64-bit";
    case ProtoWire::WireType::LengthDelimited:
        return "length-delimited";
    case ProtoWire::WireType::Fixed32:
        return "32-bit";
    }
    return "unknown";
}

} // namespace

void ProtoWire::appendVarint(QByteArray *out, quint64 value)
{
    while (value >= 0x80) {
        out->append(char((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out->append(char(value));
}

void ProtoWire::appendVarintField(QByteArray *out, int field, quint64 value)
{
    appendVarint(out, (quint64(field) << 3) | quint64(WireType::Varint));
    appendVarint(out, value);
}

void ProtoWire::appendBytesField(QByteArray *out, int field, QByteArrayView bytes)
{
    appendVarint(out, (quint64(field) << 3) | quint64(WireType::LengthDelimited));
    appendVarint(out, quint64(bytes.size()));
    out->append(bytes.data(), bytes.size());
}

ProtoWire::Reader::Reader(QByteArrayView data, QString what, qsizetype index)
    : m_data(data)
    , m_what(std::move(what))
    , m_index(index)
{}

bool ProtoWire::Reader::next()
{
    if (hasError() || m_pos >= m_data.size())
        return false;
    m_fieldStart = m_pos;
    quint64 tag = 0;
    if (!readVarint(&tag))
        return false;
    const quint64 field = tag >> 3;
    const unsigned type = unsigned(tag & 7);
    // Field numbers are 1 .. 2^29-1; 0 is never valid and larger ones are corruption.
    if (field == 0 || field > 0x1fffffff)
        return failAt(m_fieldStart, QStringLiteral("invalid field number %1").arg(field));
    m_field = int(field);
    m_varint = 0;
    m_bytes = {};
    switch (type) {
    case unsigned(WireType::Varint):
        m_type = WireType::Varint;
        return readVarint(&m_varint);
    case unsigned(WireType::Fixed64):
    case unsigned(WireType::Fixed32): {
        m_type = WireType(type);
        const qsizetype width = m_type == WireType::Fixed64 ? 8 : 4;
        if (m_data.size() - m_pos < width)
            return failAt(
                m_fieldStart,
                QStringLiteral("field %1: a %2-byte value runs past the end").arg(m_field).arg(width));
        for (qsizetype i = width - 1; i >= 0; --i)
            m_varint = (m_varint << 8) | static_cast<unsigned char>(m_data[m_pos + i]);
        m_pos += width;
        return true;
    }
    case unsigned(WireType::LengthDelimited): {
        m_type = WireType::LengthDelimited;
        quint64 length = 0;
        if (!readVarint(&length))
            return false;
        if (length > quint64(m_data.size() - m_pos))
            return failAt(m_fieldStart,
                          QStringLiteral("field %1: length %2 runs past the end (%3 bytes left)")
                              .arg(m_field)
                              .arg(length)
                              .arg(m_data.size() - m_pos));
        m_bytes = m_data.sliced(m_pos, qsizetype(length));
        m_pos += qsizetype(length);
        return true;
    }
    default:
        // 3 and 4 are the deprecated groups, 6 and 7 do not exist: none appears in etcd's messages.
        return failAt(m_fieldStart,
                      QStringLiteral("field %1: unsupported wire type %2").arg(m_field).arg(type));
    }
}

void ProtoWire::Reader::fail(const QString &why)
{
    failAt(m_fieldStart, QStringLiteral("field %1: %2").arg(m_field).arg(why));
}

bool ProtoWire::Reader::expect(WireType type)
{
    if (m_type == type)
        return true;
    fail(QStringLiteral("expected a %1 value, got a %2 one")
             .arg(QLatin1String(typeName(type)), QLatin1String(typeName(m_type))));
    return false;
}

bool ProtoWire::Reader::readVarint(quint64 *value)
{
    const qsizetype start = m_pos;
    quint64 result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (m_pos >= m_data.size())
            return failAt(start, QStringLiteral("truncated varint"));
        const unsigned char byte = static_cast<unsigned char>(m_data[m_pos++]);
        // The tenth byte may only carry the top bit of a 64-bit value.
        if (shift == 63 && byte > 1)
            return failAt(start, QStringLiteral("varint longer than 64 bits"));
        result |= quint64(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return true;
        }
    }
    return failAt(start, QStringLiteral("varint longer than 10 bytes"));
}

bool ProtoWire::Reader::failAt(qsizetype offset, const QString &why)
{
    if (m_error.isEmpty()) {
        const QString what = m_index < 0 ? m_what : QStringLiteral("%1[%2]").arg(m_what).arg(m_index);
        m_error = QStringLiteral("%1: %2 at byte %3").arg(what, why).arg(offset);
    }
    m_pos = m_data.size();
    return false;
}
