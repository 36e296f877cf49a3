#include "qtstreamsocket.h"
#include "rawstreamsocket.h"
#include "socketpoller.h"
#include "streamsockets.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

struct StreamSockets::Private
{
    // Made on the first adoption, in the thread that serves the connections (the server may have been
    // moved there after it was made).
    std::unique_ptr<SocketPoller> poller;

    // False (with errno) when no epoll set can be made now; tried again next time (out of descriptors, say).
    bool ensurePoller()
    {
        if (!poller)
            poller = std::make_unique<SocketPoller>();
        if (poller->isValid())
            return true;
        const int saved = errno;
        poller.reset();
        errno = saved;
        return false;
    }
};

StreamSockets::StreamSockets()
    : d(std::make_unique<Private>())
{}

StreamSockets::~StreamSockets() = default;

std::unique_ptr<StreamSocket> StreamSockets::adopt(qintptr descriptor, qint64 readBufferSize, QString *error)
{
    Q_UNUSED(readBufferSize); // the kernel's receive buffer is the only one
    if (!d->ensurePoller()) {
        if (error)
            *error = QStringLiteral("cannot make an epoll set: %1")
                         .arg(QString::fromLocal8Bit(std::strerror(errno)));
        ::close(int(descriptor));
        return nullptr;
    }
    auto socket = std::make_unique<RawStreamSocket>(int(descriptor), d->poller.get());
    if (!socket->start(error))
        return nullptr;
    return socket;
}

std::unique_ptr<StreamSocket> StreamSockets::connectTo(const QByteArray &host, quint16 port,
                                                       qint64 readBufferSize, StreamSocket::Handler *handler,
                                                       StreamSocket::ConnectError *failure)
{
    QHostAddress address;
    if (!address.setAddress(QString::fromLatin1(host))) // a name: Qt resolves it without blocking the loop
        return QtStreamSocket::connectTo(host, port, readBufferSize, handler);
    *failure = StreamSocket::ConnectError::Refused;
    if (!d->ensurePoller())
        return nullptr;
    sockaddr_storage addr{};
    socklen_t length = 0;
    if (address.protocol() == QAbstractSocket::IPv4Protocol) {
        auto *in = reinterpret_cast<sockaddr_in *>(&addr);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(address.toIPv4Address());
        length = sizeof(sockaddr_in);
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&addr);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, sizeof bytes.c);
        in6->sin6_scope_id = address.scopeId().toUInt();
        length = sizeof(sockaddr_in6);
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nullptr;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&addr), length) != 0 && errno != EINPROGRESS &&
        errno != EINTR) {
        if (errno == ECONNRESET)
            *failure = StreamSocket::ConnectError::Reset;
        ::close(fd);
        return nullptr;
    }
    auto socket = std::make_unique<RawStreamSocket>(fd, d->poller.get());
    socket->setHandler(handler);
    if (!socket->startConnecting(nullptr))
        return nullptr;
    *failure = StreamSocket::ConnectError::None;
    return socket;
}
