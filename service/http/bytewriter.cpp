#include "bytewriter.h"

#include "httpformat.h"

ByteWriter::ByteWriter(QByteArray &out, qsizetype room)
    : m_out(out)
{
    const qsizetype used = out.size();
    const qsizetype size = qMax(out.capacity(), used + room);
    out.resize(size); // no copy while the array is not shared and has the room
    m_base = out.data();
    m_pos = m_base + used;
    m_end = m_base + size;
}

void ByteWriter::appendNumber(qint64 value)
{
    char buf[HttpFormat::NumberDigits];
    append(HttpFormat::formatNumber(buf, value));
}

void ByteWriter::finish()
{
    if (!m_base)
        return;
    m_out.resize(m_pos - m_base); // Qt keeps the capacity
    m_base = m_pos = m_end = nullptr;
}

void ByteWriter::grow(qsizetype n)
{
    const qsizetype used = m_pos - m_base;
    const qsizetype size = qMax(2 * (m_end - m_base), used + n);
    m_out.resize(size);
    m_base = m_out.data();
    m_pos = m_base + used;
    m_end = m_base + size;
}
