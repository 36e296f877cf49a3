#include "proxyworker.h"

#include "httpclock.h"
#include "httpserver.h"
#include "proxyhandler.h"

ProxyWorker::ProxyWorker(int index, const HttpLimits &limits, const ProxyPolicy &policy,
                         const AccessLog *accessLog, std::shared_ptr<ConnectionBudget> budget)
    : m_index(index)
    , m_limits(limits)
    , m_policy(policy)
    , m_accessLog(accessLog)
    , m_budget(std::move(budget))
{
    m_limits.maxConnections = 0; // the shared budget counts instead of one cap per worker
}

ProxyWorker::~ProxyWorker()
{
    tearDown();
}

bool ProxyWorker::setUp(const QList<qintptr> &listeningDescriptors, QString *error)
{
    if (m_accessLog)
        m_logBuffer = std::make_unique<AccessLog::Buffer>(*m_accessLog);
    m_handler = std::make_unique<ProxyHandler>(&m_metrics, m_logBuffer.get(), m_policy, this);
    // Upstream deadlines; client deadlines are the HttpServer's.
    m_timer = new QTimer(this);
    m_timer->setInterval(100);
    m_timer->setTimerType(Qt::CoarseTimer);
    connect(m_timer, &QTimer::timeout, this, &ProxyWorker::tick);
    m_timer->start();
    auto *first = new HttpServer(m_handler.get(), m_limits, this);
    m_servers.append(first);
    for (qsizetype i = 0; i < listeningDescriptors.size(); ++i) {
        HttpServer *server = i == 0 ? first : new HttpServer(m_handler.get(), m_limits, this);
        if (i > 0)
            m_servers.append(server);
        if (!server->listenOnDescriptor(listeningDescriptors.at(i), error))
            return false;
    }
    for (HttpServer *server : std::as_const(m_servers)) {
        if (m_budget)
            server->setConnectionBudget(m_budget);
        connect(server, &HttpServer::drained, this, &ProxyWorker::checkDrained);
    }
    return true;
}

void ProxyWorker::tearDown()
{
    for (HttpServer *server : std::as_const(m_servers))
        delete server;
    m_servers.clear();
    if (m_handler)
        m_handler->closeUpstreams();
    m_handler.reset();
    m_logBuffer.reset();
    delete m_timer;
    m_timer = nullptr;
}

void ProxyWorker::addConnection(qintptr socketDescriptor)
{
    if (m_servers.isEmpty())
        return;
    m_servers.first()->addConnection(socketDescriptor);
}

void ProxyWorker::setSnapshot(const ProxySnapshotPtr &snapshot)
{
    if (m_handler)
        m_handler->setSnapshot(snapshot);
}

void ProxyWorker::drain()
{
    m_draining = true;
    for (HttpServer *server : std::as_const(m_servers))
        server->drain();
    checkDrained();
}

void ProxyWorker::checkDrained()
{
    if (!m_draining || m_drainedSent)
        return;
    if (connectionCount() > 0)
        return;
    m_drainedSent = true;
    if (m_handler)
        m_handler->closeUpstreams();
    emit drained();
}

void ProxyWorker::tick()
{
    if (m_handler)
        m_handler->checkTimeouts(HttpClock::nowMs());
}

ProxyMetrics::Snapshot ProxyWorker::metricsSnapshot() const
{
    return m_metrics.snapshot();
}

quint64 ProxyWorker::upstreamConnectionsOpened() const
{
    return m_handler ? m_handler->pool().connectionsOpened() : 0;
}

QHash<QByteArray, UpstreamPool::NodeConnections> ProxyWorker::upstreamConnectionsByNode() const
{
    return m_handler ? m_handler->pool().connectionsByNode()
                     : QHash<QByteArray, UpstreamPool::NodeConnections>();
}

quint64 ProxyWorker::servingGeneration() const
{
    return m_handler ? m_handler->generation() : 0;
}

int ProxyWorker::connectionCount() const
{
    int n = 0;
    for (const HttpServer *server : m_servers)
        n += server->connectionCount();
    return n;
}
