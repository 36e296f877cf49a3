// Number and chunk-size formatting and byte appends for HTTP heads and chunked bodies, both directions.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <cstring>

namespace HttpFormat {

constexpr int NumberDigits = 20; // a qint64 in decimal

// `value` in decimal (0 when negative), written into `buf`.
inline QByteArrayView formatNumber(char (&buf)[NumberDigits], qint64 value)
{
    int n = NumberDigits;
    if (value < 0)
        value = 0;
    do {
        buf[--n] = char('0' + value % 10);
        value /= 10;
    } while (value > 0);
    return QByteArrayView(buf + n, NumberDigits - n);
}

// Appends `data` (not a view of `out` itself) to `out`: QByteArray::append() goes through insert() in
// Qt 6.4, several times the cost of a resize and a copy. The capacity grows geometrically.
inline void append(QByteArray &out, QByteArrayView data)
{
    const qsizetype size = out.size();
    out.resize(size + data.size());
    if (!data.isEmpty())
        std::memcpy(out.data() + size, data.data(), size_t(data.size()));
}

// Appends `value` (not negative) in decimal without the temporary QByteArray::number() allocates.
inline void appendNumber(QByteArray &out, qint64 value)
{
    char buf[NumberDigits];
    append(out, formatNumber(buf, value));
}

// The line that opens a chunk of `size` bytes ("1a2\r\n"), written into `buf`.
inline QByteArrayView chunkSizeLine(char (&buf)[20], qint64 size)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    quint64 value = quint64(size);
    do {
        tmp[n++] = digits[value & 0xf];
        value >>= 4;
    } while (value > 0);
    int len = 0;
    while (n > 0)
        buf[len++] = tmp[--n];
    buf[len++] = '\r';
    buf[len++] = '\n';
    return QByteArrayView(buf, len);
}

} // namespace HttpFormat
