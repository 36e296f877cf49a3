#include "bytebuffer.h"

#include "httpformat.h"

void ByteBuffer::appendNumber(qint64 value)
{
    char buf[HttpFormat::NumberDigits];
    append(HttpFormat::formatNumber(buf, value));
}

void ByteBuffer::reset()
{
    m_data.reset();
    m_size = m_capacity = 0;
}

void ByteBuffer::grow(qsizetype n)
{
    const qsizetype capacity = qMax(qMax<qsizetype>(2 * m_capacity, m_size + n), 128);
    std::unique_ptr<char[]> data(new char[size_t(capacity)]);
    if (m_size > 0)
        std::memcpy(data.get(), m_data.get(), size_t(m_size));
    m_data = std::move(data);
    m_capacity = capacity;
}
