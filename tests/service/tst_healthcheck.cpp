// Node health: passive thresholds, the registry across config snapshots, and active probes of real upstreams.
#include "activehealthchecker.h"
#include "healthregistry.h"
#include "testsupport.h"
#include "upstreamhealth.h"

#include <QtTest>

#include <atomic>
#include <thread>
#include <vector>

using Outcome = UpstreamHealth::Outcome;
using Transition = UpstreamHealth::Transition;

namespace {

UpstreamNode makeNode(quint16 port)
{
    UpstreamNode node;
    node.host = "127.0.0.1";
    node.port = port;
    return node;
}

std::shared_ptr<Upstream> passiveUpstream(int nodes)
{
    auto upstream = std::make_shared<Upstream>();
    for (int i = 0; i < nodes; ++i)
        upstream->nodes.append(makeNode(quint16(20000 + i)));
    upstream->passive.enabled = true;
    upstream->passive.httpFailures = 3;
    upstream->passive.tcpFailures = 2;
    upstream->passive.timeouts = 2;
    upstream->passive.healthySuccesses = 2;
    return upstream;
}

// Fast probes so that a flip takes a few hundred milliseconds.
std::shared_ptr<Upstream> activeUpstream(const QVector<quint16> &ports, const QByteArray &type = "http")
{
    auto upstream = std::make_shared<Upstream>();
    upstream->id = QStringLiteral("1");
    for (quint16 port : ports)
        upstream->nodes.append(makeNode(port));
    ActiveHealthCheck &active = upstream->active;
    active.enabled = true;
    active.type = type;
    active.httpPath = "/status";
    active.timeout = 0.3;
    active.healthyInterval = 0.1;
    active.unhealthyInterval = 0.1;
    active.healthySuccesses = 2;
    active.httpFailures = 2;
    active.tcpFailures = 2;
    active.timeouts = 2;
    return upstream;
}

bool startUpstream(TestSupport::ManagedProcess &process, quint16 port, int status, bool hang = false)
{
    QStringList args{QStringLiteral("--port"), QString::number(port), QStringLiteral("--status"),
                     QString::number(status), QStringLiteral("--log-requests")};
    if (hang)
        args << QStringLiteral("--hang");
    return process.start(TestSupport::builtProgram(QStringLiteral("holdfast_test_upstream")), args) &&
           TestSupport::waitForPort(port);
}

// Collects the checker's signals in the test thread (they are emitted from the checker's thread).
class Recorder : public QObject
{
public:
    explicit Recorder(ActiveHealthChecker *checker)
    {
        connect(checker, &ActiveHealthChecker::nodeStateChanged, this,
                [this](const QString &key, int node, bool healthy) {
                    changes.append({key, node, healthy});
                });
        connect(checker, &ActiveHealthChecker::probeFinished, this,
                [this](const QString &, int node, bool) { ++probes[node]; });
    }
    struct Change
    {
        QString key;
        int node;
        bool healthy;
    };
    QVector<Change> changes;
    QHash<int, int> probes;
};

} // namespace

class TestHealthCheck : public QObject
{
    Q_OBJECT

private slots:
    void passiveHttpFailuresFlipNode();
    void passiveTcpFailuresAndTimeouts();
    void passiveSuccessResetsFailures();
    void passiveIgnoresUnlistedStatusesAndDisabledChecks();
    void passiveConcurrentReportsFlipOnce();

    void registryKeepsStateForUnchangedUpstream();
    void registryResetsChangedNodes();
    void registryRebuildsOnCheckChangeAndDropsRemoved();

    void activeMarksStoppedNodeDownAndRestartedUp();
    void activeHttpStatusDecides();
    void activeTcpCheck();
    void activeTimeout();
    void activeSendsPathAndHost();
    void activeFollowsRegistryUpdates();
};

void TestHealthCheck::passiveHttpFailuresFlipNode()
{
    auto upstream = passiveUpstream(2);
    UpstreamHealth health(QStringLiteral("upstreams/p"), *upstream);
    QVERIFY(health.isHealthy(0));
    QCOMPARE(health.report(0, Outcome::httpStatus(500)), Transition::None);
    QCOMPARE(health.report(0, Outcome::httpStatus(503)), Transition::None);
    QVERIFY(health.isHealthy(0));
    QCOMPARE(health.report(0, Outcome::httpStatus(429)), Transition::BecameUnhealthy);
    QVERIFY(!health.isHealthy(0));
    QVERIFY(health.isHealthy(1));
    QCOMPARE(health.healthyCount(), 1);
    // More failures while down change nothing; the success threshold brings it back.
    QCOMPARE(health.report(0, Outcome::httpStatus(500)), Transition::None);
    QCOMPARE(health.report(0, Outcome::httpStatus(200)), Transition::None);
    QVERIFY(!health.isHealthy(0));
    QCOMPARE(health.report(0, Outcome::httpStatus(204)), Transition::BecameHealthy);
    QVERIFY(health.isHealthy(0));
    // Counters restart after a flip: two failures are not enough again.
    health.report(0, Outcome::httpStatus(500));
    health.report(0, Outcome::httpStatus(500));
    QVERIFY(health.isHealthy(0));
}

void TestHealthCheck::passiveTcpFailuresAndTimeouts()
{
    auto upstream = passiveUpstream(2);
    UpstreamHealth health(QStringLiteral("upstreams/p"), *upstream);
    QCOMPARE(health.report(0, Outcome::tcpFailure()), Transition::None);
    QCOMPARE(health.report(0, Outcome::tcpFailure()), Transition::BecameUnhealthy);
    QCOMPARE(health.report(1, Outcome::timeout()), Transition::None);
    // Failure kinds count separately: one timeout and one TCP failure trip neither threshold.
    QCOMPARE(health.report(1, Outcome::tcpFailure()), Transition::None);
    QVERIFY(health.isHealthy(1));
    QCOMPARE(health.report(1, Outcome::timeout()), Transition::BecameUnhealthy);
    // Out-of-range nodes are ignored rather than crashing a worker.
    QCOMPARE(health.report(7, Outcome::timeout()), Transition::None);
    QCOMPARE(health.report(-1, Outcome::timeout()), Transition::None);
}

void TestHealthCheck::passiveSuccessResetsFailures()
{
    auto upstream = passiveUpstream(1);
    UpstreamHealth health(QStringLiteral("upstreams/p"), *upstream);
    for (int round = 0; round < 10; ++round) {
        health.report(0, Outcome::httpStatus(500));
        health.report(0, Outcome::httpStatus(500));
        health.report(0, Outcome::httpStatus(200)); // consecutive failures only
    }
    QVERIFY(health.isHealthy(0));
    // Likewise a failure in between restarts the success count of a down node.
    for (int i = 0; i < 3; ++i)
        health.report(0, Outcome::httpStatus(500));
    QVERIFY(!health.isHealthy(0));
    health.report(0, Outcome::httpStatus(200));
    health.report(0, Outcome::httpStatus(500));
    health.report(0, Outcome::httpStatus(200));
    QVERIFY(!health.isHealthy(0));
    health.report(0, Outcome::httpStatus(200));
    QVERIFY(health.isHealthy(0));
}

void TestHealthCheck::passiveIgnoresUnlistedStatusesAndDisabledChecks()
{
    auto upstream = passiveUpstream(1);
    UpstreamHealth health(QStringLiteral("upstreams/p"), *upstream);
    for (int i = 0; i < 10; ++i)
        QCOMPARE(health.report(0, Outcome::httpStatus(404)), Transition::None); // in neither list
    QVERIFY(health.isHealthy(0));

    upstream->passive.enabled = false;
    UpstreamHealth off(QStringLiteral("upstreams/q"), *upstream);
    for (int i = 0; i < 10; ++i)
        off.report(0, Outcome::httpStatus(500));
    QVERIFY(off.isHealthy(0));
    // Active probes still count when only passive checks are off.
    QCOMPARE(off.reportProbe(0, Outcome::tcpFailure()), Transition::None);
    QCOMPARE(off.reportProbe(0, Outcome::tcpFailure()), Transition::BecameUnhealthy);
}

void TestHealthCheck::passiveConcurrentReportsFlipOnce()
{
    // Workers report at once without a lock: the counts must still be exact, and the flip reported once.
    const int threads = 4;
    const int perThread = 2000;
    auto upstream = passiveUpstream(1);
    upstream->passive.httpFailures = threads * perThread;
    UpstreamHealth health(QStringLiteral("upstreams/c"), *upstream);
    std::atomic<int> flips{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < perThread; ++i) {
                if (health.report(0, Outcome::httpStatus(500)) == Transition::BecameUnhealthy)
                    ++flips;
            }
        });
    }
    for (std::thread &worker : workers)
        worker.join();
    QCOMPARE(flips.load(), 1);
    QVERIFY(!health.isHealthy(0));
}

void TestHealthCheck::registryKeepsStateForUnchangedUpstream()
{
    HealthRegistry registry;
    auto upstream = passiveUpstream(2);
    const QString key = QStringLiteral("upstreams/1");
    HealthMapPtr first = registry.update({{key, upstream}});
    auto health = first->value(key);
    QVERIFY(health);
    for (int i = 0; i < 3; ++i)
        health->report(1, Outcome::httpStatus(500));
    QVERIFY(!health->isHealthy(1));

    // A new snapshot: the same upstream as a new object, a new unrelated upstream, a changed weight.
    auto same = std::make_shared<Upstream>(*upstream);
    same->nodes[0].weight = 9;
    same->timeout.read = 5;
    auto other = passiveUpstream(1);
    HealthMapPtr second = registry.update({{key, same}, {QStringLiteral("upstreams/2"), other}});
    QCOMPARE(second->value(key), health);
    QVERIFY(!second->value(key)->isHealthy(1));
    QCOMPARE(registry.health(key), health);
    QCOMPARE(registry.current(), second);
}

void TestHealthCheck::registryResetsChangedNodes()
{
    HealthRegistry registry;
    auto upstream = passiveUpstream(3); // ports 20000, 20001, 20002
    const QString key = QStringLiteral("upstreams/1");
    auto health = registry.update({{key, upstream}})->value(key);
    for (int node = 0; node < 3; ++node) {
        for (int i = 0; i < 3; ++i)
            health->report(node, Outcome::httpStatus(500));
    }
    QCOMPARE(health->healthyCount(), 0);

    // Node 20001 replaced by 20009, node 20002 moved to the front.
    auto changed = std::make_shared<Upstream>(*upstream);
    changed->nodes = {makeNode(20002), makeNode(20000), makeNode(20009)};
    auto rebuilt = registry.update({{key, changed}})->value(key);
    QVERIFY(rebuilt != health);
    QCOMPARE(rebuilt->nodeCount(), 3);
    QVERIFY(!rebuilt->isHealthy(0)); // 20002 kept its state at its new index
    QVERIFY(!rebuilt->isHealthy(1)); // 20000 too
    QVERIFY(rebuilt->isHealthy(2));  // 20009 is new: starts healthy
    // The old object is left as it was for requests still running on the old snapshot.
    QCOMPARE(health->healthyCount(), 0);
}

void TestHealthCheck::registryRebuildsOnCheckChangeAndDropsRemoved()
{
    HealthRegistry registry;
    const QString key = QStringLiteral("routes/5");
    auto upstream = passiveUpstream(1);
    auto health = registry.update({{key, upstream}})->value(key);

    auto stricter = std::make_shared<Upstream>(*upstream);
    stricter->passive.httpFailures = 1;
    auto rebuilt = registry.update({{key, stricter}})->value(key);
    QVERIFY(rebuilt && rebuilt != health);
    QCOMPARE(rebuilt->report(0, Outcome::httpStatus(500)), Transition::BecameUnhealthy); // new threshold

    auto unchecked = std::make_shared<Upstream>(*upstream);
    unchecked->passive.enabled = false;
    HealthMapPtr map = registry.update({{key, unchecked}});
    QVERIFY(!map->contains(key)); // nothing to track
    QVERIFY(!registry.health(key));

    registry.update({{key, upstream}});
    QVERIFY(registry.update({})->isEmpty());
    QVERIFY(!registry.health(key));
}

void TestHealthCheck::activeMarksStoppedNodeDownAndRestartedUp()
{
    const quint16 port1 = TestSupport::freePort();
    const quint16 port2 = TestSupport::freePort();
    TestSupport::ManagedProcess up1, up2;
    QVERIFY(startUpstream(up1, port1, 200));
    QVERIFY(startUpstream(up2, port2, 200));

    HealthRegistry registry;
    const QString key = QStringLiteral("upstreams/1");
    auto health = registry.update({{key, activeUpstream({port1, port2})}})->value(key);
    ActiveHealthChecker checker;
    Recorder recorder(&checker);
    checker.setTargets(registry.current());

    QTRY_VERIFY_WITH_TIMEOUT(recorder.probes.value(0) >= 3 && recorder.probes.value(1) >= 3, 5000);
    QVERIFY(health->isHealthy(0) && health->isHealthy(1));
    QVERIFY(recorder.changes.isEmpty());

    up1.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!health->isHealthy(0), 5000);
    QVERIFY(health->isHealthy(1));
    QTRY_COMPARE_WITH_TIMEOUT(recorder.changes.size(), 1, 2000);
    QCOMPARE(recorder.changes.at(0).key, key);
    QCOMPARE(recorder.changes.at(0).node, 0);
    QCOMPARE(recorder.changes.at(0).healthy, false);

    QVERIFY(startUpstream(up1, port1, 200));
    QTRY_VERIFY_WITH_TIMEOUT(health->isHealthy(0), 5000);
    QTRY_COMPARE_WITH_TIMEOUT(recorder.changes.size(), 2, 2000);
    QCOMPARE(recorder.changes.at(1).healthy, true);
    QVERIFY(health->isHealthy(1));
}

void TestHealthCheck::activeHttpStatusDecides()
{
    const quint16 port = TestSupport::freePort();
    TestSupport::ManagedProcess upstreamProcess;
    QVERIFY(startUpstream(upstreamProcess, port, 500));

    HealthRegistry registry;
    const QString key = QStringLiteral("upstreams/1");
    auto health = registry.update({{key, activeUpstream({port})}})->value(key);
    ActiveHealthChecker checker;
    checker.setTargets(registry.current());
    QTRY_VERIFY_WITH_TIMEOUT(!health->isHealthy(0), 5000); // accepting connections, answering 500

    upstreamProcess.stop();
    QVERIFY(startUpstream(upstreamProcess, port, 200));
    QTRY_VERIFY_WITH_TIMEOUT(health->isHealthy(0), 5000);
}

void TestHealthCheck::activeTcpCheck()
{
    const quint16 port = TestSupport::freePort();
    TestSupport::ManagedProcess upstreamProcess;
    // A tcp check only connects: a node answering 500 to HTTP is still up for it.
    QVERIFY(startUpstream(upstreamProcess, port, 500));

    HealthRegistry registry;
    const QString key = QStringLiteral("upstreams/1");
    auto health = registry.update({{key, activeUpstream({port}, "tcp")}})->value(key);
    ActiveHealthChecker checker;
    Recorder recorder(&checker);
    checker.setTargets(registry.current());
    QTRY_VERIFY_WITH_TIMEOUT(recorder.probes.value(0) >= 4, 5000);
    QVERIFY(health->isHealthy(0));
    QVERIFY(!upstreamProcess.output().contains("REQUEST")); // it never sent a request

    upstreamProcess.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!health->isHealthy(0), 5000);
    QVERIFY(startUpstream(upstreamProcess, port, 500));
    QTRY_VERIFY_WITH_TIMEOUT(health->isHealthy(0), 5000);
}

void TestHealthCheck::activeTimeout()
{
    const quint16 port = TestSupport::freePort();
    TestSupport::ManagedProcess upstreamProcess;
    QVERIFY(startUpstream(upstreamProcess, port, 200, true)); // accepts, reads, never answers

    HealthRegistry registry;
    const QString key = QStringLiteral("upstreams/1");
    auto upstream = activeUpstream({port});
    upstream->active.timeout = 0.2;
    upstream->active.tcpFailures = 0; // only the timeout threshold can trip
    upstream->active.httpFailures = 0;
    auto health = registry.update({{key, upstream}})->value(key);
    ActiveHealthChecker checker;
    checker.setTargets(registry.current());
    QTRY_VERIFY_WITH_TIMEOUT(!health->isHealthy(0), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(upstreamProcess.output().contains("REQUEST GET /status"), 5000);
}

void TestHealthCheck::activeSendsPathAndHost()
{
    const quint16 port1 = TestSupport::freePort();
    const quint16 port2 = TestSupport::freePort();
    TestSupport::ManagedProcess up1, up2;
    QVERIFY(startUpstream(up1, port1, 200));
    QVERIFY(startUpstream(up2, port2, 200));

    HealthRegistry registry;
    auto withHost = activeUpstream({port1});
    withHost->active.httpPath = "/ping?deep=1";
    withHost->active.host = "health.example";
    auto withoutHost = activeUpstream({port2});
    registry.update(
        {{QStringLiteral("upstreams/a"), withHost}, {QStringLiteral("upstreams/b"), withoutHost}});
    ActiveHealthChecker checker;
    checker.setTargets(registry.current());

    QTRY_VERIFY_WITH_TIMEOUT(
        up1.output().contains("REQUEST GET /ping?deep=1 HTTP/1.0 | Host: health.example\n"), 5000);
    const QByteArray expected =
        "REQUEST GET /status HTTP/1.0 | Host: 127.0.0.1:" + QByteArray::number(port2) + '\n';
    QTRY_VERIFY_WITH_TIMEOUT(up2.output().contains(expected), 5000);
}

void TestHealthCheck::activeFollowsRegistryUpdates()
{
    const quint16 port = TestSupport::freePort();
    const quint16 spare = TestSupport::freePort();
    TestSupport::ManagedProcess upstreamProcess;
    QVERIFY(startUpstream(upstreamProcess, port, 200));

    HealthRegistry registry;
    const QString key = QStringLiteral("upstreams/1");
    // Node `spare` has no process behind it: it goes down and must stay down across an update that
    // leaves the upstream as it is.
    auto health = registry.update({{key, activeUpstream({port, spare})}})->value(key);
    ActiveHealthChecker checker;
    Recorder recorder(&checker);
    checker.setTargets(registry.current());
    QTRY_VERIFY_WITH_TIMEOUT(!health->isHealthy(1), 5000);

    checker.setTargets(registry.update({{key, activeUpstream({port, spare})}}));
    QCOMPARE(registry.health(key), health);
    const int probesBefore = recorder.probes.value(0);
    QTRY_VERIFY_WITH_TIMEOUT(recorder.probes.value(0) >= probesBefore + 3, 5000);
    QVERIFY(!health->isHealthy(1));
    QCOMPARE(recorder.changes.size(), 1); // no reset, no flapping

    // The dead node is dropped from the upstream: probing follows the new health object, which has only
    // the live node.
    auto next = registry.update({{key, activeUpstream({port})}})->value(key);
    QVERIFY(next != health);
    checker.setTargets(registry.current());
    QTRY_VERIFY_WITH_TIMEOUT(recorder.probes.value(0) >= probesBefore + 6, 5000);
    const int probesOfOld = recorder.probes.value(1);
    QTRY_VERIFY_WITH_TIMEOUT(recorder.probes.value(0) >= probesBefore + 9, 5000);
    QVERIFY(next->isHealthy(0));
    QCOMPARE(recorder.probes.value(1), probesOfOld); // the removed node is no longer probed

    // No upstream left to check: probing stops.
    checker.setTargets(registry.update({}));
    // A witness probes the same node on the same 0.1 s schedule. Its first finished probe comes after the
    // emptied targets reached the checker (set earlier) and after a probe the checker had running is over;
    // three more of its probes span three intervals in which the checker would have probed again.
    HealthRegistry witnessRegistry;
    witnessRegistry.update({{key, activeUpstream({port})}});
    ActiveHealthChecker witness;
    Recorder witnessed(&witness);
    witness.setTargets(witnessRegistry.current());
    QTRY_VERIFY_WITH_TIMEOUT(witnessed.probes.value(0) >= 1, 5000);
    const int settled = recorder.probes.value(0);
    QTRY_VERIFY_WITH_TIMEOUT(witnessed.probes.value(0) >= 4, 5000);
    QCOMPARE(recorder.probes.value(0), settled);
}

QTEST_GUILESS_MAIN(TestHealthCheck)
#include "tst_healthcheck.moc"
