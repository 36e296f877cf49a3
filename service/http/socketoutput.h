// The output side of one stream socket: coalesced while held.
#pragma once

#include "bytebuffer.h"

#include <QByteArrayView>

class StreamSocket;

// Used by both ends of a proxied exchange (HttpConnection to the client, UpstreamConnection to the node).
// A producer that delivers a head and a body in one go holds around it, so they leave in one send: held
// output collects up to HoldLimit and goes out on release() (or at once beyond the limit).
class SocketOutput
{
public:
    static constexpr qsizetype HoldLimit = 16 * 1024;

    explicit SocketOutput(StreamSocket *socket)
        : m_socket(socket)
    {}

    void write(QByteArrayView data);
    void hold() { m_holding = true; }
    bool holding() const { return m_holding; }
    // Sends what was held and stops holding.
    void release();
    // Forgets what was held (the connection is being dropped) and stops holding.
    void discard();
    // Bytes accepted but not yet handed to the kernel.
    qint64 pending() const;
    // When output last made progress (HttpClock milliseconds): a send, or the socket's socketWritten().
    qint64 lastProgress() const { return m_progressMs; }
    void noteProgress();

private:
    void send(QByteArrayView data);

    StreamSocket *m_socket;
    ByteBuffer m_held;
    qint64 m_progressMs = 0;
    bool m_holding = false;
};
