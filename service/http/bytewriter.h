// Appends the pieces of an HTTP head to a QByteArray through a pointer: no per-piece call into Qt.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <cstring>

// A head is some thirty short pieces, and QByteArray::append() costs about a hundred instructions a call
// in Qt 6.4 (it goes through insert()): a quarter of the proxy's user-space work per request. Here a piece
// is a bounds check and a copy. Writes after what the array holds; the array is not used otherwise until
// finish() (or the destructor) sets its size to what was written. Room grows geometrically, and the
// capacity the array keeps serves the next head.
class ByteWriter
{
public:
    explicit ByteWriter(QByteArray &out, qsizetype room = 256);
    ~ByteWriter() { finish(); }
    ByteWriter(const ByteWriter &) = delete;
    ByteWriter &operator=(const ByteWriter &) = delete;

    // `data` must not point into the array being written.
    void append(QByteArrayView data)
    {
        const qsizetype n = data.size();
        if (m_end - m_pos < n)
            grow(n);
        if (n > 0)
            std::memcpy(m_pos, data.data(), size_t(n));
        m_pos += n;
    }
    void append(char c)
    {
        if (m_pos == m_end)
            grow(1);
        *m_pos++ = c;
    }
    // `value` (not negative) in decimal.
    void appendNumber(qint64 value);
    // Sets the array's size to what was written; nothing more may be appended.
    void finish();

private:
    void grow(qsizetype n);

    QByteArray &m_out;
    char *m_base = nullptr;
    char *m_pos = nullptr;
    char *m_end = nullptr;
};
