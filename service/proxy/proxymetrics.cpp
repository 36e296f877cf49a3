#include "proxymetrics.h"

#include <QLoggingCategory>
#include <QObject>
#include <QThread>

Q_LOGGING_CATEGORY(lcProxyMetrics, "holdfast.proxy.metrics")

#include <algorithm>

void ProxyMetrics::Histogram::observe(qint64 micros)
{
    if (micros < 0)
        micros = 0;
    int bucket = 0;
    // Most requests land in the first buckets, so a linear scan stops early.
    while (bucket < int(BucketBoundsMs.size()) && micros > BucketBoundsMs[size_t(bucket)] * 1000)
        ++bucket;
    ++buckets[size_t(bucket)];
    ++count;
    sumMicros += quint64(micros);
}

void ProxyMetrics::Histogram::merge(const Histogram &other)
{
    for (size_t i = 0; i < buckets.size(); ++i)
        buckets[i] += other.buckets[i];
    count += other.count;
    sumMicros += other.sumMicros;
}

bool ProxyMetrics::Histogram::operator==(const Histogram &other) const
{
    return buckets == other.buckets && count == other.count && sumMicros == other.sumMicros;
}

quint64 ProxyMetrics::RouteStats::requests(const QString &upstream, int code) const
{
    for (const StatusCount &s : statuses) {
        if (s.code == code && s.upstream == upstream)
            return s.count;
    }
    return 0;
}

void ProxyMetrics::Snapshot::merge(const Snapshot &other)
{
    for (auto it = other.routes.cbegin(); it != other.routes.cend(); ++it) {
        RouteStats &mine = routes[it.key()];
        mine.duration.merge(it->duration);
        mine.requestBytes += it->requestBytes;
        mine.responseBytes += it->responseBytes;
        for (const StatusCount &theirs : it->statuses) {
            auto found = std::find_if(mine.statuses.begin(), mine.statuses.end(), [&](const StatusCount &s) {
                return s.code == theirs.code && s.upstream == theirs.upstream;
            });
            if (found == mine.statuses.end())
                mine.statuses.append(theirs);
            else
                found->count += theirs.count;
        }
    }
    for (auto it = other.upstreams.cbegin(); it != other.upstreams.cend(); ++it) {
        UpstreamStats &mine = upstreams[it.key()];
        mine.duration.merge(it->duration);
        mine.connectFailures += it->connectFailures;
        mine.retries += it->retries;
    }
    activeConnections += other.activeConnections;
    activeTunnels += other.activeTunnels;
    tunnels += other.tunnels;
}

void ProxyMetrics::recordRequest(const QString &routeId, const QString &upstream, int statusCode,
                                 qint64 totalMicros, qint64 upstreamMicros, qint64 requestBytes,
                                 qint64 responseBytes)
{
    RouteStats &route = m_snapshot.routes[routeId];
    route.duration.observe(totalMicros);
    route.requestBytes += quint64(qMax<qint64>(requestBytes, 0));
    route.responseBytes += quint64(qMax<qint64>(responseBytes, 0));

    bool counted = false;
    for (StatusCount &s : route.statuses) {
        if (s.code == statusCode && s.upstream == upstream) {
            ++s.count;
            counted = true;
            break;
        }
    }
    if (!counted)
        route.statuses.append(StatusCount{upstream, statusCode, 1});

    if (upstreamMicros >= 0 && !upstream.isEmpty())
        m_snapshot.upstreams[upstream].duration.observe(upstreamMicros);
}

ProxyMetrics::Snapshot ProxyMetrics::merge(const QList<ProxyMetrics::Snapshot> &workers)
{
    ProxyMetrics::Snapshot total;
    for (const ProxyMetrics::Snapshot &worker : workers)
        total.merge(worker);
    return total;
}

QList<ProxyMetrics::Snapshot> ProxyMetrics::collect(const QList<Source> &sources)
{
    QList<ProxyMetrics::Snapshot> snapshots;
    snapshots.reserve(sources.size());
    for (const Source &source : sources) {
        if (!source.snapshot)
            continue;
        QThread *owner = source.context ? source.context->thread() : nullptr;
        // A blocking call into the caller's own thread, or into a thread with no running event loop,
        // would never return; a stopped worker writes nothing, so reading directly is safe there.
        if (!owner || owner == QThread::currentThread() || !owner->isRunning()) {
            snapshots.append(source.snapshot());
            continue;
        }
        ProxyMetrics::Snapshot snapshot;
        if (!QMetaObject::invokeMethod(source.context, source.snapshot, Qt::BlockingQueuedConnection,
                                       &snapshot))
            qCWarning(lcProxyMetrics) << "could not take the metrics snapshot of a worker";
        snapshots.append(snapshot);
    }
    return snapshots;
}
