// Per-worker request counters and latency histograms, written only by the worker thread that owns them.
#pragma once

#include <QHash>
#include <QList>
#include <QString>

#include <array>
#include <functional>

class QObject;

// Not thread-safe by design: each worker thread owns one instance and is the only writer, so the
// request path takes no lock. Other threads read through snapshot(), called in the owner's thread
// (see collect()).
class ProxyMetrics
{
public:
    // Upper bounds of the finite buckets, in milliseconds (the Prometheus client defaults, widened).
    static constexpr std::array<qint64, 13> BucketBoundsMs{1,   2,   5,    10,   20,   50,   100,
                                                           200, 500, 1000, 2000, 5000, 10000};
    static constexpr int BucketCount = int(BucketBoundsMs.size()) + 1; // the last one is +Inf

    struct Histogram
    {
        std::array<quint64, BucketCount> buckets{}; // per bucket, not cumulative: cumulated when rendered
        quint64 count = 0;
        quint64 sumMicros = 0;

        void observe(qint64 micros);
        void merge(const Histogram &other);
        bool operator==(const Histogram &other) const;
    };

    // Requests of one route, split by the upstream they went to and the status answered.
    struct StatusCount
    {
        QString upstream;
        int code = 0;
        quint64 count = 0;
    };

    struct RouteStats
    {
        Histogram duration;
        quint64 requestBytes = 0;
        quint64 responseBytes = 0;
        // A route meets few (upstream, status) pairs, so a linear scan beats hashing here.
        QList<StatusCount> statuses;

        quint64 requests(const QString &upstream, int code) const;
    };

    struct UpstreamStats
    {
        Histogram duration;
        quint64 connectFailures = 0;
        quint64 retries = 0;
    };

    // Plain data: copying it shares the containers, and the owner detaches on its next write.
    struct Snapshot
    {
        QHash<QString, RouteStats> routes;       // by route id, "" for requests that matched no route
        QHash<QString, UpstreamStats> upstreams; // by upstream key
        qint64 activeConnections = 0;
        qint64 activeTunnels = 0; // WebSocket tunnels open now
        quint64 tunnels = 0;      // WebSocket tunnels opened since start

        void merge(const Snapshot &other);
    };

    // `upstreamMicros` is -1 when no upstream was contacted; `upstream` is "" then as well, or the
    // upstream that could not be reached.
    void recordRequest(const QString &routeId, const QString &upstream, int statusCode, qint64 totalMicros,
                       qint64 upstreamMicros, qint64 requestBytes, qint64 responseBytes);
    void connectionOpened() { ++m_snapshot.activeConnections; }
    void connectionClosed() { --m_snapshot.activeConnections; }
    void tunnelOpened()
    {
        ++m_snapshot.activeTunnels;
        ++m_snapshot.tunnels;
    }
    void tunnelClosed() { --m_snapshot.activeTunnels; }
    void upstreamConnectFailed(const QString &upstream) { ++m_snapshot.upstreams[upstream].connectFailures; }
    void upstreamRetried(const QString &upstream) { ++m_snapshot.upstreams[upstream].retries; }

    Snapshot snapshot() const { return m_snapshot; }

    // One worker: an object living in the worker thread, and how to take that worker's snapshot there.
    struct Source
    {
        QObject *context = nullptr;
        std::function<Snapshot()> snapshot;
    };

    // Takes every worker's snapshot in the worker's own thread: directly when the caller already is
    // that thread (or it no longer runs), else by a blocking queued call. The caller must not be a
    // thread a worker waits on.
    static QList<Snapshot> collect(const QList<Source> &sources);
    static Snapshot merge(const QList<Snapshot> &workers);

private:
    Snapshot m_snapshot;
};
