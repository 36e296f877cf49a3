// The real holdfastd against a real etcd and a real upstream: start-up policy, sync, persistence, status.
#include "etcdprocess.h"
#include "gatewayprocess.h"
#include "gatewaystatus.h"
#include "testsupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

#include <memory>

// The value of the sample line `series value` in a Prometheus text exposition; -1 when there is none.
static double sample(const QByteArray &exposition, const QByteArray &series)
{
    for (const QByteArray &line : exposition.split('\n')) {
        if (line.startsWith(series + ' '))
            return line.mid(series.size() + 1).toDouble();
    }
    return -1;
}

class tst_GatewaySync : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void coldStartServesAndPersistsChanges();
    void invalidObjectRejectedAlone();
    void etcdDownAtStartServesLocalCopyThenCatchesUp();
    void nothingToServeIsNotReadyUntilControlPlaneAnswers();

private:
    QByteArray upstream() const
    {
        return QStringLiteral("{\"type\":\"roundrobin\",\"nodes\":{\"127.0.0.1:%1\":1}}")
            .arg(m_upstreamPort)
            .toUtf8();
    }
    static QByteArray route(const QByteArray &uri)
    {
        return "{\"uri\":\"" + uri + "\",\"upstream_id\":\"1\"}";
    }
    // A put through etcd; the revision it made.
    qint64 put(const QByteArray &key, const QByteArray &value)
    {
        const qint64 revision = m_etcd->put("/apisix/" + key, value);
        if (revision <= 0)
            qWarning() << "etcd put" << key << "failed:" << m_etcd->lastError();
        return revision;
    }
    // The revision in <data_dir>/config.json, -1 while there is none.
    qint64 persistedRevision() const
    {
        const auto file = m_gateway->persistedFile();
        return file ? file->value(QLatin1String("revision")).toInteger(-1) : -1;
    }
    QString dump() const { return QString::fromUtf8(m_gateway->output().right(4000)); }
    // persisted.revision of /v1/status, -1 when not known
    qint64 statusPersistedRevision() const
    {
        return m_gateway->status()
            .value_or(QJsonObject())
            .value(QLatin1String("persisted"))
            .toObject()
            .value(QLatin1String("revision"))
            .toInteger(-1);
    }

    std::unique_ptr<EtcdProcess> m_etcd;
    std::unique_ptr<GatewayProcess> m_gateway;
    TestSupport::ManagedProcess m_upstream;
    quint16 m_upstreamPort = 0;
    GatewayProcess::Options m_options;
};

void tst_GatewaySync::init()
{
    m_upstreamPort = TestSupport::freePort();
    QVERIFY(m_upstream.start(TestSupport::builtProgram(QStringLiteral("holdfast_test_upstream")),
                             {QStringLiteral("--port"), QString::number(m_upstreamPort),
                              QStringLiteral("--name"), QStringLiteral("node-a")}));
    QVERIFY(TestSupport::waitForPort(m_upstreamPort));
    m_etcd = std::make_unique<EtcdProcess>();
    QVERIFY2(m_etcd->start(), qPrintable(m_etcd->lastError()));
    m_gateway = std::make_unique<GatewayProcess>();
    m_options = GatewayProcess::Options();
    m_options.endpoints = QStringList{m_etcd->endpoint()};
}

void tst_GatewaySync::cleanup()
{
    if (QTest::currentTestFailed() && m_gateway)
        qWarning().noquote() << "holdfastd output:\n" << dump();
    m_gateway.reset();
    m_etcd.reset();
    m_upstream.stop();
}

void tst_GatewaySync::coldStartServesAndPersistsChanges()
{
    QVERIFY(put("upstreams/1", upstream()) > 0);
    QVERIFY(put("routes/1", route("/hello")) > 0);
    QVERIFY(put("consumers/jack", "{\"username\":\"jack\"}") > 0);
    QVERIFY2(m_gateway->start(m_options), qPrintable(dump()));
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->state(), QStringLiteral("in_sync"), 5000);

    const GatewayProcess::Response hello = m_gateway->proxyGet("/hello");
    QCOMPARE(hello.status, 200);
    QVERIFY2(hello.body.contains("node-a"), hello.body.constData());
    QCOMPARE(GatewayProcess::request(m_gateway->adminPort(), "GET", "/readyz").status, 200);

    // A put is served within a bounded wait, and on disk with its revision shortly after.
    const qint64 revision = put("routes/2", route("/world"));
    QVERIFY(revision > 0);
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->proxyGet("/world").status, 200, 2000);
    QTRY_COMPARE_WITH_TIMEOUT(persistedRevision(), revision, 5000);
    const QJsonObject onDisk = *m_gateway->persistedFile();
    QVERIFY(onDisk.value(QLatin1String("config"))
                .toObject()
                .value(QLatin1String("routes"))
                .toObject()
                .contains(QLatin1String("2")));

    // The status learns of the save a moment after the file is renamed into place.
    QTRY_COMPARE_WITH_TIMEOUT(statusPersistedRevision(), revision, 5000);
    const QJsonObject status = *m_gateway->status();
    QCOMPARE(status.value(QLatin1String("live")).toObject().value(QLatin1String("revision")).toInteger(),
             revision);
    const QJsonObject persisted = status.value(QLatin1String("persisted")).toObject();
    QCOMPARE(persisted.value(QLatin1String("revision")).toInteger(), revision);
    QCOMPARE(persisted.value(QLatin1String("sha256")),
             status.value(QLatin1String("live")).toObject().value(QLatin1String("sha256")));
    QVERIFY(persisted.value(QLatin1String("error")).isNull());
    const QJsonObject controlPlane = status.value(QLatin1String("control_plane")).toObject();
    QVERIFY(controlPlane.value(QLatin1String("connected")).toBool());
    QCOMPARE(controlPlane.value(QLatin1String("endpoints")).toArray().first().toString(), m_etcd->endpoint());
    QVERIFY(!controlPlane.value(QLatin1String("last_ok")).toString().isEmpty());
    QVERIFY(status.value(QLatin1String("rejected")).toArray().isEmpty()); // consumers/ ignored quietly
    // The document is the type the console reads, with the members only a synced gateway fills.
    QString error;
    const std::optional<GatewayStatus> typed = GatewayStatus::fromJson(status, &error);
    QVERIFY2(typed, qPrintable(error));
    QCOMPARE(typed->state, GatewayStatus::State::InSync);
    QCOMPARE(typed->live.from, GatewayStatus::Origin::ControlPlane);
    QCOMPARE(typed->controlPlane.prefix, QStringLiteral("/apisix"));
    QVERIFY(!typed->controlPlane.clusterId.isEmpty());
    QCOMPARE(typed->controlPlane.ignoredKeys, 1);
    QCOMPARE(typed->toJson(), status);

    // A delete removes the route.
    const qint64 deleted = m_etcd->del("/apisix/routes/1");
    QVERIFY(deleted > 0);
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->proxyGet("/hello").status, 404, 2000);
    // The file is written after the swap; wait for it, so the metric below has a fixed target.
    QTRY_COMPARE_WITH_TIMEOUT(statusPersistedRevision(), deleted, 5000);

    const QByteArray metrics = m_gateway->admin("GET", "/metrics").body;
    QVERIFY2(metrics.contains("holdfast_sync_state{state=\"in_sync\"} 1"), metrics.constData());
    // Sample lines, not the # HELP lines that name the same metrics.
    QVERIFY2(sample(metrics, "holdfast_sync_changes_applied_total") >= 4,
             metrics.constData()); // 2 puts, 1 delete, + the full sync
    QVERIFY2(sample(metrics, "holdfast_persist_latency_seconds") >= 0, metrics.constData());
    QVERIFY2(sample(metrics, "holdfast_persist_saves_total") >= 1, metrics.constData());
    QTRY_COMPARE_WITH_TIMEOUT(
        sample(m_gateway->admin("GET", "/metrics").body, "holdfast_config_persisted_revision"),
        double(deleted), 2000);
    // The put and the delete each updated the router of the full sync rather than rebuilding it.
    QCOMPARE(sample(metrics, "holdfast_router_updates_total"), 2.0);
    QCOMPARE(sample(metrics, "holdfast_router_self_check_failures_total"), 0.0);
}

void tst_GatewaySync::invalidObjectRejectedAlone()
{
    QVERIFY(put("upstreams/1", upstream()) > 0);
    QVERIFY(put("routes/1", route("/hello")) > 0);
    QVERIFY2(m_gateway->start(m_options), qPrintable(dump()));
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->state(), QStringLiteral("in_sync"), 5000);

    const qint64 badNew = put("routes/3", "{\"uri\":42,\"upstream_id\":\"1\"}");
    const qint64 badUpdate =
        put("routes/1", "{\"uri\":\"/hello\",\"upstream_id\":\"1\",\"priority\":\"high\"}");
    const qint64 good = put("routes/4", route("/four"));
    QVERIFY(badNew > 0 && badUpdate > 0 && good > 0);
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->proxyGet("/four").status, 200, 2000);
    QCOMPARE(m_gateway->proxyGet("/hello").status, 200); // the last good version of routes/1 stays

    QJsonObject status = *m_gateway->status();
    const QJsonArray rejected = status.value(QLatin1String("rejected")).toArray();
    QCOMPARE(rejected.size(), 2);
    QCOMPARE(rejected.at(0).toObject().value(QLatin1String("key")).toString(), QStringLiteral("routes/1"));
    QCOMPARE(rejected.at(0).toObject().value(QLatin1String("revision")).toInteger(), badUpdate);
    QVERIFY(rejected.at(0)
                .toObject()
                .value(QLatin1String("reason"))
                .toString()
                .contains(QLatin1String("/priority")));
    QCOMPARE(rejected.at(1).toObject().value(QLatin1String("key")).toString(), QStringLiteral("routes/3"));
    QCOMPARE(rejected.at(1).toObject().value(QLatin1String("revision")).toInteger(), badNew);
    QVERIFY(
        rejected.at(1).toObject().value(QLatin1String("reason")).toString().contains(QLatin1String("/uri")));

    // Not persisted: the file has the good routes/1 and no routes/3.
    QTRY_COMPARE_WITH_TIMEOUT(persistedRevision(), good, 5000);
    const QJsonObject routes = m_gateway->persistedFile()
                                   ->value(QLatin1String("config"))
                                   .toObject()
                                   .value(QLatin1String("routes"))
                                   .toObject();
    QVERIFY(!routes.contains(QLatin1String("3")));
    QVERIFY(!routes.value(QLatin1String("1")).toObject().contains(QLatin1String("priority")));
    QVERIFY(routes.contains(QLatin1String("4")));

    // In sync, the local file is not applied.
    const GatewayProcess::Response reload = m_gateway->admin("POST", "/v1/reload-local");
    QCOMPARE(reload.status, 409);
    QVERIFY(reload.json().value(QLatin1String("message")).toString().contains(QLatin1String("in sync")));
}

void tst_GatewaySync::etcdDownAtStartServesLocalCopyThenCatchesUp()
{
    QVERIFY(put("upstreams/1", upstream()) > 0);
    const qint64 revision = put("routes/1", route("/hello"));
    QVERIFY2(m_gateway->start(m_options), qPrintable(dump()));
    QTRY_COMPARE_WITH_TIMEOUT(persistedRevision(), revision, 5000);
    m_gateway->stop();
    m_etcd->stop();

    QVERIFY2(m_gateway->start(m_options), qPrintable(dump()));
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->state(), QStringLiteral("offline_local"), 5000);
    QCOMPARE(m_gateway->proxyGet("/hello").status, 200);
    QCOMPARE(GatewayProcess::request(m_gateway->adminPort(), "GET", "/readyz").status, 200);
    // The status learns of the save a moment after the file is renamed into place.
    QTRY_COMPARE_WITH_TIMEOUT(statusPersistedRevision(), revision, 5000);
    const QJsonObject status = *m_gateway->status();
    QCOMPARE(status.value(QLatin1String("live")).toObject().value(QLatin1String("revision")).toInteger(),
             revision);
    QCOMPARE(status.value(QLatin1String("persisted")).toObject().value(QLatin1String("file")).toString(),
             QStringLiteral("config.json"));
    QVERIFY(
        !status.value(QLatin1String("control_plane")).toObject().value(QLatin1String("connected")).toBool());
    QVERIFY(!status.value(QLatin1String("control_plane"))
                 .toObject()
                 .value(QLatin1String("last_error"))
                 .toString()
                 .isEmpty());

    // The control plane returns with a change made meanwhile elsewhere: caught up.
    QVERIFY(m_etcd->restart());
    const qint64 later = put("routes/2", route("/later"));
    QVERIFY(later > 0);
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->state(), QStringLiteral("in_sync"), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->proxyGet("/later").status, 200, 3000);
    QCOMPARE(m_gateway->proxyGet("/hello").status, 200);
    QTRY_COMPARE_WITH_TIMEOUT(persistedRevision(), later, 2000);
}

void tst_GatewaySync::nothingToServeIsNotReadyUntilControlPlaneAnswers()
{
    QVERIFY(put("upstreams/1", upstream()) > 0);
    QVERIFY(put("routes/1", route("/hello")) > 0);
    m_etcd->stop();
    m_options.waitForControlPlaneMs = 300;
    QVERIFY2(m_gateway->start(m_options), qPrintable(dump()));
    QCOMPARE(m_gateway->state(), QStringLiteral("starting"));
    QCOMPARE(GatewayProcess::request(m_gateway->adminPort(), "GET", "/readyz").status, 503);
    QCOMPARE(m_gateway->proxyGet("/hello").status, 404);
    QVERIFY(!m_gateway->persistedFile());

    QVERIFY(m_etcd->restart());
    QTRY_COMPARE_WITH_TIMEOUT(m_gateway->state(), QStringLiteral("in_sync"), 10000);
    QCOMPARE(GatewayProcess::request(m_gateway->adminPort(), "GET", "/readyz").status, 200);
    QCOMPARE(m_gateway->proxyGet("/hello").status, 200);
}

QTEST_GUILESS_MAIN(tst_GatewaySync)
#include "tst_gatewaysync.moc"
