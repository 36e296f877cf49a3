// Number and chunk-size formatting for HTTP heads and chunked bodies, shared by both directions.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

namespace HttpFormat {

// Appends `value` (not negative) in decimal without the temporary QByteArray::number() allocates.
inline void appendNumber(QByteArray &out, qint64 value)
{
    char buf[24];
    int n = 0;
    if (value <= 0)
        buf[n++] = '0';
    while (value > 0) {
        buf[n++] = char('0' + value % 10);
        value /= 10;
    }
    while (n > 0)
        out.append(buf[--n]);
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
