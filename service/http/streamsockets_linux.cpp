#include "rawstreamsocket.h"
#include "socketpoller.h"
#include "streamsockets.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

struct StreamSockets::Private
{
    // Made on the first adoption, in the thread that serves the connections (the server may have been
    // moved there after it was made).
    std::unique_ptr<SocketPoller> poller;
};

StreamSockets::StreamSockets()
    : d(std::make_unique<Private>())
{}

StreamSockets::~StreamSockets() = default;

std::unique_ptr<StreamSocket> StreamSockets::adopt(qintptr descriptor, qint64 readBufferSize, QString *error)
{
    Q_UNUSED(readBufferSize); // the kernel's receive buffer is the only one
    if (!d->poller)
        d->poller = std::make_unique<SocketPoller>();
    if (!d->poller->isValid()) {
        if (error)
            *error = QStringLiteral("cannot make an epoll set: %1")
                         .arg(QString::fromLocal8Bit(std::strerror(errno)));
        d->poller.reset(); // tried again with the next connection (out of descriptors, say)
        ::close(int(descriptor));
        return nullptr;
    }
    auto socket = std::make_unique<RawStreamSocket>(int(descriptor), d->poller.get());
    if (!socket->start(error))
        return nullptr;
    return socket;
}
