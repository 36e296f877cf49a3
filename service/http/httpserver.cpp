#include "httpserver.h"

#include "httpclock.h"
#include "httpconnection.h"

#include <QTcpServer>
#include <QTcpSocket>

#include <vector>

namespace {

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
}

HttpServer::~HttpServer()
{
    closeAll();
}

bool HttpServer::listen(const QHostAddress &address, quint16 port, QString *error)
{
    if (!m_listener)
        m_listener = new DescriptorListener(this);
    m_listener->setMaxPendingConnections(1024);
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
    if (!m_listener)
        m_listener = new DescriptorListener(this);
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
    if (m_draining || (m_limits.maxConnections > 0 && connectionCount() >= m_limits.maxConnections)) {
        QTcpSocket discard;
        discard.setSocketDescriptor(socketDescriptor);
        discard.abort();
        return;
    }
    auto *connection = new HttpConnection(socketDescriptor, m_handler, m_limits, this);
    if (!connection->isOpen()) {
        delete connection;
        return;
    }
    m_connections.insert(connection);
    if (m_limits.maxConnections > 0 && connectionCount() >= m_limits.maxConnections && m_listener)
        m_listener->pauseAccepting();
    if (!m_timer.isActive())
        m_timer.start();
}

void HttpServer::connectionFinished(HttpConnection *connection)
{
    m_connections.erase(connection);
    if (m_limits.maxConnections > 0 && connectionCount() < m_limits.maxConnections && m_listener &&
        m_listener->isListening() && !m_draining)
        m_listener->resumeAccepting();
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
    const std::vector<HttpConnection *> connections(m_connections.begin(), m_connections.end());
    for (HttpConnection *connection : connections)
        connection->shutdown();
    if (m_connections.empty())
        emit drained();
}

void HttpServer::closeAll()
{
    const std::vector<HttpConnection *> connections(m_connections.begin(), m_connections.end());
    for (HttpConnection *connection : connections)
        connection->abort();
    m_connections.clear();
}

void HttpServer::tick()
{
    const qint64 now = HttpClock::nowMs();
    const std::vector<HttpConnection *> connections(m_connections.begin(), m_connections.end());
    for (HttpConnection *connection : connections) {
        if (m_connections.count(connection))
            connection->checkTimeouts(now);
    }
}
