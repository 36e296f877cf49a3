#include "rawstreamsocket.h"

#include <QLoggingCategory>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// Beyond this a drained output queue gives its memory back instead of keeping it for the next response.
constexpr qsizetype KeptQueueCapacity = 16 * 1024;

} // namespace

RawStreamSocket::RawStreamSocket(int descriptor, SocketPoller *poller)
    : m_fd(descriptor)
    , m_poller(poller)
{}

RawStreamSocket::~RawStreamSocket()
{
    closeDescriptor();
}

bool RawStreamSocket::start(QString *error)
{
    const int flags = ::fcntl(m_fd, F_GETFL);
    const int one = 1;
    m_interest = m_connecting ? quint32(EPOLLOUT) : quint32(EPOLLIN | EPOLLRDHUP);
    if (flags < 0 || ::fcntl(m_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        !m_poller->add(m_fd, this, m_interest)) {
        if (error)
            *error = QString::fromLocal8Bit(std::strerror(errno));
        ::close(m_fd);
        m_fd = -1;
        return false;
    }
    return true;
}

bool RawStreamSocket::startConnecting(QString *error)
{
    m_connecting = true;
    return start(error);
}

void RawStreamSocket::connectDone(quint32 events)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
        error = errno;
    m_connecting = false;
    if (error == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
        updateInterest();
        if (m_handler)
            m_handler->socketConnected();
        if (m_fd >= 0 && m_outPos < m_out.size())
            flushQueue(); // what was written while connecting
        return;
    }
    m_connectError = error == ECONNRESET ? ConnectError::Reset : ConnectError::Refused;
    m_failed = true;
    m_poller->remove(m_fd, this);
    m_interest = 0;
    reportClosed(false);
}

qint64 RawStreamSocket::read(char *data, qint64 max)
{
    if (m_fd < 0)
        return -1;
    for (;;) {
        const ssize_t n = ::recv(m_fd, data, size_t(max), 0);
        if (n > 0)
            return qint64(n);
        if (n == 0)
            return -1; // end of stream
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        m_failed = true;
        return -1;
    }
}

qint64 RawStreamSocket::bytesAvailable() const
{
    int n = 0;
    if (m_fd < 0 || ::ioctl(m_fd, FIONREAD, &n) < 0)
        return 0;
    return n;
}

void RawStreamSocket::write(QByteArrayView data)
{
    if (m_fd < 0 || m_closing || m_failed || data.isEmpty())
        return;
    if (m_outPos == m_out.size() && m_connecting) {
        m_out.resize(0);
        m_outPos = 0;
    } else if (m_outPos == m_out.size()) {
        for (;;) {
            const ssize_t n = ::send(m_fd, data.data(), size_t(data.size()), MSG_NOSIGNAL);
            if (n >= 0) {
                data = data.sliced(n);
                break;
            }
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                // The peer reset: the poller reports the hang-up from the event loop.
                m_failed = true;
                return;
            }
            break;
        }
        if (data.isEmpty())
            return;
        m_out.resize(0);
        m_outPos = 0;
    } else if (m_outPos > m_out.size() / 2) {
        m_out.remove(0, m_outPos);
        m_outPos = 0;
    }
    m_out.append(data.data(), data.size());
    updateInterest();
}

void RawStreamSocket::flushQueue()
{
    bool progressed = false;
    while (m_outPos < m_out.size()) {
        const ssize_t n =
            ::send(m_fd, m_out.constData() + m_outPos, size_t(m_out.size() - m_outPos), MSG_NOSIGNAL);
        if (n > 0) {
            m_outPos += n;
            progressed = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            m_failed = true;
        break;
    }
    if (m_failed) {
        m_out = QByteArray();
        m_outPos = 0;
        if (m_closing) {
            closeDescriptor();
            reportClosed(true);
        }
        return; // the poller reports the hang-up
    }
    if (m_outPos == m_out.size()) {
        if (m_out.capacity() > KeptQueueCapacity)
            m_out = QByteArray();
        else
            m_out.resize(0);
        m_outPos = 0;
        if (m_closing) {
            closeDescriptor();
            reportClosed(true);
            return;
        }
    }
    updateInterest();
    if (progressed && m_handler && !m_closing)
        m_handler->socketWritten();
}

void RawStreamSocket::setReading(bool on)
{
    if (m_reading == on)
        return;
    m_reading = on;
    updateInterest();
}

void RawStreamSocket::updateInterest()
{
    if (m_fd < 0)
        return;
    quint32 want = 0;
    if (m_connecting)
        want = EPOLLOUT;
    else if (!m_closing && !m_peerClosed)
        want = m_reading ? (EPOLLIN | EPOLLRDHUP) : EPOLLRDHUP;
    if (m_outPos < m_out.size() && !m_failed)
        want |= EPOLLOUT;
    if (want == m_interest)
        return;
    m_interest = want;
    m_poller->modify(m_fd, this, want);
}

void RawStreamSocket::pollEvents(quint32 events)
{
    if (m_connecting) {
        connectDone(events);
        return;
    }
    if (events & EPOLLOUT) {
        flushQueue();
        if (m_fd < 0)
            return;
    }
    const bool hangUp = events & (EPOLLERR | EPOLLHUP);
    if (m_reading && !m_closing && m_handler && (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))) {
        // The bytes that came before a close or reset are read first; read() then reports the end.
        m_handler->socketReadable();
        if (m_fd < 0)
            return;
    }
    if (hangUp) {
        // Level-triggered: watched no more, or the loop would spin until the owner closes the socket.
        m_failed = true;
        m_poller->remove(m_fd, this);
        m_interest = 0;
        if (m_closing) {
            closeDescriptor();
            reportClosed(true);
        } else {
            reportClosed(false);
        }
        return;
    }
    if ((events & EPOLLRDHUP) && !m_reading && !m_peerClosed) {
        m_peerClosed = true;
        updateInterest();
        reportClosed(false);
    }
}

void RawStreamSocket::reportClosed(bool closeCompleted)
{
    if (!m_handler)
        return;
    if (!closeCompleted) {
        if (m_closedReported)
            return;
        m_closedReported = true;
    }
    m_handler->socketClosed();
}

void RawStreamSocket::closeAfterFlush()
{
    if (m_fd < 0)
        return;
    m_closing = true;
    if (m_outPos == m_out.size() || m_failed) {
        closeDescriptor();
        return;
    }
    updateInterest();
}

void RawStreamSocket::abort()
{
    closeDescriptor();
}

void RawStreamSocket::closeDescriptor()
{
    m_out = QByteArray();
    m_outPos = 0;
    if (m_fd < 0)
        return;
    m_poller->remove(m_fd, this);
    ::close(m_fd);
    m_fd = -1;
}

QHostAddress RawStreamSocket::peerAddress() const
{
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (m_fd < 0 || ::getpeername(m_fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        return QHostAddress();
    return QHostAddress(reinterpret_cast<const sockaddr *>(&addr));
}

quint16 RawStreamSocket::peerPort() const
{
    return port(&::getpeername);
}

quint16 RawStreamSocket::localPort() const
{
    return port(&::getsockname);
}

quint16 RawStreamSocket::port(int (*name)(int, sockaddr *, socklen_t *)) const
{
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (m_fd < 0 || name(m_fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        return 0;
    if (addr.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6 *>(&addr)->sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in *>(&addr)->sin_port);
}
