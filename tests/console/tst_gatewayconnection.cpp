// GatewayConnection against real holdfastd processes: live state through events, unreachable and hung
// gateways, a wrong token, resync back to in_sync, upstream health.
#include "gatewayconnection.h"
#include "hascenario.h"

#include <QDeadlineTimer>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>

class tst_GatewayConnection : public QObject
{
    Q_OBJECT

private slots:
    void followsStateChangesLive();
    void unreachableGatewayReportsWithoutBlocking();
    void hungGatewayTimesOut();
    void wrongTokenIsAnAuthError();
    void resyncReturnsToInSync();
    void upstreamsShowHealthAndConnections();

private:
    static GatewayAddress addressOf(GatewayProcess &gateway);
};

GatewayAddress tst_GatewayConnection::addressOf(GatewayProcess &gateway)
{
    GatewayAddress a;
    a.name = QStringLiteral("test");
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway.adminPort()));
    a.tokenFile = gateway.filePath(QStringLiteral("admin.token"));
    return a;
}

void tst_GatewayConnection::followsStateChangesLive()
{
    HaScenario s;
    QString startError;
    QVERIFY2(s.startSynced(&startError), qPrintable(startError));
    GatewayConnection c(addressOf(s.gateway()));
    c.setPollIntervalMs(60000); // so a change seen in time came through the event stream
    QSignalSpy events(&c, &GatewayConnection::eventReceived);
    // Every status the connection holds is one the gateway wrote, read through common/'s GatewayStatus.
    QString readError;
    QVERIFY2(GatewayStatus::fromJson(s.status(), &readError), qPrintable(readError));
    c.start();
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Following, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(c.status() && c.status()->state == GatewayStatus::State::InSync, 5000);
    QVERIFY(!c.error().isError());

    s.etcd().stop();
    QTRY_VERIFY_WITH_TIMEOUT(c.status() && c.status()->state == GatewayStatus::State::Reconnecting, 15000);
    QCOMPARE(c.link(), GatewayConnection::Link::Following);
    bool sawState = false;
    for (const QList<QVariant> &e : std::as_const(events))
        sawState = sawState || e.at(0).toString() == QLatin1String("state");
    QVERIFY(sawState);

    // A change in etcd while following: the new revision arrives without asking.
    QVERIFY(s.etcd().restart());
    QTRY_VERIFY_WITH_TIMEOUT(c.status() && c.status()->state == GatewayStatus::State::InSync, 20000);
    const qint64 before = c.status()->live.revision.value_or(0);
    const qint64 revision = s.put("routes/2", HaScenario::route("/b"));
    QVERIFY(revision > before);
    QTRY_COMPARE_WITH_TIMEOUT(c.status()->live.revision.value_or(0), revision, 5000);
    QCOMPARE(c.status()->live.counts.routes, 2);

    // The gateway goes away: the connection says so and keeps retrying; it comes back by itself.
    s.gateway().stop();
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Down, 10000);
    QCOMPARE(c.error().kind(), ConnectorError::Kind::Unreachable);
    QVERIFY(c.nextRetryAt().isValid());
    QVERIFY(s.startGateway());
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Following, 20000);
    QVERIFY(!c.error().isError());
}

void tst_GatewayConnection::unreachableGatewayReportsWithoutBlocking()
{
    GatewayAddress a;
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(TestSupport::freePort()));
    a.token = QStringLiteral("whatever");
    GatewayConnection c(a);
    c.setBackoff(100, 400);
    int ticks = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, this, [&ticks] { ++ticks; });
    ticker.start(10);
    c.start();
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Down, 5000);
    QCOMPARE(c.error().kind(), ConnectorError::Kind::Unreachable);
    QVERIFY2(c.error().message().contains(QLatin1String("refused"), Qt::CaseInsensitive),
             qPrintable(c.error().message()));
    QVERIFY(c.nextRetryAt().isValid());
    // It keeps retrying, and the event loop keeps turning meanwhile.
    QSignalSpy retries(&c, &GatewayConnection::linkChanged);
    QTRY_VERIFY_WITH_TIMEOUT(retries.count() >= 4, 5000); // Down → Connecting → Down, at least twice
    QVERIFY2(ticks > 20, qPrintable(QString::number(ticks)));
}

void tst_GatewayConnection::hungGatewayTimesOut()
{
    // Accepts connections and never answers: what a frozen process looks like from outside.
    QTcpServer hung;
    QVERIFY(hung.listen(QHostAddress::LocalHost));
    QList<QTcpSocket *> held;
    connect(&hung, &QTcpServer::newConnection, this, [&] {
        while (QTcpSocket *socket = hung.nextPendingConnection())
            held << socket;
    });
    GatewayAddress a;
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(hung.serverPort()));
    a.token = QStringLiteral("whatever");
    GatewayConnection c(a);
    c.setRequestTimeoutMs(300);
    std::optional<ConnectorError> error;
    c.fetchStatus([&](const std::optional<GatewayStatus> &, const ConnectorError &e) { error = e; });
    QTRY_VERIFY_WITH_TIMEOUT(error.has_value(), 3000);
    QCOMPARE(error->kind(), ConnectorError::Kind::Timeout);
    qDeleteAll(held);
}

void tst_GatewayConnection::wrongTokenIsAnAuthError()
{
    HaScenario s;
    QString startError;
    QVERIFY2(s.startSynced(&startError), qPrintable(startError));
    GatewayAddress a = addressOf(s.gateway());
    a.tokenFile.clear();
    a.token = QStringLiteral("not-the-token");
    GatewayConnection c(a);
    c.start();
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Down, 5000);
    QCOMPARE(c.error().kind(), ConnectorError::Kind::Auth);
    QVERIFY2(c.error().message().startsWith(QLatin1String("401")), qPrintable(c.error().message()));
    QVERIFY(!c.status());

    // A token file that cannot be read is an authentication problem too, named by its path.
    a.token.clear();
    a.tokenFile = s.gateway().filePath(QStringLiteral("no-such.token"));
    c.setAddress(a);
    QTRY_VERIFY_WITH_TIMEOUT(c.error().message().contains(QLatin1String("no-such.token")), 5000);
    QCOMPARE(c.error().kind(), ConnectorError::Kind::Auth);

    // The right token: the same connection recovers.
    c.setAddress(addressOf(s.gateway()));
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Following, 5000);
    QVERIFY(!c.error().isError());
}

void tst_GatewayConnection::resyncReturnsToInSync()
{
    HaScenario s;
    QString startError;
    QVERIFY2(s.startSynced(&startError), qPrintable(startError));
    GatewayConnection c(addressOf(s.gateway()));
    c.start();
    QTRY_COMPARE_WITH_TIMEOUT(c.link(), GatewayConnection::Link::Following, 5000);
    QSignalSpy progress(&c, &GatewayConnection::resyncProgress);
    QSignalSpy finished(&c, &GatewayConnection::resyncFinished);
    c.resync(15000);
    QVERIFY(c.resyncInProgress());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 15000);
    const ConnectorError error = finished.at(0).at(0).value<ConnectorError>();
    QVERIFY2(!error.isError(), qPrintable(error.toString()));
    QVERIFY2(finished.at(0).at(1).toString().startsWith(QLatin1String("in sync at revision")),
             qPrintable(finished.at(0).at(1).toString()));
    QVERIFY(progress.count() >= 2); // asked, accepted
    QCOMPARE(c.status()->state, GatewayStatus::State::InSync);
    // The gateway really did a full read for it.
    QTRY_VERIFY_WITH_TIMEOUT(s.gateway().output().contains("resync requested by an operator"), 2000);
    QVERIFY(s.gateway().output().contains("full sync from"));

    // Without a control plane it cannot come back in sync: the wait ends as a timeout, saying why.
    s.etcd().stop();
    QTRY_VERIFY_WITH_TIMEOUT(c.status()->state == GatewayStatus::State::Reconnecting, 15000);
    c.resync(1500);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 5000);
    QCOMPARE(finished.at(1).at(0).value<ConnectorError>().kind(), ConnectorError::Kind::Timeout);
    QVERIFY2(finished.at(1).at(1).toString().contains(QLatin1String("reconnecting")),
             qPrintable(finished.at(1).at(1).toString()));
}

void tst_GatewayConnection::upstreamsShowHealthAndConnections()
{
    HaScenario s;
    QString startError;
    QVERIFY2(s.startSynced(&startError), qPrintable(startError));
    // Upstream 2: one node that refuses (active TCP checks mark it down) and the gateway's own admin
    // port, which accepts.
    const quint16 dead = TestSupport::freePort();
    const QByteArray checked =
        QStringLiteral(R"({"type":"roundrobin","nodes":{"127.0.0.1:%1":1,"127.0.0.1:%2":2},)"
                       R"("checks":{"active":{"type":"tcp","healthy":{"interval":1,"successes":1},)"
                       R"("unhealthy":{"interval":1,"tcp_failures":1}}}})")
            .arg(dead)
            .arg(s.gateway().adminPort())
            .toUtf8();
    QVERIFY(s.put("upstreams/2", checked) > 0);
    QVERIFY(s.put("routes/2", R"({"uri":"/two","upstream_id":"2"})") > 0);
    // One proxied request leaves a keep-alive connection to upstream 1's node.
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/a"), 200, 5000);

    GatewayConnection c(addressOf(s.gateway()));
    std::optional<UpstreamsView> view;
    const auto fetch = [&] {
        view.reset();
        c.fetchUpstreams([&](const std::optional<UpstreamsView> &v, const ConnectorError &e) {
            QVERIFY2(v, qPrintable(e.toString()));
            view = v;
        });
        QTRY_VERIFY_WITH_TIMEOUT(view.has_value(), 5000);
    };
    // Nodes written as a JSON object come in key order, whatever the ports: find them by address.
    const QString deadAddress = QStringLiteral("127.0.0.1:%1").arg(dead);
    const auto node = [](const UpstreamsView::Upstream &u, const QString &address) {
        for (const UpstreamsView::Node &n : u.nodes) {
            if (n.address == address)
                return n;
        }
        return UpstreamsView::Node{};
    };
    QDeadlineTimer deadline(10000);
    for (;;) {
        fetch();
        const auto &ups = view->upstreams;
        if (ups.size() == 2 && ups[1].nodes.size() == 2 && !node(ups[1], deadAddress).healthy)
            break;
        QVERIFY2(!deadline.hasExpired(), "the dead node was never reported unhealthy");
        QTest::qWait(200); // a poll interval: the admin API has no event for a node's health
    }
    const UpstreamsView::Upstream &one = view->upstreams[0];
    QCOMPARE(one.key, QStringLiteral("upstreams/1"));
    QVERIFY(!one.activeChecks && !one.passiveChecks);
    QCOMPARE(one.nodes.size(), 1);
    QVERIFY(!one.nodes[0].checked);
    QCOMPARE(one.nodes[0].openConnections, 1);
    QCOMPARE(one.nodes[0].idleConnections, 1);
    const UpstreamsView::Upstream &two = view->upstreams[1];
    QCOMPARE(two.key, QStringLiteral("upstreams/2"));
    QVERIFY(two.activeChecks);
    const UpstreamsView::Node alive = node(two, QStringLiteral("127.0.0.1:%1").arg(s.gateway().adminPort()));
    QCOMPARE(alive.weight, 2);
    QVERIFY(alive.healthy);
    QVERIFY(alive.checked);
    QCOMPARE(node(two, deadAddress).weight, 1);
    QVERIFY(!node(two, deadAddress).healthy);
    QCOMPARE(two.healthyNodes(), 1);
}

QTEST_GUILESS_MAIN(tst_GatewayConnection)
#include "tst_gatewayconnection.moc"
