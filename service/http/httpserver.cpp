#include "httpserver.h"

#include "httpclock.h"
#include "httpconnection.h"

#include <QLoggingCategory>
#include <QTcpServer>
#include <QTcpSocket>

#include <vector>

#if defined(Q_OS_UNIX)
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#endif

Q_DECLARE_LOGGING_CATEGORY(lcHttp)

namespace {

constexpr int MaxPending = 1024;
constexpr qsizetype ReadBufferSize = 16 * 1024;
// Free read buffers kept for reuse: as many as connections parse at once in a busy moment, no more.
constexpr size_t KeptReadBuffers = 64;
constexpr int FirstAcceptRetryMs = 10;
constexpr int LastAcceptRetryMs = 1000;

// Whether the process has no descriptor left (EMFILE/ENFILE), so that the next accept() would fail.
// Found by duplicating a descriptor it has: Qt's accept loop is not relied on to report it.
bool descriptorsExhausted(qintptr someDescriptor)
{
#if defined(Q_OS_UNIX)
    const int probe = ::fcntl(int(someDescriptor), F_DUPFD_CLOEXEC, 0);
    if (probe >= 0) {
        ::close(probe);
        return false;
    }
    return errno == EMFILE || errno == ENFILE;
#else
    Q_UNUSED(someDescriptor);
    return false;
#endif
}

// Hands raw descriptors to the HttpServer, skipping the QTcpSocket that QTcpServer would make.
class DescriptorListener : public QTcpServer
{
public:
    explicit DescriptorListener(HttpServer *server)
        : QTcpServer(server)
        , m_server(server)
    {}

protected:
    void incomingConnection(qintptr descriptor) override { m_server->addConnection(descriptor); }

private:
    HttpServer *m_server;
};

} // namespace

HttpServer::HttpServer(IRequestHandler *handler, const HttpLimits &limits, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_limits(limits)
    , m_timer(this)
{
    // One coarse timer checks every connection's deadlines: cheaper than a timer per connection.
    m_timer.setInterval(100);
    m_timer.setTimerType(Qt::CoarseTimer);
    connect(&m_timer, &QTimer::timeout, this, &HttpServer::tick);
    if (m_limits.maxConnections > 0)
        m_budget = std::make_shared<ConnectionBudget>(m_limits.maxConnections);
}

void HttpServer::setConnectionBudget(std::shared_ptr<ConnectionBudget> budget)
{
    m_budget = std::move(budget);
}

void HttpServer::createListener()
{
    if (m_listener)
        return;
    m_listener = new DescriptorListener(this);
    m_listener->setMaxPendingConnections(MaxPending);
    connect(m_listener, &QTcpServer::acceptError, this, &HttpServer::onAcceptError);
}

HttpServer::~HttpServer()
{
    closeAll();
    // Before m_sockets: a connection's socket unregisters from it.
    qDeleteAll(findChildren<HttpConnection *>(QString(), Qt::FindDirectChildrenOnly));
}

bool HttpServer::listen(const QHostAddress &address, quint16 port, QString *error)
{
    createListener();
    if (!m_listener->listen(address, port)) {
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(address.toString())
                         .arg(port)
                         .arg(m_listener->errorString());
        return false;
    }
    m_timer.start();
    return true;
}

bool HttpServer::listenOnDescriptor(qintptr descriptor, QString *error)
{
    createListener();
    if (!m_listener->setSocketDescriptor(descriptor)) {
        if (error)
            *error = QStringLiteral("cannot adopt listening socket: %1").arg(m_listener->errorString());
        return false;
    }
    m_timer.start();
    return true;
}

quint16 HttpServer::serverPort() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

bool HttpServer::isListening() const
{
    return m_listener && m_listener->isListening();
}

void HttpServer::addConnection(qintptr socketDescriptor)
{
    if (m_draining) {
        closeDescriptor(socketDescriptor);
        return;
    }
    m_acceptBackoffMs = 0; // accept() works again
    if (m_budget && !m_budget->tryAcquire()) {
        // Accepted in the same burst as the last one under the cap, or while another server sharing the
        // budget took the last unit: it waits here, unanswered as in the backlog, for a unit to free.
        m_waiting.push_back(socketDescriptor);
        pauseAccepting(Pause::Budget);
        return;
    }
    adopt(socketDescriptor);
    // That was the last descriptor: accept() would now fail, and the backlog stays readable, which can
    // keep the event loop spinning; accepting pauses until a connection ends or a retry finds room.
    if (m_listener && m_listener->isListening() && descriptorsExhausted(m_listener->socketDescriptor()))
        onAcceptError(QAbstractSocket::SocketResourceError);
}

void HttpServer::adopt(qintptr socketDescriptor)
{
    QString error;
    std::unique_ptr<StreamSocket> socket =
        m_sockets.adopt(socketDescriptor, m_limits.socketReadBuffer, &error);
    if (!socket) {
        qCWarning(lcHttp) << "cannot adopt client socket:" << error;
        if (m_budget)
            m_budget->release();
        return;
    }
    auto *connection = new HttpConnection(std::move(socket), m_handler, m_limits, this);
    m_connections.insert(connection);
    if (m_budget && m_budget->full())
        pauseAccepting(Pause::Budget);
    if (!m_timer.isActive())
        m_timer.start();
}

QByteArray HttpServer::takeReadBuffer()
{
    ++m_readBuffersLent;
    if (m_readBuffers.empty())
        return QByteArray(ReadBufferSize, Qt::Uninitialized);
    QByteArray buffer = std::move(m_readBuffers.back());
    m_readBuffers.pop_back();
    return buffer;
}

void HttpServer::recycleReadBuffer(QByteArray &&buffer)
{
    --m_readBuffersLent;
    if (m_readBuffers.size() < KeptReadBuffers && buffer.size() == ReadBufferSize)
        m_readBuffers.push_back(std::move(buffer));
}

void HttpServer::closeDescriptor(qintptr socketDescriptor)
{
    QTcpSocket discard;
    discard.setSocketDescriptor(socketDescriptor);
    discard.abort();
}

void HttpServer::pauseAccepting(Pause why)
{
    if (!m_listener || !m_listener->isListening())
        return;
    m_pause = why;
    m_listener->pauseAccepting();
    // QTcpServer goes on accepting in the loop that called incomingConnection() until accept() would
    // block; a pending-connection cap of 0 ends that loop before the next accept(), so the clients beyond
    // the cap stay in the backlog instead of being accepted and closed.
    m_listener->setMaxPendingConnections(0);
}

void HttpServer::resumeAccepting()
{
    while (!m_waiting.empty() && !m_draining && m_budget && m_budget->tryAcquire()) {
        const qintptr descriptor = m_waiting.front();
        m_waiting.pop_front();
        adopt(descriptor);
    }
    if (m_pause == Pause::None || !m_listener || !m_listener->isListening() || m_draining)
        return;
    if (!m_waiting.empty() || (m_budget && m_budget->full())) {
        m_pause = Pause::Budget;
        return;
    }
    m_pause = Pause::None;
    m_listener->setMaxPendingConnections(MaxPending);
    m_listener->resumeAccepting();
}

// QTcpServer stops accepting on any error but EAGAIN and never resumes by itself. Out of descriptors
// (EMFILE/ENFILE), the backlog stays readable, so resuming at once would spin; resumed instead when one of
// this server's connections ends, or after a delay that doubles up to a second while accept keeps failing.
void HttpServer::onAcceptError(QAbstractSocket::SocketError error)
{
    m_acceptBackoffMs =
        m_acceptBackoffMs == 0 ? FirstAcceptRetryMs : qMin(m_acceptBackoffMs * 2, LastAcceptRetryMs);
    if (m_acceptBackoffMs == FirstAcceptRetryMs || m_acceptBackoffMs == LastAcceptRetryMs)
        qCWarning(lcHttp).noquote() << "accepting connections paused: out of file descriptors or other"
                                    << "resources (socket error" << int(error) << "); retrying in"
                                    << m_acceptBackoffMs << "ms, or when a connection closes";
    pauseAccepting(Pause::AcceptError);
    m_retryAcceptAt = HttpClock::nowMs() + m_acceptBackoffMs;
    if (!m_timer.isActive())
        m_timer.start();
}

void HttpServer::connectionFinished(HttpConnection *connection)
{
    if (m_connections.erase(connection) && m_budget)
        m_budget->release();
    resumeAccepting();
    if (m_draining && m_connections.empty())
        emit drained();
}

void HttpServer::stopListening()
{
    if (m_listener)
        m_listener->close();
}

void HttpServer::drain()
{
    stopListening();
    m_draining = true;
    dropWaitingAnd(&HttpConnection::shutdown);
    if (m_connections.empty())
        emit drained();
}

void HttpServer::closeAll()
{
    // drop(), not abort(): a handler that still holds an exchange (an event stream, a proxied call past
    // the drain's grace) must learn it is gone before the connection is deleted.
    dropWaitingAnd(&HttpConnection::drop);
    m_connections.clear();
}

// Closes the clients accepted beyond the cap, then applies `step` to each connection (from a copy: a
// connection that ends leaves m_connections meanwhile).
void HttpServer::dropWaitingAnd(void (HttpConnection::*step)())
{
    for (const qintptr descriptor : m_waiting)
        closeDescriptor(descriptor);
    m_waiting.clear();
    const std::vector<HttpConnection *> connections(m_connections.begin(), m_connections.end());
    for (HttpConnection *connection : connections)
        (connection->*step)();
}

void HttpServer::tick()
{
    const qint64 now = HttpClock::nowMs();
    // A connection of another server sharing the budget may have ended; a failed accept's delay may be up.
    if ((m_pause == Pause::Budget && !m_budget->full()) || (!m_waiting.empty() && !m_budget->full()) ||
        (m_pause == Pause::AcceptError && now >= m_retryAcceptAt)) {
        if (m_pause == Pause::AcceptError && descriptorsExhausted(m_listener->socketDescriptor()))
            onAcceptError(QAbstractSocket::SocketResourceError); // still none: wait longer
        else
            resumeAccepting();
    }
    const std::vector<HttpConnection *> connections(m_connections.begin(), m_connections.end());
    for (HttpConnection *connection : connections) {
        if (m_connections.count(connection))
            connection->checkTimeouts(now);
    }
}
