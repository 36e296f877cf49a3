// A worker's request handler: routes each request and runs it as a ProxyCall against the chosen upstream.
#pragma once

#include "accesslog.h"
#include "balancer.h"
#include "httprequesthead.h"
#include "irequesthandler.h"
#include "proxymetrics.h"
#include "proxysettings.h"
#include "proxysnapshot.h"
#include "upstreampool.h"

#include <QHash>

#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

class ProxyCall;
class UpstreamHealth;

// Everything here belongs to one worker thread: the snapshots it serves, its balancers, its upstream
// pool, its metrics and access-log buffer. Nothing is shared with other workers, so nothing is locked.
class ProxyHandler : public IRequestHandler
{
public:
    // One upstream as this worker balances it.
    struct UpstreamEntry
    {
        QString key; // "upstreams/1"
        UpstreamPtr upstream;
        std::shared_ptr<UpstreamHealth> health; // null: no checks configured
        std::unique_ptr<Balancer> balancer;
        std::vector<QByteArray> nodeKeys; // "host:port" per node: the pool's key
    };

    // A snapshot and what this worker built for it. Kept until the last request that began on it ends.
    struct Generation
    {
        ProxySnapshotPtr snapshot;
        int inFlight = 0;
        std::unordered_map<const Upstream *, std::shared_ptr<UpstreamEntry>> entries;
    };

    ProxyHandler(ProxyMetrics *metrics, AccessLog::Buffer *log, const ProxyPolicy &policy,
                 QObject *poolParent);
    ~ProxyHandler() override;

    void setSnapshot(ProxySnapshotPtr snapshot);
    quint64 generation() const;
    int generationsAlive() const { return int(m_generations.size()); }

    void handleRequest(HttpExchange *exchange) override;
    void connectionOpened() override { m_metrics->connectionOpened(); }
    void connectionClosed() override { m_metrics->connectionClosed(); }

    void checkTimeouts(qint64 nowMs);
    void closeUpstreams();

    UpstreamPool &pool() { return *m_pool; }
    ProxyMetrics &metrics() { return *m_metrics; }
    const ProxyPolicy &policy() const { return m_policy; }
    AccessLog::Buffer *accessLog() { return m_log; }
    int callsInFlight() const { return m_callsInFlight; }

    // Called by a ProxyCall when its request is over.
    void callFinished(ProxyCall *call, Generation *generation);
    // Records a request answered without a ProxyCall (404, 503), before the answer is sent.
    void recordLocal(const HttpRequestHead &request, QByteArrayView clientAddress, const QString &routeId,
                     int status, qint64 startMicros);

    static qint64 nowMicros();
    // `clientAddress`: the peer, or the address a trusted proxy forwarded for it.
    static AccessLog::Entry logEntry(const HttpRequestHead &request, QByteArrayView clientAddress,
                                     const QString &routeId, int status, qint64 durationMicros);
    // The client's address: the peer's, unless the peer is in realIpFrom; then the right-most address of
    // X-Forwarded-For that is not itself a trusted proxy (or the left-most when all are). `scratch` holds
    // the result when it is not the peer's text.
    static QByteArrayView clientAddress(const HttpRequestHead &request, const ProxyPolicy &policy,
                                        QByteArray *scratch);

private:
    UpstreamEntry *entryFor(Generation *generation, const RouteTarget &target);
    void retire();

    ProxyMetrics *m_metrics;
    AccessLog::Buffer *m_log;
    ProxyPolicy m_policy;
    UpstreamPool *m_pool;
    std::list<std::unique_ptr<Generation>> m_generations;           // the last one is current
    QHash<QString, std::shared_ptr<UpstreamEntry>> m_latestEntries; // by key: reused when unchanged
    std::vector<std::unique_ptr<ProxyCall>> m_freeCalls;
    QByteArray m_normalizedPath; // reused: the path of the request being routed, when it needed work
    QByteArray m_forwardPath;
    QByteArray m_clientAddress;
    int m_callsInFlight = 0;
};
