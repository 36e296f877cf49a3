#include "listenersockets.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

QString describe(const QHostAddress &address, quint16 port, const char *step)
{
    return QStringLiteral("cannot listen on %1:%2: %3: %4")
        .arg(address.toString())
        .arg(port)
        .arg(QLatin1String(step), QString::fromLocal8Bit(std::strerror(errno)));
}

} // namespace

bool ListenerSockets::supportsReusePort()
{
    return true;
}

QList<qintptr> ListenerSockets::openReusePort(const QHostAddress &address, quint16 port, int count,
                                              QString *error)
{
    QList<qintptr> result;
    for (int i = 0; i < count; ++i) {
        sockaddr_storage storage;
        std::memset(&storage, 0, sizeof storage);
        socklen_t length = 0;
        const bool any = address == QHostAddress(QHostAddress::Any);
        int family = AF_INET;
        if (any || address.protocol() == QAbstractSocket::IPv6Protocol) {
            family = AF_INET6;
            auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            const Q_IPV6ADDR bytes =
                any ? QHostAddress(QHostAddress::AnyIPv6).toIPv6Address() : address.toIPv6Address();
            std::memcpy(&in6->sin6_addr, &bytes, sizeof bytes);
            length = sizeof(sockaddr_in6);
        } else {
            auto *in4 = reinterpret_cast<sockaddr_in *>(&storage);
            in4->sin_family = AF_INET;
            in4->sin_port = htons(port);
            in4->sin_addr.s_addr = htonl(address.toIPv4Address());
            length = sizeof(sockaddr_in);
        }
        int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const auto failWith = [&](const char *step) {
            if (error)
                *error = describe(address, port, step);
            if (fd >= 0)
                ::close(fd);
            for (qintptr open : result)
                ::close(int(open));
            return QList<qintptr>();
        };
        if (fd < 0)
            return failWith("socket");
        const int on = 1;
        if (i == 0 && port != 0) {
            // SO_REUSEPORT would let us share a port with another gateway of the same user, which then
            // silently takes half the traffic: bind once without it first, so a taken port is an error.
            if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
                return failWith("setsockopt");
            if (::bind(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0)
                return failWith("bind");
            ::close(fd);
            fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0)
                return failWith("socket");
        }
        if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
            return failWith("setsockopt");
        if (family == AF_INET6) {
            const int v6only = any ? 0 : 1; // "Any" is dual stack, as QTcpServer makes it
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        }
        if (::bind(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0)
            return failWith("bind");
        if (::listen(fd, SOMAXCONN) != 0)
            return failWith("listen");
        result.append(fd);
        if (port == 0)
            port = localPort(fd); // the others join the port the kernel chose for the first
    }
    return result;
}

quint16 ListenerSockets::localPort(qintptr descriptor)
{
    sockaddr_storage storage;
    socklen_t length = sizeof storage;
    if (::getsockname(int(descriptor), reinterpret_cast<sockaddr *>(&storage), &length) != 0)
        return 0;
    if (storage.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6 *>(&storage)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in *>(&storage)->sin_port);
}

void ListenerSockets::closeDescriptor(qintptr descriptor)
{
    ::close(int(descriptor));
}
