#include "upstreampool.h"

#include "httpclock.h"

UpstreamPool::UpstreamPool(QObject *parent)
    : QObject(parent)
{}

UpstreamPool::~UpstreamPool()
{
    closeAll();
    // Now rather than as children of the QObject, which would be after m_sockets is gone.
    qDeleteAll(findChildren<UpstreamConnection *>(QString(), Qt::FindDirectChildrenOnly));
}

UpstreamConnection *UpstreamPool::acquire(const QByteArray &nodeKey, const UpstreamNode &node, bool *reused)
{
    auto it = m_idle.find(nodeKey);
    if (it != m_idle.end()) {
        std::vector<Idle> &idle = it.value();
        while (!idle.empty()) {
            UpstreamConnection *connection = idle.back().connection;
            idle.pop_back();
            if (connection->isConnected()) {
                *reused = true;
                return connection;
            }
            m_all.erase(connection);
            connection->close();
        }
    }
    *reused = false;
    auto *connection = new UpstreamConnection(nodeKey, node.host, node.port, &m_sockets, this);
    connect(connection, &UpstreamConnection::idleConnectionLost, this, &UpstreamPool::onIdleLost);
    m_all.insert(connection);
    ++m_opened;
    return connection;
}

void UpstreamPool::release(UpstreamConnection *connection, const KeepalivePool &settings)
{
    if (!connection->reusable() || settings.size <= 0 ||
        (settings.requests > 0 && connection->requestCount() >= settings.requests)) {
        discard(connection);
        return;
    }
    std::vector<Idle> &idle = m_idle[connection->nodeKey()];
    if (int(idle.size()) >= settings.size) {
        // The least recently used one goes, as nginx's keepalive cache does.
        UpstreamConnection *oldest = idle.front().connection;
        idle.erase(idle.begin());
        m_all.erase(oldest);
        oldest->close();
    }
    const qint64 now = HttpClock::nowMs();
    connection->markIdle(now);
    idle.push_back({connection, now + qint64(settings.idleTimeout * 1000)});
}

void UpstreamPool::discard(UpstreamConnection *connection)
{
    removeIdle(connection);
    m_all.erase(connection);
    connection->close();
}

void UpstreamPool::removeIdle(UpstreamConnection *connection)
{
    auto it = m_idle.find(connection->nodeKey());
    if (it == m_idle.end())
        return;
    std::vector<Idle> &idle = it.value();
    for (auto i = idle.begin(); i != idle.end(); ++i) {
        if (i->connection == connection) {
            idle.erase(i);
            return;
        }
    }
}

void UpstreamPool::onIdleLost(UpstreamConnection *connection)
{
    discard(connection);
}

void UpstreamPool::checkTimeouts(qint64 nowMs)
{
    for (auto it = m_idle.begin(); it != m_idle.end(); ++it) {
        std::vector<Idle> &idle = it.value();
        while (!idle.empty() && idle.front().expiresAt <= nowMs) {
            UpstreamConnection *connection = idle.front().connection;
            idle.erase(idle.begin());
            m_all.erase(connection);
            connection->close();
        }
    }
    const std::vector<UpstreamConnection *> all(m_all.begin(), m_all.end());
    for (UpstreamConnection *connection : all) {
        if (m_all.count(connection))
            connection->checkTimeouts(nowMs);
    }
}

void UpstreamPool::closeAll()
{
    for (UpstreamConnection *connection : m_all)
        connection->close();
    m_all.clear();
    m_idle.clear();
}

QHash<QByteArray, UpstreamPool::NodeConnections> UpstreamPool::connectionsByNode() const
{
    QHash<QByteArray, NodeConnections> out;
    for (const UpstreamConnection *connection : m_all)
        ++out[connection->nodeKey()].open;
    for (auto it = m_idle.cbegin(); it != m_idle.cend(); ++it)
        out[it.key()].idle += int(it->size());
    return out;
}

int UpstreamPool::idleCount() const
{
    int n = 0;
    for (const auto &idle : m_idle)
        n += int(idle.size());
    return n;
}
