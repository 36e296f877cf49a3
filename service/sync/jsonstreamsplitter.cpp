#include "jsonstreamsplitter.h"

void JsonStreamSplitter::append(const QByteArray &bytes)
{
    m_buffer.append(bytes);
    for (qsizetype i = m_scanned; i < m_buffer.size(); ++i) {
        const char c = m_buffer.at(i);
        if (m_depth == 0) {
            // Between objects only separators are expected; anything else (a stray trailer line) is
            // skipped rather than allowed to derail the next object.
            if (c == '{') {
                m_start = i;
                m_depth = 1;
            }
            continue;
        }
        if (m_inString) {
            if (m_escaped)
                m_escaped = false;
            else if (c == '\\')
                m_escaped = true;
            else if (c == '"')
                m_inString = false;
            continue;
        }
        if (c == '"') {
            m_inString = true;
        } else if (c == '{' || c == '[') {
            ++m_depth;
        } else if (c == '}' || c == ']') {
            if (--m_depth == 0) {
                m_ready.append(m_buffer.mid(m_start, i - m_start + 1));
                m_start = -1;
            }
        }
    }
    // Drop what is complete so the buffer holds at most one partial object.
    const qsizetype keepFrom = m_start >= 0 ? m_start : m_buffer.size();
    m_buffer.remove(0, keepFrom);
    if (m_start >= 0)
        m_start = 0;
    m_scanned = m_buffer.size();
}

QList<QByteArray> JsonStreamSplitter::takeObjects()
{
    QList<QByteArray> out;
    out.swap(m_ready);
    return out;
}

void JsonStreamSplitter::clear()
{
    *this = JsonStreamSplitter();
}
