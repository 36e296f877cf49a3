// One proxy worker: an event loop in its own thread with its listeners, connections, pool and metrics.
#pragma once

#include "accesslog.h"
#include "connectionbudget.h"
#include "httplimits.h"
#include "proxymetrics.h"
#include "proxysettings.h"
#include "proxysnapshot.h"
#include "upstreampool.h"

#include <QList>
#include <QObject>
#include <QTimer>

#include <memory>

class HttpServer;
class ProxyHandler;

// Created by ProxyServer and moved to its thread; every method below but the constructor runs in
// that thread (ProxyServer calls them through QMetaObject::invokeMethod).
class ProxyWorker : public QObject
{
    Q_OBJECT

public:
    // `budget`: the gateway-wide connection cap (limits.max_connections) shared by every worker; null: none.
    ProxyWorker(int index, const HttpLimits &limits, const ProxyPolicy &policy, const AccessLog *accessLog,
                std::shared_ptr<ConnectionBudget> budget = nullptr);
    ~ProxyWorker() override;

    int index() const { return m_index; }

    // Builds the worker's parts in its thread and serves the given listening sockets.
    bool setUp(const QList<qintptr> &listeningDescriptors, QString *error);
    // Frees everything in the worker's thread, before the thread ends.
    void tearDown();

    void addConnection(qintptr socketDescriptor);
    void setSnapshot(const ProxySnapshotPtr &snapshot);
    // Stop accepting, let requests in flight finish, close idle connections; then drained().
    void drain();

    ProxyMetrics::Snapshot metricsSnapshot() const;
    // For tests and diagnostics.
    quint64 upstreamConnectionsOpened() const;
    QHash<QByteArray, UpstreamPool::NodeConnections> upstreamConnectionsByNode() const;
    quint64 servingGeneration() const;
    int connectionCount() const;

signals:
    void drained();

private:
    void tick();
    void checkDrained();

    int m_index;
    HttpLimits m_limits;
    ProxyPolicy m_policy;
    const AccessLog *m_accessLog;
    std::shared_ptr<ConnectionBudget> m_budget;
    ProxyMetrics m_metrics;
    std::unique_ptr<AccessLog::Buffer> m_logBuffer;
    std::unique_ptr<ProxyHandler> m_handler;
    QList<HttpServer *> m_servers; // one per listening socket; the first also takes shared connections
    QTimer *m_timer = nullptr;
    bool m_draining = false;
    bool m_drainedSent = false;
};
