#include "sseparser.h"

QList<SseParser::Event> SseParser::feed(const QByteArray &bytes)
{
    m_buffer += bytes;
    QList<Event> out;
    qsizetype start = 0;
    for (;;) {
        const qsizetype eol = m_buffer.indexOf('\n', start);
        if (eol < 0)
            break;
        QByteArray line = m_buffer.mid(start, eol - start);
        start = eol + 1;
        if (line.endsWith('\r'))
            line.chop(1);
        if (line.isEmpty()) { // dispatch
            if (m_hasData)
                out.append(m_current);
            m_current = Event();
            m_hasData = false;
            continue;
        }
        if (line.startsWith(':')) // comment (keepalive)
            continue;
        const qsizetype colon = line.indexOf(':');
        QByteArray field = colon < 0 ? line : line.left(colon);
        QByteArray value = colon < 0 ? QByteArray() : line.mid(colon + 1);
        if (value.startsWith(' '))
            value.remove(0, 1);
        if (field == "event") {
            m_current.type = value.isEmpty() ? QByteArray("message") : value;
        } else if (field == "data") {
            if (m_hasData)
                m_current.data += '\n';
            m_current.data += value;
            m_hasData = true;
        } else if (field == "id") {
            m_current.id = value;
        }
    }
    m_buffer.remove(0, start);
    return out;
}

void SseParser::reset()
{
    m_buffer.clear();
    m_current = Event();
    m_hasData = false;
}
