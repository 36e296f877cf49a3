// The platform's stream sockets for one server's accepted connections, or one worker's upstream ones.
#pragma once

#include "streamsocket.h"

#include <QString>

#include <memory>

// Linux (streamsockets_linux.cpp): RawStreamSocket, all watched through one epoll set per server, so the
// event loop watches one descriptor however many connections are open (10,000 idle keep-alive clients
// cost it nothing per turn). Elsewhere (streamsockets_generic.cpp): QtStreamSocket. Made and used in the
// server's thread; outlives the sockets it made.
class StreamSockets
{
public:
    StreamSockets();
    ~StreamSockets();
    StreamSockets(const StreamSockets &) = delete;
    StreamSockets &operator=(const StreamSockets &) = delete;

    // Takes over an accepted, connected descriptor; null (the descriptor closed) with `error` when it
    // cannot. `readBufferSize`: the most a QtStreamSocket buffers (the raw socket buffers nothing).
    std::unique_ptr<StreamSocket> adopt(qintptr descriptor, qint64 readBufferSize, QString *error);
    // Starts connecting to `host` (an address, or a name resolved by Qt's socket) on behalf of `handler`,
    // with TCP_NODELAY: socketConnected() or socketClosed() follows. Null, with `failure` set, when it
    // failed at once.
    std::unique_ptr<StreamSocket> connectTo(const QByteArray &host, quint16 port, qint64 readBufferSize,
                                            StreamSocket::Handler *handler,
                                            StreamSocket::ConnectError *failure);

private:
    struct Private;
    std::unique_ptr<Private> d;
};
