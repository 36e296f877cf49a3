// A growable byte buffer that keeps its own fill level: what HTTP heads and held output are built in.
#pragma once

#include <QByteArrayView>

#include <cstring>
#include <memory>

// A head is some thirty short pieces, and QByteArray::append() costs about a hundred instructions a call in
// Qt 6.4 (it goes through insert()), its resize() some thirty: a quarter of the proxy's user-space work
// per request went there. Here appending is a bounds check and a copy, and clear() keeps the storage for
// the next head. Movable, not copyable.
class ByteBuffer
{
public:
    ByteBuffer() = default;
    ByteBuffer(ByteBuffer &&) noexcept = default;
    ByteBuffer &operator=(ByteBuffer &&) noexcept = default;
    ByteBuffer(const ByteBuffer &) = delete;
    ByteBuffer &operator=(const ByteBuffer &) = delete;

    // `data` must not point into this buffer.
    void append(QByteArrayView data)
    {
        const qsizetype n = data.size();
        if (m_capacity - m_size < n)
            grow(n);
        if (n > 0)
            std::memcpy(m_data.get() + m_size, data.data(), size_t(n));
        m_size += n;
    }
    void append(char c)
    {
        if (m_size == m_capacity)
            grow(1);
        m_data[size_t(m_size++)] = c;
    }
    // `value` (not negative) in decimal.
    void appendNumber(qint64 value);

    void clear() { m_size = 0; }
    // Gives the storage back.
    void reset();

    const char *data() const { return m_data.get(); }
    qsizetype size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }
    qsizetype capacity() const { return m_capacity; }
    QByteArrayView view() const { return QByteArrayView(m_data.get(), m_size); }

private:
    void grow(qsizetype n);

    std::unique_ptr<char[]> m_data;
    qsizetype m_size = 0;
    qsizetype m_capacity = 0;
};
