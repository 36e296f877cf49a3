// The gateway's data plane: listeners, worker threads, and the snapshot every worker serves from.
#pragma once

#include "accesslog.h"
#include "activehealthchecker.h"
#include "configsnapshot.h"
#include "healthregistry.h"
#include "proxymetrics.h"
#include "proxysettings.h"
#include "proxysnapshot.h"
#include "upstreampool.h"

#include <QList>
#include <QObject>
#include <QTimer>

#include <memory>

class ProxyWorker;
class QThread;
class SharedListener;

// Use from one thread (the main thread):
//     ProxyServer proxy(settings);
//     QString error;
//     if (!proxy.start(&error)) { ... }          // listeners open, workers running, serving 404s
//     proxy.publish(snapshot);                  // at start and after every config change
//     registry.render(proxy.collectMetrics());  // for GET /metrics
//     proxy.stop(30000);                        // drain; stopped() follows
// publish() compiles the router once and hands one immutable ProxySnapshot to every worker, with one
// queued call per worker per change. A worker switches at once for new requests; a request in flight
// keeps the snapshot (and balancer) it started with.
class ProxyServer : public QObject
{
    Q_OBJECT

public:
    explicit ProxyServer(const ProxySettings &settings, QObject *parent = nullptr);
    // Stops at once (no drain) if stop() has not finished.
    ~ProxyServer() override;

    bool start(QString *error);
    void publish(const SnapshotPtr &snapshot);
    // Drain: stop accepting, let requests in flight finish (up to `graceMs`), close idle connections,
    // then end the worker threads and emit stopped().
    void stop(int graceMs = 30000);
    bool isRunning() const { return m_running; }

    // The ports actually listened on, in the order of settings.listen (useful with port 0).
    QList<quint16> serverPorts() const { return m_ports; }
    int workerCount() const { return int(m_workers.size()); }
    const ProxySettings &settings() const { return m_settings; }
    ProxySnapshotPtr currentSnapshot() const { return m_current; }

    // Per-worker metrics, taken in each worker's thread (see ProxyMetrics::collect).
    QList<ProxyMetrics::Source> metricsSources() const;
    QList<ProxyMetrics::Snapshot> collectMetrics() const;

    HealthRegistry &healthRegistry() { return m_health; }
    ActiveHealthChecker *activeHealthChecker() const { return m_checker.get(); }
    AccessLog &accessLog() { return m_accessLog; }

    // Diagnostics and tests: summed over the workers (blocking calls into each worker thread).
    quint64 upstreamConnectionsOpened() const;
    // Upstream connections per node, summed over the workers (blocking calls into each worker thread).
    QHash<QByteArray, UpstreamPool::NodeConnections> upstreamConnectionsByNode() const;
    // The lowest generation any worker serves new requests from; equal to the last publish() once
    // every worker has taken it.
    quint64 servingGeneration() const;
    quint64 publishedGeneration() const { return m_generation; }

    // For /metrics: how each router was made, and the self-checks of the updated ones.
    struct RouterFigures
    {
        quint64 updates = 0;  // routers updated from the previous one (a derived snapshot)
        quint64 rebuilds = 0; // routers built from scratch
        quint64 selfChecks = 0;
        quint64 selfCheckFailures = 0;
    };
    const RouterFigures &routerFigures() const { return m_routerFigures; }

    // The self-check (also run every settings.routerSelfCheckMs while routers are being updated): off
    // the main thread, a router is built from scratch for the configuration being served and its digest
    // compared with the updated one's. A difference is logged, counted, and the rebuilt router is
    // published. Ends with routerChecked(); nothing to check (no update since the last check) ends at once.
    void checkRouter();

signals:
    void stopped();
    void routerChecked(bool equal);

private:
    void install(const SnapshotPtr &config, RouterPtr router, HealthMapPtr health);
    void onWorkerDrained();
    void finishStop();
    void stopWorkers();

    ProxySettings m_settings;
    AccessLog m_accessLog;
    HealthRegistry m_health;
    std::unique_ptr<ActiveHealthChecker> m_checker;
    QList<ProxyWorker *> m_workers;
    QList<QThread *> m_threads;
    QList<SharedListener *> m_sharedListeners;
    QList<quint16> m_ports;
    ProxySnapshotPtr m_current;
    quint64 m_generation = 0;
    RouterFigures m_routerFigures;
    QTimer m_selfCheckTimer;
    bool m_routerUnchecked = false; // updated since the last self-check
    bool m_selfCheckRunning = false;
    QTimer m_graceTimer;
    int m_drainedWorkers = 0;
    bool m_running = false;
    bool m_stopping = false;
};
