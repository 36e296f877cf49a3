// Splits a text/event-stream into events (the WHATWG server-sent events format), fed bytes as they come.
#pragma once

#include <QByteArray>
#include <QList>

class SseParser
{
public:
    struct Event
    {
        QByteArray type = "message";
        QByteArray id;
        QByteArray data; // data lines joined by '\n'
    };

    // Complete events in the bytes seen so far; a partial line or event waits for more.
    QList<Event> feed(const QByteArray &bytes);
    void reset();
    // Bytes buffered without a complete event yet (a follower drops a stream that grows this without end).
    qsizetype pending() const { return m_buffer.size(); }

private:
    QByteArray m_buffer;
    Event m_current;
    bool m_hasData = false;
};
