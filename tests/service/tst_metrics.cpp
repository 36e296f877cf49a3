// Tests ProxyMetrics, merging worker snapshots, the Prometheus text and collecting across threads.
#include "metricsregistry.h"
#include "proxymetrics.h"

#include <QObject>
#include <QRegularExpression>
#include <QThread>
#include <QtTest>

#include <memory>

namespace {

QByteArray bucketLines(const char *name, const QByteArray &labels, const QList<int> &cumulative)
{
    static const char *const les[] = {"0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1",
                                      "0.2",   "0.5",   "1",     "2",    "5",    "10",   "+Inf"};
    QByteArray out;
    for (int i = 0; i < cumulative.size(); ++i) {
        out += QByteArray(name) + "_bucket{" + labels + ",le=\"" + les[i] + "\"} " +
               QByteArray::number(cumulative[i]) + '\n';
    }
    return out;
}

// A worker as the proxy will have one: a thread with its own event loop, and metrics only it writes.
struct Worker
{
    QThread thread;
    std::unique_ptr<QObject> context = std::make_unique<QObject>();
    ProxyMetrics metrics;

    Worker()
    {
        context->moveToThread(&thread);
        thread.start();
    }
    ~Worker()
    {
        thread.quit();
        thread.wait();
    }
    ProxyMetrics::Source source()
    {
        return {context.get(), [this] { return metrics.snapshot(); }};
    }
};

} // namespace

class TestMetrics : public QObject
{
    Q_OBJECT

private slots:
    void histogramBuckets();
    void snapshotIsACopy();
    void expositionText();
    void labelEscaping();
    void registeredMetrics();
    void mergeTwoWorkers();
    void collectAcrossThreads();
    void collectInSameOrStoppedThread();
};

void TestMetrics::histogramBuckets()
{
    ProxyMetrics::Histogram h;
    h.observe(1000);     // exactly 1 ms: le="0.001" is inclusive
    h.observe(1001);     // just above: le="0.002"
    h.observe(10000000); // 10 s, the last finite bound
    h.observe(10000001); // +Inf
    QCOMPARE(h.buckets[0], 1u);
    QCOMPARE(h.buckets[1], 1u);
    QCOMPARE(h.buckets[12], 1u);
    QCOMPARE(h.buckets[13], 1u);
    QCOMPARE(h.count, 4u);
    QCOMPARE(h.sumMicros, 20002002u);
}

void TestMetrics::snapshotIsACopy()
{
    ProxyMetrics m;
    m.recordRequest(QStringLiteral("r"), QStringLiteral("u"), 200, 10, 5, 1, 2);
    const ProxyMetrics::Snapshot before = m.snapshot();
    m.recordRequest(QStringLiteral("r"), QStringLiteral("u"), 200, 10, 5, 1, 2);
    QCOMPARE(before.routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 200), 1u);
    QCOMPARE(m.snapshot().routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 200), 2u);
}

void TestMetrics::expositionText()
{
    ProxyMetrics m;
    m.connectionOpened();
    m.connectionOpened();
    m.connectionClosed();
    m.recordRequest(QStringLiteral("r1"), QStringLiteral("upstreams/1"), 200, 1500, 1000, 100, 2000);
    m.recordRequest(QStringLiteral("r1"), QStringLiteral("upstreams/1"), 200, 30000, 25000, 50, 1000);
    // Upstream not reached: counted for the route, no upstream latency.
    m.recordRequest(QStringLiteral("r1"), QStringLiteral("upstreams/1"), 502, 12000000, -1, 10, 0);
    m.upstreamConnectFailed(QStringLiteral("upstreams/1"));
    m.upstreamRetried(QStringLiteral("upstreams/1"));
    m.tunnelOpened();
    m.tunnelOpened();
    m.tunnelClosed();

    MetricsRegistry registry;
    const QByteArray text = registry.render({m.snapshot()});

    const QByteArray route = "route=\"r1\"";
    const QByteArray upstream = "upstream=\"upstreams/1\"";
    const QByteArray expected =
        "# HELP holdfast_http_requests_total Requests answered, by route, upstream and status code.\n"
        "# TYPE holdfast_http_requests_total counter\n"
        "holdfast_http_requests_total{route=\"r1\",upstream=\"upstreams/1\",code=\"200\"} 2\n"
        "holdfast_http_requests_total{route=\"r1\",upstream=\"upstreams/1\",code=\"502\"} 1\n"
        "# HELP holdfast_http_request_duration_seconds Time from the start of a request to the end of its "
        "response, by route.\n"
        "# TYPE holdfast_http_request_duration_seconds histogram\n" +
        bucketLines("holdfast_http_request_duration_seconds", route,
                    {0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3}) +
        "holdfast_http_request_duration_seconds_sum{route=\"r1\"} 12.0315\n"
        "holdfast_http_request_duration_seconds_count{route=\"r1\"} 3\n"
        "# HELP holdfast_http_request_bytes_total Bytes received from clients, by route.\n"
        "# TYPE holdfast_http_request_bytes_total counter\n"
        "holdfast_http_request_bytes_total{route=\"r1\"} 160\n"
        "# HELP holdfast_http_response_bytes_total Bytes sent to clients, by route.\n"
        "# TYPE holdfast_http_response_bytes_total counter\n"
        "holdfast_http_response_bytes_total{route=\"r1\"} 3000\n"
        "# HELP holdfast_http_connections_active Client connections open now.\n"
        "# TYPE holdfast_http_connections_active gauge\n"
        "holdfast_http_connections_active 1\n"
        "# HELP holdfast_websocket_tunnels_active WebSocket tunnels open now.\n"
        "# TYPE holdfast_websocket_tunnels_active gauge\n"
        "holdfast_websocket_tunnels_active 1\n"
        "# HELP holdfast_websocket_tunnels_total WebSocket tunnels opened (101 from an upstream).\n"
        "# TYPE holdfast_websocket_tunnels_total counter\n"
        "holdfast_websocket_tunnels_total 2\n"
        "# HELP holdfast_upstream_duration_seconds Time from sending a request upstream to the end of the "
        "upstream response, by upstream.\n"
        "# TYPE holdfast_upstream_duration_seconds histogram\n" +
        bucketLines("holdfast_upstream_duration_seconds", upstream,
                    {1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2}) +
        "holdfast_upstream_duration_seconds_sum{upstream=\"upstreams/1\"} 0.026\n"
        "holdfast_upstream_duration_seconds_count{upstream=\"upstreams/1\"} 2\n"
        "# HELP holdfast_upstream_connect_failures_total Connections to an upstream node that failed, by "
        "upstream.\n"
        "# TYPE holdfast_upstream_connect_failures_total counter\n"
        "holdfast_upstream_connect_failures_total{upstream=\"upstreams/1\"} 1\n"
        "# HELP holdfast_upstream_retries_total Requests retried on another node, by upstream.\n"
        "# TYPE holdfast_upstream_retries_total counter\n"
        "holdfast_upstream_retries_total{upstream=\"upstreams/1\"} 1\n";
    QCOMPARE(text, expected);
}

void TestMetrics::labelEscaping()
{
    QCOMPARE(MetricsRegistry::escapeLabelValue("a\"b\\c\nd"), QByteArray("a\\\"b\\\\c\\nd"));

    ProxyMetrics m;
    m.recordRequest(QStringLiteral("we\"ird\\route\nid"), QString(), 404, 100, -1, 0, 0);
    // Requests that matched no route are counted under route="".
    m.recordRequest(QString(), QString(), 404, 100, -1, 0, 0);
    const QByteArray text = MetricsRegistry().render({m.snapshot()});
    QVERIFY2(text.contains("holdfast_http_requests_total{route=\"we\\\"ird\\\\route\\nid\",upstream=\"\","
                           "code=\"404\"} 1\n"),
             text.constData());
    QVERIFY(text.contains("holdfast_http_requests_total{route=\"\",upstream=\"\",code=\"404\"} 1\n"));
    QVERIFY(text.contains("holdfast_http_request_bytes_total{route=\"we\\\"ird\\\\route\\nid\"} 0\n"));
    // Nothing raw: every line is a comment or a sample.
    for (const QByteArray &line : text.split('\n')) {
        if (!line.isEmpty())
            QVERIFY2(line.startsWith("# ") || line.startsWith("holdfast_"), line.constData());
    }
    // The upstream "" was never contacted, so no upstream series exist.
    QVERIFY(!text.contains("holdfast_upstream_duration_seconds_count"));
}

void TestMetrics::registeredMetrics()
{
    MetricsRegistry registry;
    QVERIFY(registry.setGauge("holdfast_sync_connected", "1 while the control plane is reachable.", 1));
    QVERIFY(registry.setCounter("holdfast_sync_events_total", "Watch events applied, by kind.", 3,
                                {{"kind", "put"}}));
    QVERIFY(registry.setCounter("holdfast_sync_events_total", "Watch events applied, by kind.", 4,
                                {{"kind", "put"}}));
    QVERIFY(registry.setCounter("holdfast_sync_events_total", "Watch events applied, by kind.", 1,
                                {{"kind", "del\"ete"}}));
    QVERIFY(registry.setGauge("holdfast_sync_lag_seconds", "Back\\slash and\nnewline in help.", 0.25));
    registry.addAppender([] { return QByteArray("# TYPE holdfast_extra gauge\nholdfast_extra 7"); });
    const int removed = registry.addAppender([] { return QByteArray("holdfast_gone 1\n"); });
    registry.removeAppender(removed);

    // Refused: malformed names, a built-in family, a type change, a repeated label.
    for (const char *why :
         {"invalid metric name", "invalid label name", "invalid label name",
          "the proxy metrics own that name", "already registered with another type", "given twice"}) {
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QLatin1String(why)));
    }
    QVERIFY(!registry.setGauge("1bad", "x", 1));
    QVERIFY(!registry.setGauge("holdfast_sync_connected", "x", 1, {{"bad-label", "x"}}));
    QVERIFY(!registry.setGauge("holdfast_sync_connected", "x", 1, {{"__reserved", "x"}}));
    QVERIFY(!registry.setGauge("holdfast_http_requests_total", "x", 1));
    QVERIFY(!registry.setGauge("holdfast_sync_events_total", "x", 1, {{"kind", "put"}}));
    QVERIFY(!registry.setGauge("holdfast_x", "x", 1, {{"a", "1"}, {"a", "2"}}));

    const QByteArray text = registry.render({});
    const qsizetype start = text.indexOf("# HELP holdfast_sync_connected");
    QVERIFY(start > 0);
    QCOMPARE(text.mid(start),
             QByteArray("# HELP holdfast_sync_connected 1 while the control plane is reachable.\n"
                        "# TYPE holdfast_sync_connected gauge\n"
                        "holdfast_sync_connected 1\n"
                        "# HELP holdfast_sync_events_total Watch events applied, by kind.\n"
                        "# TYPE holdfast_sync_events_total counter\n"
                        "holdfast_sync_events_total{kind=\"del\\\"ete\"} 1\n"
                        "holdfast_sync_events_total{kind=\"put\"} 4\n"
                        "# HELP holdfast_sync_lag_seconds Back\\\\slash and\\nnewline in help.\n"
                        "# TYPE holdfast_sync_lag_seconds gauge\n"
                        "holdfast_sync_lag_seconds 0.25\n"
                        "# TYPE holdfast_extra gauge\n"
                        "holdfast_extra 7\n"));
    // With no workers the gauges still read zero rather than vanish.
    QVERIFY(text.contains("\nholdfast_http_connections_active 0\n"));

    registry.remove("holdfast_sync_events_total", {{"kind", "put"}});
    registry.remove("holdfast_sync_lag_seconds", {}, true);
    const QByteArray after = registry.render({});
    QVERIFY(!after.contains("kind=\"put\""));
    QVERIFY(after.contains("kind=\"del\\\"ete\""));
    QVERIFY(!after.contains("holdfast_sync_lag_seconds"));
}

void TestMetrics::mergeTwoWorkers()
{
    ProxyMetrics a;
    ProxyMetrics b;
    a.connectionOpened();
    b.connectionOpened();
    b.connectionOpened();
    a.recordRequest(QStringLiteral("r1"), QStringLiteral("u1"), 200, 500, 400, 10, 100);
    b.recordRequest(QStringLiteral("r1"), QStringLiteral("u1"), 200, 3000, 2500, 20, 200);
    b.recordRequest(QStringLiteral("r1"), QStringLiteral("u1"), 503, 60000, -1, 5, 0);
    b.recordRequest(QStringLiteral("r2"), QStringLiteral("u2"), 200, 100, 50, 1, 1);
    a.upstreamRetried(QStringLiteral("u1"));
    b.upstreamRetried(QStringLiteral("u1"));
    b.upstreamConnectFailed(QStringLiteral("u1"));

    const ProxyMetrics::Snapshot all = ProxyMetrics::merge({a.snapshot(), b.snapshot()});
    QCOMPARE(all.activeConnections, 3);
    QCOMPARE(all.routes.size(), 2);
    const ProxyMetrics::RouteStats r1 = all.routes.value(QStringLiteral("r1"));
    QCOMPARE(r1.requests(QStringLiteral("u1"), 200), 2u);
    QCOMPARE(r1.requests(QStringLiteral("u1"), 503), 1u);
    QCOMPARE(r1.statuses.size(), 2);
    QCOMPARE(r1.requestBytes, 35u);
    QCOMPARE(r1.responseBytes, 300u);
    QCOMPARE(r1.duration.count, 3u);
    QCOMPARE(r1.duration.sumMicros, 63500u);
    QCOMPARE(r1.duration.buckets[0], 1u); // 0.5 ms
    QCOMPARE(r1.duration.buckets[2], 1u); // 3 ms
    QCOMPARE(r1.duration.buckets[6], 1u); // 60 ms
    const ProxyMetrics::UpstreamStats u1 = all.upstreams.value(QStringLiteral("u1"));
    QCOMPARE(u1.retries, 2u);
    QCOMPARE(u1.connectFailures, 1u);
    QCOMPARE(u1.duration.count, 2u);
    QCOMPARE(all.routes.value(QStringLiteral("r2")).requests(QStringLiteral("u2"), 200), 1u);

    const QByteArray text = MetricsRegistry().render({a.snapshot(), b.snapshot()});
    QVERIFY(text.contains("holdfast_http_requests_total{route=\"r1\",upstream=\"u1\",code=\"200\"} 2\n"));
    QVERIFY(text.contains("holdfast_http_request_duration_seconds_count{route=\"r1\"} 3\n"));
    QVERIFY(text.contains("holdfast_http_request_duration_seconds_sum{route=\"r1\"} 0.0635\n"));
    QVERIFY(text.contains("holdfast_upstream_retries_total{upstream=\"u1\"} 2\n"));
    QVERIFY(text.contains("\nholdfast_http_connections_active 3\n"));
    // Each series once: merged, not listed per worker.
    QCOMPARE(text.count("holdfast_http_request_bytes_total{route=\"r1\"}"), 1);
}

void TestMetrics::collectAcrossThreads()
{
    Worker one;
    Worker two;
    constexpr int requests = 500;
    // The workers write their own metrics, in their own threads, while this thread collects.
    for (Worker *w : {&one, &two}) {
        const int code = w == &one ? 200 : 404;
        QMetaObject::invokeMethod(w->context.get(), [w, code] {
            for (int i = 0; i < requests; ++i)
                w->metrics.recordRequest(QStringLiteral("r"), QStringLiteral("u"), code, 1000, 500, 1, 1);
            w->metrics.connectionOpened();
        });
    }

    QThread *ranIn[2] = {nullptr, nullptr};
    QList<ProxyMetrics::Source> sources{one.source(), two.source()};
    sources[0].snapshot = [&] {
        ranIn[0] = QThread::currentThread();
        return one.metrics.snapshot();
    };
    sources[1].snapshot = [&] {
        ranIn[1] = QThread::currentThread();
        return two.metrics.snapshot();
    };
    // Queued calls run in order, so the blocking collection sees every request posted above.
    const QList<ProxyMetrics::Snapshot> snapshots = ProxyMetrics::collect(sources);
    QCOMPARE(snapshots.size(), 2);
    QCOMPARE(ranIn[0], &one.thread);
    QCOMPARE(ranIn[1], &two.thread);
    QCOMPARE(snapshots[0].routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 200),
             quint64(requests));
    QCOMPARE(snapshots[1].routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 404),
             quint64(requests));

    const QByteArray text = MetricsRegistry().render(snapshots);
    QVERIFY(text.contains("holdfast_http_request_duration_seconds_count{route=\"r\"} 1000\n"));
    QVERIFY(text.contains("\nholdfast_http_connections_active 2\n"));

    // Collecting from one more thread (as the admin thread will) while the workers keep writing.
    QThread admin;
    QList<ProxyMetrics::Snapshot> fromAdmin;
    QObject adminContext;
    adminContext.moveToThread(&admin);
    admin.start();
    for (Worker *w : {&one, &two}) {
        QMetaObject::invokeMethod(w->context.get(), [w] {
            w->metrics.recordRequest(QStringLiteral("r"), QStringLiteral("u"), 500, 1, -1, 0, 0);
        });
    }
    QMetaObject::invokeMethod(
        &adminContext,
        [&] {
            fromAdmin = ProxyMetrics::collect({one.source(), two.source()});
        },
        Qt::BlockingQueuedConnection);
    admin.quit();
    admin.wait();
    QCOMPARE(fromAdmin.size(), 2);
    QCOMPARE(
        ProxyMetrics::merge(fromAdmin).routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 500),
        2u);
}

void TestMetrics::collectInSameOrStoppedThread()
{
    // A source living in the calling thread must be read directly: a blocking queued call would hang.
    QObject here;
    ProxyMetrics local;
    local.recordRequest(QStringLiteral("r"), QStringLiteral("u"), 200, 1, 1, 0, 0);

    // A worker whose thread has stopped has no event loop to answer; its metrics no longer change.
    auto stopped = std::make_unique<Worker>();
    QMetaObject::invokeMethod(
        stopped->context.get(),
        [&] { stopped->metrics.recordRequest(QStringLiteral("r"), QStringLiteral("u"), 201, 1, 1, 0, 0); },
        Qt::BlockingQueuedConnection);
    stopped->thread.quit();
    QVERIFY(stopped->thread.wait(5000));

    const QList<ProxyMetrics::Snapshot> snapshots =
        ProxyMetrics::collect({{&here, [&] { return local.snapshot(); }}, stopped->source()});
    QCOMPARE(snapshots.size(), 2);
    QCOMPARE(snapshots[0].routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 200), 1u);
    QCOMPARE(snapshots[1].routes.value(QStringLiteral("r")).requests(QStringLiteral("u"), 201), 1u);
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
