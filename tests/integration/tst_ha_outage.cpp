// holdfastd while its etcd fails at runtime: down, hung, compacted while away, rebuilt as a new cluster.
#include "hascenario.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QtTest>

class tst_HaOutage : public QObject
{
    Q_OBJECT

private slots:
    void etcdDownAtRuntimeFailsNoRequest();
    void hungEtcdDetectedAndRecovered();
    void compactionWhileDisconnectedResyncsInFull();
    void freshClusterWithLowerRevisionsResyncsInFull();
};

namespace {

QString state(const HaScenario &s)
{
    return s.status().value(QLatin1String("state")).toString();
}

bool connected(const HaScenario &s)
{
    return HaScenario::at(s.status(), QStringLiteral("control_plane/connected")).toBool();
}

} // namespace

void tst_HaOutage::etcdDownAtRuntimeFailsNoRequest()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    QVERIFY(s.put("routes/1", HaScenario::route("/hello")) > 0);
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 5000);

    s.startTraffic("/hello");
    QTRY_VERIFY_WITH_TIMEOUT(s.trafficRequests() >= 20, 5000);
    s.etcd().kill();
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("reconnecting"), 10000);
    const QJsonObject down = s.status();
    QVERIFY(!HaScenario::at(down, QStringLiteral("control_plane/connected")).toBool());
    QVERIFY(!HaScenario::at(down, QStringLiteral("control_plane/last_error")).toString().isEmpty());
    QCOMPARE(HaScenario::at(down, QStringLiteral("live/from")).toString(), QStringLiteral("control_plane"));
    // Serving goes on from memory through the outage, while the gateway keeps trying.
    const int atOutage = s.trafficRequests();
    QTRY_VERIFY_WITH_TIMEOUT(s.trafficRequests() >= atOutage + 100, 20000);
    QCOMPARE(state(s), QStringLiteral("reconnecting"));

    QVERIFY2(s.etcd().restart(), qPrintable(s.etcd().lastError()));
    const qint64 later = s.put("routes/2", HaScenario::route("/later"));
    QVERIFY(later > 0);
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/later"), 200, 3000);
    QVERIFY(connected(s));
    const int atReturn = s.trafficRequests();
    QTRY_VERIFY_WITH_TIMEOUT(s.trafficRequests() >= atReturn + 20, 5000);

    const HaScenario::Traffic traffic = s.stopTraffic();
    QVERIFY2(traffic.failures == 0, qPrintable(QStringLiteral("%1 of %2 requests failed; first: %3")
                                                   .arg(traffic.failures)
                                                   .arg(traffic.requests)
                                                   .arg(traffic.firstFailure)));
    QVERIFY(traffic.requests >= 140);
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), later, 2000);
}

void tst_HaOutage::hungEtcdDetectedAndRecovered()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    // Production-sized patience: a watch silent for 8 s is probed, a probe unanswered for 5 s fails. (The
    // bootstrap defaults, 10 s + 5 s, put the worst case at exactly 15 s, with no margin at all.)
    s.options().timeoutMs = 5000;
    s.options().livenessMs = 8000;
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    QVERIFY(s.put("routes/1", HaScenario::route("/hello")) > 0);
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 5000);

    s.startTraffic("/hello");
    // A change just before the hang: the watch has spoken last right now, the worst case for detection.
    QVERIFY(s.put("routes/2", HaScenario::route("/two")) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/two"), 200, 2000);
    QVERIFY(s.etcd().pause());
    QElapsedTimer hung;
    hung.start();
    QTRY_VERIFY_WITH_TIMEOUT(!connected(s), 15000);
    const qint64 detectedAfterMs = hung.elapsed();
    qInfo() << "hung etcd detected after" << detectedAfterMs << "ms";
    QVERIFY2(detectedAfterMs <= 15000, qPrintable(QString::number(detectedAfterMs)));
    QCOMPARE(state(s), QStringLiteral("reconnecting"));
    QVERIFY(!HaScenario::at(s.status(), QStringLiteral("control_plane/last_error")).toString().isEmpty());
    const int atDetection = s.trafficRequests();
    QTRY_VERIFY_WITH_TIMEOUT(s.trafficRequests() >= atDetection + 20, 5000);

    QVERIFY(s.etcd().resume());
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 15000);
    QVERIFY(connected(s));
    const qint64 after = s.put("routes/3", HaScenario::route("/three"));
    QVERIFY(after > 0);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/three"), 200, 3000);

    const HaScenario::Traffic traffic = s.stopTraffic();
    QVERIFY2(traffic.failures == 0, qPrintable(QStringLiteral("%1 of %2 requests failed; first: %3")
                                                   .arg(traffic.failures)
                                                   .arg(traffic.requests)
                                                   .arg(traffic.firstFailure)));
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), after, 2000);
}

void tst_HaOutage::compactionWhileDisconnectedResyncsInFull()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    QVERIFY(s.put("routes/1", HaScenario::route("/hello")) > 0);
    QVERIFY(s.put("routes/2", HaScenario::route("/gone")) > 0);
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 5000);
    QCOMPARE(s.proxyStatus("/gone"), 200);
    const double fullSyncs = s.metric("holdfast_sync_full_syncs_total");
    QCOMPARE(fullSyncs, 1.0);

    // etcd goes down; the gateway, frozen, cannot reconnect before the history it would resume from is
    // compacted away: the key deleted meanwhile exists in no event any more.
    s.etcd().kill();
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("reconnecting"), 10000);
    QVERIFY(s.pauseGateway());
    QVERIFY2(s.etcd().restart(), qPrintable(s.etcd().lastError()));
    QVERIFY(s.del("routes/2") > 0);
    const qint64 revision = s.put("routes/3", HaScenario::route("/new"));
    QVERIFY(revision > 0);
    QVERIFY2(s.etcd().compact(revision), qPrintable(s.etcd().lastError()));
    QVERIFY(s.resumeGateway());

    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/new"), 200, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/gone"), 404, 3000);
    QCOMPARE(s.proxyStatus("/hello"), 200);
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 5000);
    QCOMPARE(HaScenario::at(s.status(), QStringLiteral("live/revision")).toInteger(), revision);
    QCOMPARE(s.metric("holdfast_sync_full_syncs_total"), fullSyncs + 1);
    // The log reaches us through a pipe: wait for the line rather than read what arrived so far.
    QTRY_VERIFY2_WITH_TIMEOUT(s.gateway().output().contains("compacted"), qPrintable(s.dump()), 5000);

    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), revision, 2000);
    const QJsonObject routes =
        HaScenario::at(*s.gateway().persistedFile(), QStringLiteral("config/routes")).toObject();
    QCOMPARE(routes.keys(), (QStringList{QStringLiteral("1"), QStringLiteral("3")}));
}

void tst_HaOutage::freshClusterWithLowerRevisionsResyncsInFull()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    QVERIFY(s.put("routes/1", HaScenario::route("/old")) > 0);
    qint64 oldRevision = 0;
    for (int i = 0; i < 30; ++i) // history the new cluster will not have
        oldRevision = s.put("consumers/c" + QByteArray::number(i), "{\"username\":\"c\"}");
    QVERIFY(oldRevision > 30);
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 5000);
    QCOMPARE(HaScenario::at(s.status(), QStringLiteral("live/revision")).toInteger(), oldRevision);
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), oldRevision, 2000);
    const QString oldCluster =
        HaScenario::at(s.status(), QStringLiteral("control_plane/cluster_id")).toString();
    QVERIFY(!oldCluster.isEmpty());

    // The control plane is rebuilt on the same address: revisions start from 1 again, routes/1 is gone.
    QVERIFY2(s.etcd().startFreshCluster(), qPrintable(s.etcd().lastError()));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    const qint64 fresh = s.put("routes/3", HaScenario::route("/fresh"));
    QVERIFY(fresh > 0 && fresh < oldRevision);

    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/fresh"), 200, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/old"), 404, 3000);
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 5000);
    const QJsonObject status = s.status();
    QCOMPARE(HaScenario::at(status, QStringLiteral("live/revision")).toInteger(), fresh);
    QCOMPARE(HaScenario::at(status, QStringLiteral("live/counts/routes")).toInt(), 1);
    const QString newCluster = HaScenario::at(status, QStringLiteral("control_plane/cluster_id")).toString();
    QVERIFY(!newCluster.isEmpty() && newCluster != oldCluster);
    QCOMPARE(HaScenario::at(status, QStringLiteral("control_plane/ignored_keys")).toInt(), 0);

    // The lower revision is persisted too: the file follows the cluster, not the larger number.
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), fresh, 2000);
    const QJsonObject routes =
        HaScenario::at(*s.gateway().persistedFile(), QStringLiteral("config/routes")).toObject();
    QCOMPARE(routes.keys(), QStringList{QStringLiteral("3")});
}

QTEST_GUILESS_MAIN(tst_HaOutage)
#include "tst_ha_outage.moc"
