// holdfastd killed (SIGKILL) at random moments while etcd changes fast: every local copy it leaves loads.
#include "configstore.h"
#include "hascenario.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QTcpSocket>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <thread>

class tst_HaCrash : public QObject
{
    Q_OBJECT

private slots:
    void killedDuringUpdateStormLeavesLoadableCopies();
};

namespace {

// One put through etcd's JSON gateway, on its own connection: the storm runs on a thread of its own and
// EtcdProcess is not shared across threads. The revision it made, or -1.
qint64 stormPut(quint16 port, const QByteArray &key, const QByteArray &value)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(2000))
        return -1;
    const QByteArray body = "{\"key\":\"" + key.toBase64() + "\",\"value\":\"" + value.toBase64() + "\"}";
    socket.write("POST /v3/kv/put HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: " +
                 QByteArray::number(body.size()) + "\r\n\r\n" + body);
    QByteArray answer;
    while (socket.state() == QAbstractSocket::ConnectedState && socket.waitForReadyRead(2000))
        answer += socket.readAll();
    answer += socket.readAll();
    const QJsonObject json = QJsonDocument::fromJson(answer.mid(answer.indexOf("\r\n\r\n") + 4)).object();
    return json.value(QLatin1String("header"))
        .toObject()
        .value(QLatin1String("revision"))
        .toString()
        .toLongLong(nullptr);
}

} // namespace

void tst_HaCrash::killedDuringUpdateStormLeavesLoadableCopies()
{
    QLoggingCategory::setFilterRules(QStringLiteral("holdfast.store.info=false")); // a line per load
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    for (int i = 0; i < 20; ++i)
        QVERIFY(s.put("routes/r" + QByteArray::number(i), HaScenario::route("/r" + QByteArray::number(i))) >
                0);
    // Short waits, so each cycle is short and most kills land in a sync or a save.
    s.options().waitForControlPlaneMs = 500;

    std::atomic<bool> stop{false};
    std::atomic<qint64> stormRevision{0};
    std::atomic<int> stormFailures{0};
    const quint16 etcdPort = s.etcd().clientPort();
    std::thread storm([&] {
        for (int i = 0; !stop.load(); ++i) {
            const QByteArray n = QByteArray::number(i);
            const qint64 revision = i % 7 == 6
                                        ? stormPut(etcdPort, "/apisix/routes/r" + QByteArray::number(i % 20),
                                                   HaScenario::route("/r" + QByteArray::number(i % 20)))
                                        : stormPut(etcdPort, "/apisix/routes/s" + QByteArray::number(i % 40),
                                                   HaScenario::route("/storm/" + n));
            if (revision > 0)
                stormRevision = revision;
            else
                ++stormFailures;
        }
    });
    const auto stopStorm = qScopeGuard([&] {
        stop = true;
        storm.join();
    });

    const int cycles = 50;
    qint64 lastRevision = -1;
    int cyclesWithFile = 0;
    int revisionsSeen = 0;
    QElapsedTimer clock;
    clock.start();
    for (int cycle = 0; cycle < cycles; ++cycle) {
        QVERIFY2(s.startGateway(), qPrintable(QStringLiteral("cycle %1: %2").arg(cycle).arg(s.dump())));
        // The random moment is the point of the test, not a wait for some condition.
        QThread::msleep(QRandomGenerator::global()->bounded(0, 300));
        s.gateway().kill();

        ConfigStore store(s.gateway().dataDir());
        qint64 currentRevision = -1;
        for (const char *name : {ConfigStore::CurrentFile, ConfigStore::PreviousFile}) {
            QFile file(s.gateway().filePath(QLatin1String(name)));
            if (!file.exists())
                continue;
            QVERIFY(file.open(QIODevice::ReadOnly));
            QStringList errors;
            bool envelope = false;
            const auto loaded = ConfigStore::parse(file.readAll(), &errors, &envelope);
            QVERIFY2(loaded && envelope,
                     qPrintable(QStringLiteral("cycle %1: %2 does not load: %3")
                                    .arg(cycle)
                                    .arg(QLatin1String(name), errors.join(QLatin1String("; ")))));
            QVERIFY2(!loaded->edited, qPrintable(QStringLiteral("cycle %1: %2 digest does not match")
                                                     .arg(cycle)
                                                     .arg(QLatin1String(name))));
            if (name == ConfigStore::CurrentFile)
                currentRevision = loaded->revision;
            else
                QVERIFY2(loaded->revision <= currentRevision,
                         qPrintable(QStringLiteral(
                                        "cycle %1: config.prev.json at %2 is newer than config.json at %3")
                                        .arg(cycle)
                                        .arg(loaded->revision)
                                        .arg(currentRevision)));
        }
        // What a restart would load: the newest generation, never an older one while it is intact.
        const ConfigStore::LoadResult load = store.load();
        if (currentRevision >= 0) {
            QVERIFY(load.config);
            QCOMPARE(load.config->file, QLatin1String(ConfigStore::CurrentFile));
            ++cyclesWithFile;
        } else {
            QVERIFY2(lastRevision < 0,
                     qPrintable(QStringLiteral("cycle %1: config.json vanished").arg(cycle)));
        }
        QVERIFY2(currentRevision >= lastRevision,
                 qPrintable(QStringLiteral("cycle %1: revision went back from %2 to %3")
                                .arg(cycle)
                                .arg(lastRevision)
                                .arg(currentRevision)));
        if (currentRevision > lastRevision)
            ++revisionsSeen;
        lastRevision = currentRevision;
    }
    qInfo() << cycles << "kills in" << clock.elapsed() << "ms;" << cyclesWithFile << "left a config.json,"
            << revisionsSeen << "distinct revisions, last" << lastRevision << "; etcd at"
            << stormRevision.load();
    QCOMPARE(stormFailures.load(), 0);
    // The storm kept the gateway saving: killed gateways made progress on disk between kills.
    QVERIFY(cyclesWithFile >= cycles - 5);
    QVERIFY(revisionsSeen >= cycles / 3);

    // And the last copy serves: the gateway comes up from it with etcd gone.
    stop = true;
    s.etcd().kill();
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(s.status().value(QLatin1String("state")).toString(),
                              QStringLiteral("offline_local"), 5000);
    QCOMPARE(HaScenario::at(s.status(), QStringLiteral("live/revision")).toInteger(), lastRevision);
    QCOMPARE(s.proxyStatus("/r0"), 200);
}

QTEST_GUILESS_MAIN(tst_HaCrash)
#include "tst_ha_crash.moc"
