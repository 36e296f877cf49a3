// A worker's keep-alive connections to upstream nodes: reused across requests, closed when idle too long.
#pragma once

#include "configobjects.h"
#include "streamsockets.h"
#include "upstreamconnection.h"

#include <QByteArray>
#include <QHash>
#include <QObject>

#include <unordered_set>
#include <vector>

// Owned by one worker and used only in its thread, so it takes no lock. Idle connections are kept per
// node ("host:port"), most recently used first, up to keepalive_pool.size per node. Their sockets come
// from the pool's StreamSockets (on Linux one epoll set for all of the worker's upstream sockets).
class UpstreamPool : public QObject
{
    Q_OBJECT

public:
    explicit UpstreamPool(QObject *parent = nullptr);
    ~UpstreamPool() override;

    // An idle connection to the node, or a new one that is connecting. `reused` tells which.
    UpstreamConnection *acquire(const QByteArray &nodeKey, const UpstreamNode &node, bool *reused);
    // The request on `connection` is over: pooled when it may carry another, else closed.
    void release(UpstreamConnection *connection, const KeepalivePool &settings);
    // Closes a connection that failed or was abandoned mid-request.
    void discard(UpstreamConnection *connection);

    void checkTimeouts(qint64 nowMs);
    void closeAll();
    int idleCount() const;
    int totalCount() const { return int(m_all.size()); }
    // Open and idle connections per node ("host:port"), for GET /v1/upstreams.
    struct NodeConnections
    {
        int open = 0;
        int idle = 0;
    };
    QHash<QByteArray, NodeConnections> connectionsByNode() const;
    // Connections opened since start, for tests and metrics: keep-alive shows as few.
    quint64 connectionsOpened() const { return m_opened; }

private:
    struct Idle
    {
        UpstreamConnection *connection;
        qint64 expiresAt;
    };
    void onIdleLost(UpstreamConnection *connection);
    void removeIdle(UpstreamConnection *connection);

    StreamSockets m_sockets; // outlives the connections: ~UpstreamPool() deletes them
    QHash<QByteArray, std::vector<Idle>> m_idle;
    std::unordered_set<UpstreamConnection *> m_all;
    quint64 m_opened = 0;
};
