// EtcdSource against a real etcd: full sync (gRPC and JSON), watch, compaction, rebuilt clusters, outages,
// auth.
#include "etcdprocess.h"
#include "etcdsource.h"
#include "etcdtestsettings.h"
#include "nginxproxy.h"
#include "testsupport.h"

#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QMap>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <tuple>

Q_DECLARE_METATYPE(EtcdSettings::FullSyncTransport)

namespace {

// What a caller of the source would hold: the snapshot, with every change applied on top.
struct Recorder
{
    QMap<QString, QByteArray> objects;
    QList<qint64> snapshotRevisions;
    QList<QList<SourceObject>> snapshots;
    QList<SourceEvent> events;
    QList<qint64> changeRevisions;
    QList<SourceStatus> statuses;

    // The parts of the full sync in progress and their revision.
    QList<SourceObject> parts;
    qint64 partsRevision = 0;
    int partsSeen = 0;

    void attach(EtcdSource *source)
    {
        QObject::connect(source, &ConfigSource::snapshotStarted, source, [this] {
            parts.clear();
            partsRevision = 0;
        });
        QObject::connect(source, &ConfigSource::snapshotPart, source,
                         [this](qint64 revision, const QList<SourceObject> &list) {
                             QVERIFY(parts.isEmpty() || revision == partsRevision);
                             partsRevision = revision;
                             parts.append(list);
                             ++partsSeen;
                         });
        QObject::connect(source, &ConfigSource::snapshotLoaded, source,
                         [this](qint64 revision, const QList<SourceObject> &list) {
                             QVERIFY(parts.isEmpty() || revision == partsRevision);
                             const QList<SourceObject> all = std::exchange(parts, {}) + list;
                             snapshotRevisions.append(revision);
                             snapshots.append(all);
                             objects.clear();
                             for (const SourceObject &o : all)
                                 objects.insert(o.key, o.value);
                         });
        QObject::connect(source, &ConfigSource::changesArrived, source,
                         [this](qint64 revision, const QList<SourceEvent> &list) {
                             changeRevisions.append(revision);
                             for (const SourceEvent &e : list) {
                                 events.append(e);
                                 if (e.type == SourceEvent::Type::Put)
                                     objects.insert(e.key, e.value);
                                 else
                                     objects.remove(e.key);
                             }
                         });
        QObject::connect(source, &ConfigSource::statusChanged, source,
                         [this](const SourceStatus &status) { statuses.append(status); });
    }

    int retriesScheduled() const
    {
        return int(std::count_if(statuses.cbegin(), statuses.cend(),
                                 [](const SourceStatus &s) { return s.retryInMs > 0; }));
    }
};

QByteArray route(int i)
{
    return QStringLiteral("{\"id\":\"%1\",\"uri\":\"/r/%1\",\"upstream_id\":\"1\"}").arg(i).toUtf8();
}

QStringList g_logLines;

void captureMessage(QtMsgType, const QMessageLogContext &, const QString &message)
{
    g_logLines.append(message);
}

// Captures every message while it lives (g_logLines cleared first).
struct LogCapture
{
    QtMessageHandler previous;
    LogCapture()
    {
        g_logLines.clear();
        previous = qInstallMessageHandler(captureMessage);
    }
    ~LogCapture()
    {
        qInstallMessageHandler(previous);
        // What the source said is the first thing to read when a test failed.
        if (QTest::currentTestFailed())
            qWarning().noquote() << "captured log:\n" << g_logLines.join(QLatin1Char('\n'));
    }
    LogCapture(const LogCapture &) = delete;
    LogCapture &operator=(const LogCapture &) = delete;
};

qsizetype linesWith(const QString &text)
{
    return std::count_if(g_logLines.cbegin(), g_logLines.cend(),
                         [&](const QString &line) { return line.contains(text); });
}

const QString OverGrpc = QStringLiteral("page(s) from %1 over gRPC");
const QString OverJson = QStringLiteral("page(s) from %1 through the JSON gateway");

} // namespace

class TstEtcdSource : public QObject
{
    Q_OBJECT

private slots:
    void fullSyncReadsAllPagesAtOneRevision();
    void fullSyncOverGrpcMatchesJsonGateway();
    void fullSyncRestartsWhenCompactedBetweenPages_data();
    void fullSyncRestartsWhenCompactedBetweenPages();
    void fallsBackToJsonGatewayBehindHttp11Proxy();
    void watchDeliversPutsAndDeletesInOrder();
    void compactionWhileDisconnectedTriggersFullResync();
    void freshClusterWithLowerRevisionsTriggersFullResync();
    void requestResyncReadsEverythingAgain();
    void hungEtcdIsDetectedWithinFifteenSecondsAndRecovers();
    void usesSecondEndpointWhenFirstIsDead();
    void reconnectsWithBackoffAfterEtcdRestart();
    void authenticatesWithUsernameAndPassword();
    void connectsOverTlsWithClientCertificate();
    void answersOverTheSizeCapFail();
    void credentialsOverPlainHttpWarn();
    void unreadableTlsFileIsAStartupError();
};

void TstEtcdSource::fullSyncReadsAllPagesAtOneRevision()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    for (int i = 0; i < 60; ++i)
        QVERIFY(etcd.put("/apisix/routes/" + QByteArray::number(i), route(i)) > 0);
    for (int i = 0; i < 25; ++i)
        QVERIFY(etcd.put("/apisix/upstreams/" + QByteArray::number(i), "{\"nodes\":{\"127.0.0.1:1\":1}}") >
                0);
    for (int i = 0; i < 15; ++i)
        QVERIFY(etcd.put("/apisix/services/" + QByteArray::number(i), "{}") > 0);
    QVERIFY(etcd.put("/apisix/routes", "init_dir") > 0); // what older `apisix init_etcd` writes
    QVERIFY(etcd.put("/apisixfoo/routes/1", route(1)) > 0);
    QVERIFY(etcd.put("/other/routes/1", route(1)) > 0);
    const qint64 before = etcd.currentRevision();

    EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
    settings.pageLimit = 7;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    QList<qint64> pageRevisions;
    connect(&source, &EtcdSource::fullSyncProgress, this, [&](qint64 revision, int pages, int) {
        pageRevisions.append(revision);
        if (pages == 1) {
            // Writes between pages must not leak into the snapshot: later pages read at `before`.
            QVERIFY(etcd.put("/apisix/routes/new", route(999)) > 0);
            QVERIFY(etcd.put("/apisix/upstreams/9", "{\"changed\":true}") > 0);
            QVERIFY(etcd.del("/apisix/services/3") > 0);
        }
    });
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);

    QCOMPARE(rec.snapshotRevisions.first(), before);
    QCOMPARE(pageRevisions.size(), (101 + 6) / 7);
    QCOMPARE(rec.partsSeen, (101 + 6) / 7 - 1); // every page but the last handed on as it came
    for (qint64 r : std::as_const(pageRevisions))
        QCOMPARE(r, before);
    // The snapshot as emitted: the writes between pages may already have arrived by watch since.
    const QList<SourceObject> &snapshot = rec.snapshots.first();
    QCOMPARE(snapshot.size(), 101);
    QHash<QString, QByteArray> objects;
    for (const SourceObject &o : snapshot)
        objects.insert(o.key, o.value);
    QCOMPARE(objects.value(QStringLiteral("routes/42")), route(42));
    QCOMPARE(objects.value(QStringLiteral("upstreams/9")), QByteArray("{\"nodes\":{\"127.0.0.1:1\":1}}"));
    QVERIFY(objects.contains(QStringLiteral("services/3")));
    QVERIFY(!objects.contains(QStringLiteral("routes/new")));
    QVERIFY(objects.contains(QStringLiteral("routes"))); // emitted; the caller decides to ignore it
    for (const SourceObject &o : snapshot) {
        QVERIFY2(!o.key.startsWith(QLatin1Char('/')), qPrintable(o.key));
        QVERIFY(o.modRevision > 0 && o.modRevision <= before);
    }
    QVERIFY(source.status().connected);
    QCOMPARE(source.status().clusterId, etcd.clusterId());

    // The writes made during the sync arrive through the watch, in order, and the source's revision
    // follows them (it may already have by now).
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 3, 5000);
    QCOMPARE(source.revision(), before + 3);
    QCOMPARE(rec.events.at(0).key, QStringLiteral("routes/new"));
    QCOMPARE(rec.events.at(1).key, QStringLiteral("upstreams/9"));
    QCOMPARE(rec.events.at(2).key, QStringLiteral("services/3"));
    QCOMPARE(rec.events.at(2).type, SourceEvent::Type::Delete);
    QCOMPARE(rec.objects.value(QStringLiteral("upstreams/9")), QByteArray("{\"changed\":true}"));
    QCOMPARE(rec.objects.size(), 101);
}

// The same keys read over gRPC and through the JSON gateway: the same objects, bytes and revisions, in
// the same order, and the same pages.
void TstEtcdSource::fullSyncOverGrpcMatchesJsonGateway()
{
    LogCapture log;
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    static const char rawBytes[] = "\x00\x01\xff\xfe not JSON";
    QList<QByteArray> values = {
        route(1),
        QByteArray(),                                                              // an empty value
        QStringLiteral("{\"uri\":\"/ünï/cödé ✓\",\"desc\":\"\\u00e9\"}").toUtf8(), // UTF-8 and escapes
        QByteArray("{\"n\":1.50e3,\"i\":-0}"),                                     // numbers as written
        QByteArray(rawBytes, sizeof rawBytes - 1),                                 // raw bytes, NUL included
        "{\"desc\":\"" + QByteArray(300 * 1024, 'y') + "\"}", // larger than HTTP/2's windows
    };
    for (int i = 0; i < 40; ++i)
        values.append(route(i));
    for (int i = 0; i < values.size(); ++i)
        QVERIFY(etcd.put("/apisix/routes/" + QByteArray::number(1000 + i), values.at(i)) > 0);
    QVERIFY(etcd.put("/apisix/upstreams/é", "{\"nodes\":{\"127.0.0.1:1\":1}}") > 0);
    QVERIFY(etcd.put("/apisix/routes/1001", "rewritten") > 0); // a key whose mod_revision is not its create
    QVERIFY(etcd.put("/apisixfoo/routes/1", route(1)) > 0);
    const qint64 revision = etcd.currentRevision();

    const auto readAll = [&](EtcdSettings::FullSyncTransport transport, QList<int> *pageSizes) {
        EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
        settings.pageLimit = 7;
        settings.fullSyncTransport = transport;
        EtcdSource source(settings);
        Recorder rec;
        rec.attach(&source);
        int objectsBefore = 0;
        connect(&source, &EtcdSource::fullSyncProgress, this, [&](qint64, int, int objects) {
            pageSizes->append(objects - objectsBefore);
            objectsBefore = objects;
        });
        source.start();
        [&] { QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000); }();
        source.stop();
        return std::make_tuple(rec.snapshots.value(0), rec.snapshotRevisions.value(0),
                               source.status().clusterId);
    };
    QList<int> grpcPages;
    QList<int> jsonPages;
    const auto [grpc, grpcRevision, grpcCluster] = readAll(EtcdSettings::FullSyncTransport::Grpc, &grpcPages);
    QVERIFY(!QTest::currentTestFailed());
    QCOMPARE(linesWith(OverGrpc.arg(etcd.endpoint())), 1);
    const auto [json, jsonRevision, jsonCluster] = readAll(EtcdSettings::FullSyncTransport::Json, &jsonPages);
    QVERIFY(!QTest::currentTestFailed());
    QCOMPARE(linesWith(OverJson.arg(etcd.endpoint())), 1);

    QCOMPARE(grpcRevision, revision);
    QCOMPARE(jsonRevision, revision);
    QCOMPARE(grpcCluster, etcd.clusterId());
    QCOMPARE(jsonCluster, grpcCluster);
    QCOMPARE(grpcPages, jsonPages);
    QCOMPARE(grpcPages.size(), (int(values.size()) + 1 + 6) / 7);
    QCOMPARE(grpc.size(), values.size() + 1);
    QCOMPARE(json.size(), grpc.size());
    for (qsizetype i = 0; i < grpc.size(); ++i) {
        QCOMPARE(grpc.at(i).key, json.at(i).key);
        QCOMPARE(grpc.at(i).value, json.at(i).value);
        QCOMPARE(grpc.at(i).modRevision, json.at(i).modRevision);
    }
    // And both are what was written.
    QCOMPARE(grpc.at(1).key, QStringLiteral("routes/1001"));
    QCOMPARE(grpc.at(1).value, QByteArray("rewritten"));
    QCOMPARE(grpc.at(1).modRevision, revision - 1);
    for (int i = 2; i < values.size(); ++i)
        QCOMPARE(grpc.at(i).value, values.at(i));
    QCOMPARE(grpc.last().key, QStringLiteral("upstreams/é"));
    // Qt warns about every HTTP/2 answer with trailers unless EtcdClient gives it a cache.
    QCOMPARE(linesWith(QStringLiteral("caching was enabled")), 0);
}

void TstEtcdSource::fullSyncRestartsWhenCompactedBetweenPages_data()
{
    QTest::addColumn<EtcdSettings::FullSyncTransport>("transport");
    QTest::addColumn<QString>("how");
    QTest::newRow("grpc") << EtcdSettings::FullSyncTransport::Grpc << OverGrpc;
    QTest::newRow("json") << EtcdSettings::FullSyncTransport::Json << OverJson;
}

void TstEtcdSource::fullSyncRestartsWhenCompactedBetweenPages()
{
    QFETCH(EtcdSettings::FullSyncTransport, transport);
    QFETCH(QString, how);
    LogCapture log;
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    for (int i = 0; i < 10; ++i)
        QVERIFY(etcd.put("/apisix/routes/" + QByteArray::number(i), route(i)) > 0);

    EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
    settings.pageLimit = 3;
    settings.fullSyncTransport = transport;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    qint64 afterCompaction = 0;
    int firstPages = 0;
    connect(&source, &EtcdSource::fullSyncProgress, this, [&](qint64, int pages, int) {
        if (pages == 1 && ++firstPages == 1) {
            const qint64 revision = etcd.put("/apisix/routes/late", route(77));
            QVERIFY(revision > 0);
            QVERIFY2(etcd.compact(revision), qPrintable(etcd.lastError()));
            afterCompaction = revision;
        }
    });
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QCOMPARE(firstPages, 2); // the sync started over
    QCOMPARE(rec.snapshotRevisions.first(), afterCompaction);
    QCOMPARE(rec.objects.size(), 11);
    QVERIFY(rec.objects.contains(QStringLiteral("routes/late")));
    QCOMPARE(linesWith(QStringLiteral("was compacted between pages")), 1);
    QCOMPARE(linesWith(how.arg(etcd.endpoint())), 1);
}

// An HTTP/1.1-only proxy in front of etcd passes the JSON gateway and refuses gRPC: the first full sync
// falls back to the gateway, says so once, and later syncs go straight to it. Forced gRPC fails there.
void TstEtcdSource::fallsBackToJsonGatewayBehindHttp11Proxy()
{
    LogCapture log;
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    NginxProxy proxy;
    QVERIFY2(proxy.start(etcd.clientPort()), qPrintable(proxy.lastError()));
    for (int i = 0; i < 10; ++i)
        QVERIFY(etcd.put("/apisix/routes/" + QByteArray::number(i), route(i)) > 0);

    {
        EtcdSettings settings = fastEtcdSettings({proxy.endpoint()});
        settings.fullSyncTransport = EtcdSettings::FullSyncTransport::Grpc;
        EtcdSource forced(settings);
        Recorder rec;
        rec.attach(&forced);
        forced.start();
        QTRY_VERIFY_WITH_TIMEOUT(forced.status().lastError.contains(QLatin1String("full sync: gRPC")), 10000);
        QVERIFY(rec.snapshotRevisions.isEmpty());
    }
    const QString fellBack = QStringLiteral("%1 does not serve etcd's gRPC API").arg(proxy.endpoint());
    QCOMPARE(linesWith(fellBack), 0);

    EtcdSettings settings = fastEtcdSettings({proxy.endpoint()});
    settings.pageLimit = 4;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QCOMPARE(rec.objects.size(), 10);
    QCOMPARE(linesWith(fellBack), 1);
    QCOMPARE(linesWith(OverJson.arg(proxy.endpoint())), 1);
    QVERIFY(source.status().lastError.isEmpty());
    // The watch works through the proxy as before.
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    QVERIFY(etcd.put("/apisix/routes/new", route(11)) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);

    // A later full sync reads through the gateway at once: no second gRPC attempt, no second warning.
    const qsizetype grpcAttempts = proxy.accessLog().count("PRI * HTTP/2.0");
    QVERIFY(grpcAttempts >= 1);
    source.requestResync();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 2, 10000);
    QCOMPARE(rec.objects.size(), 11);
    QCOMPARE(linesWith(fellBack), 1);
    QCOMPARE(linesWith(OverJson.arg(proxy.endpoint())), 2);
    QCOMPARE(proxy.accessLog().count("PRI * HTTP/2.0"), grpcAttempts);
}

void TstEtcdSource::watchDeliversPutsAndDeletesInOrder()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);

    EtcdSource source(fastEtcdSettings({etcd.endpoint()}));
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);

    const qint64 r1 = etcd.put("/apisix/upstreams/1", "{\"v\":1}");
    const qint64 r2 = etcd.put("/apisix/routes/1", route(2));
    QVERIFY(etcd.put("/apisix2/routes/1", route(3)) > 0); // outside the prefix
    const qint64 r3 = etcd.del("/apisix/routes/1");
    const qint64 r4 = etcd.put("/apisix/services/9", "{\"v\":9}");
    const qint64 r5 = etcd.del("/apisix/upstreams/1");
    QVERIFY(r1 > 0 && r2 > r1 && r3 > r2 && r4 > r3 && r5 > r4);

    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 5, 5000);
    const QList<SourceEvent> &e = rec.events;
    QCOMPARE(e[0].type, SourceEvent::Type::Put);
    QCOMPARE(e[0].key, QStringLiteral("upstreams/1"));
    QCOMPARE(e[0].value, QByteArray("{\"v\":1}"));
    QCOMPARE(e[0].modRevision, r1);
    QCOMPARE(e[1].key, QStringLiteral("routes/1"));
    QCOMPARE(e[1].value, route(2));
    QCOMPARE(e[1].modRevision, r2);
    QCOMPARE(e[2].type, SourceEvent::Type::Delete);
    QCOMPARE(e[2].key, QStringLiteral("routes/1"));
    QVERIFY(e[2].value.isEmpty());
    QCOMPARE(e[2].modRevision, r3);
    QCOMPARE(e[3].key, QStringLiteral("services/9"));
    QCOMPARE(e[3].modRevision, r4);
    QCOMPARE(e[4].type, SourceEvent::Type::Delete);
    QCOMPARE(e[4].key, QStringLiteral("upstreams/1"));
    QCOMPARE(rec.changeRevisions.last(), r5);
    QCOMPARE(source.revision(), r5);
    for (qsizetype i = 1; i < rec.changeRevisions.size(); ++i)
        QVERIFY(rec.changeRevisions[i] > rec.changeRevisions[i - 1]);
    QCOMPARE(rec.objects.keys(), QStringList{QStringLiteral("services/9")});
    QCOMPARE(rec.snapshotRevisions.size(), 1);
}

void TstEtcdSource::compactionWhileDisconnectedTriggersFullResync()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/a", route(1)) > 0);
    QVERIFY(etcd.put("/apisix/routes/b", route(2)) > 0);

    EtcdSource source(fastEtcdSettings({etcd.endpoint()}));
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);

    // Disconnected, the history the source would resume from is compacted away.
    source.stop();
    QVERIFY(!source.status().connected);
    QVERIFY(etcd.put("/apisix/routes/c", route(3)) > 0);
    QVERIFY(etcd.del("/apisix/routes/a") > 0);
    const qint64 last = etcd.put("/apisix/routes/b", route(22));
    QVERIFY(etcd.compact(last));
    QVERIFY(rec.events.isEmpty());

    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 2, 10000);
    QCOMPARE(rec.snapshotRevisions.last(), last);
    QCOMPARE(rec.objects.keys(), (QStringList{QStringLiteral("routes/b"), QStringLiteral("routes/c")}));
    QCOMPARE(rec.objects.value(QStringLiteral("routes/b")), route(22));
    QVERIFY(rec.events.isEmpty()); // the compacted changes came as a snapshot, not as events

    // And the watch carries on from the new snapshot.
    const qint64 next = etcd.put("/apisix/routes/d", route(4));
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);
    QCOMPARE(rec.events.first().modRevision, next);
}

void TstEtcdSource::freshClusterWithLowerRevisionsTriggersFullResync()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    for (int i = 0; i < 30; ++i)
        QVERIFY(etcd.put("/apisix/routes/" + QByteArray::number(i), route(i)) > 0);
    const QString oldCluster = etcd.clusterId();

    EtcdSource source(fastEtcdSettings({etcd.endpoint()}));
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    const qint64 oldRevision = source.revision();
    QVERIFY(oldRevision > 30);

    // The control plane is rebuilt from scratch on the same address, with far fewer writes.
    QVERIFY2(etcd.startFreshCluster(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.clusterId() != oldCluster);
    QVERIFY(etcd.put("/apisix/routes/new", route(100)) > 0);
    QVERIFY(etcd.put("/apisix/upstreams/1", "{\"nodes\":{}}") > 0);

    QTRY_COMPARE_WITH_TIMEOUT(rec.objects.keys(),
                              (QStringList{QStringLiteral("routes/new"), QStringLiteral("upstreams/1")}),
                              10000);
    QCOMPARE(rec.snapshotRevisions.size(), 2);
    QVERIFY(rec.snapshotRevisions.last() < oldRevision);
    // The second snapshot replaced the whole set: none of the 30 old routes survives in it.
    for (const SourceObject &o : std::as_const(rec.snapshots.last()))
        QVERIFY2(o.key == QStringLiteral("routes/new") || o.key == QStringLiteral("upstreams/1"),
                 qPrintable(o.key));
    QCOMPARE(source.status().clusterId, etcd.clusterId());
}

void TstEtcdSource::requestResyncReadsEverythingAgain()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);

    EtcdSource source(fastEtcdSettings({etcd.endpoint()}));
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    const qint64 revision = etcd.put("/apisix/routes/2", route(2));
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);

    source.requestResync();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 2, 5000);
    QCOMPARE(rec.snapshotRevisions.last(), revision);
    QCOMPARE(rec.snapshots.last().size(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    QCOMPARE(rec.events.size(), 1); // nothing replayed twice
}

void TstEtcdSource::hungEtcdIsDetectedWithinFifteenSecondsAndRecovers()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);

    // The product's defaults, since they are what must meet the 15 s bound.
    EtcdSettings settings;
    settings.endpoints = {etcd.endpoint()};
    settings.backoffInitialMs = 100;
    settings.backoffMaxMs = 500;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);

    QElapsedTimer hung;
    hung.start();
    QVERIFY(etcd.pause());
    QTRY_VERIFY_WITH_TIMEOUT(!source.status().connected, 15000);
    QVERIFY2(hung.elapsed() < 15000, qPrintable(QString::number(hung.elapsed())));
    QVERIFY2(source.status().lastError.contains(etcd.endpoint()), qPrintable(source.status().lastError));
    QVERIFY(!source.status().lastError.isEmpty());

    QVERIFY(etcd.resume());
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 10000);
    const qint64 revision = etcd.put("/apisix/routes/2", route(2));
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);
    QCOMPARE(rec.events.first().modRevision, revision);
    QVERIFY(source.status().lastError.isEmpty());
}

void TstEtcdSource::usesSecondEndpointWhenFirstIsDead()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);
    const QString dead = QStringLiteral("http://127.0.0.1:%1").arg(TestSupport::freePort());

    EtcdSource source(fastEtcdSettings({dead, etcd.endpoint()}));
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QCOMPARE(rec.objects.keys(), QStringList{QStringLiteral("routes/1")});
    QCOMPARE(source.status().endpoint, etcd.endpoint());
    QVERIFY(source.status().connected);
    const bool deadReported =
        std::any_of(rec.statuses.cbegin(), rec.statuses.cend(),
                    [&](const SourceStatus &s) { return s.lastError.startsWith(dead) && !s.connected; });
    QVERIFY(deadReported);
    // One failed endpoint of two is no reason to wait: the second was tried at once.
    QCOMPARE(rec.retriesScheduled(), 0);
}

void TstEtcdSource::reconnectsWithBackoffAfterEtcdRestart()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);

    EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
    settings.backoffInitialMs = 100;
    settings.backoffMaxMs = 800;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    rec.statuses.clear();

    etcd.stop();
    QTRY_VERIFY_WITH_TIMEOUT(rec.retriesScheduled() >= 5, 10000);
    QList<int> delays;
    for (const SourceStatus &s : std::as_const(rec.statuses)) {
        if (s.retryInMs > 0) {
            QVERIFY(!s.connected);
            QVERIFY(!s.lastError.isEmpty());
            delays.append(s.retryInMs);
        }
    }
    // 100, 200, 400, 800, 800 ms with jitter over the upper half of each.
    QVERIFY2(delays[0] >= 50 && delays[0] <= 100, qPrintable(QString::number(delays[0])));
    QVERIFY2(delays[3] >= 400 && delays[3] <= 800, qPrintable(QString::number(delays[3])));
    for (int d : std::as_const(delays))
        QVERIFY(d <= 800);

    QVERIFY2(etcd.restart(), qPrintable(etcd.lastError()));
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 10000);
    const qint64 revision = etcd.put("/apisix/routes/2", route(2));
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);
    QCOMPARE(rec.events.first().modRevision, revision);
    QCOMPARE(rec.snapshotRevisions.size(), 1); // same cluster, history intact: the watch resumed
    QCOMPARE(source.status().retryInMs, -1);
}

void TstEtcdSource::authenticatesWithUsernameAndPassword()
{
    const QString password = QStringLiteral("pa55-w0rd-never-logged");
    g_logLines.clear();
    QLoggingCategory::setFilterRules(QStringLiteral("holdfast.sync.etcd.debug=true"));
    const QtMessageHandler previous = qInstallMessageHandler(captureMessage);
    auto restore = qScopeGuard([previous] {
        qInstallMessageHandler(previous);
        QLoggingCategory::setFilterRules(QString());
        if (QTest::currentTestFailed())
            qWarning().noquote() << "captured log:\n" << g_logLines.join(QLatin1Char('\n'));
    });

    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);
    QVERIFY2(etcd.enableAuth(password), qPrintable(etcd.lastError()));

    {
        EtcdSource anonymous(fastEtcdSettings({etcd.endpoint()}));
        Recorder rec;
        rec.attach(&anonymous);
        anonymous.start();
        QTRY_VERIFY_WITH_TIMEOUT(anonymous.status().lastError.contains(QLatin1String("user name is empty")),
                                 5000);
        QVERIFY(rec.snapshotRevisions.isEmpty());
    }
    {
        EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
        settings.username = QStringLiteral("root");
        settings.password = QStringLiteral("wrong");
        EtcdSource wrong(settings);
        wrong.start();
        QTRY_VERIFY_WITH_TIMEOUT(wrong.status().lastError.contains(QLatin1String("authentication")), 5000);
        QVERIFY(!wrong.status().connected);
    }

    EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
    settings.username = QStringLiteral("root");
    settings.password = password;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QCOMPARE(rec.objects.keys(), QStringList{QStringLiteral("routes/1")});
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    QVERIFY(etcd.put("/apisix/routes/2", route(2)) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);

    // etcd keeps simple tokens in memory: after a restart the old token is rejected and the source
    // must authenticate again on its own.
    QVERIFY2(etcd.restart(), qPrintable(etcd.lastError()));
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 10000);
    QVERIFY(etcd.put("/apisix/routes/3", route(3)) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 2, 10000);
    QCOMPARE(rec.events.last().key, QStringLiteral("routes/3"));

    // The restart really went through the re-authentication path.
    QVERIFY(std::any_of(g_logLines.cbegin(), g_logLines.cend(), [](const QString &line) {
        return line.contains(QLatin1String("rejected the auth token"));
    }));
    QCOMPARE(linesWith(OverGrpc.arg(etcd.endpoint())), 1); // the token went as gRPC metadata

    // A full sync with a token etcd no longer accepts (a password change, even to the same password,
    // invalidates the user's tokens): the gRPC read is rejected, the source authenticates again and
    // reads over gRPC. (A restart does not do it reliably: etcd replays the authentication from its log.)
    source.stop();
    QVERIFY2(
        etcd.call(QByteArrayLiteral("/v3/auth/user/changepw"),
                  {{QStringLiteral("name"), QStringLiteral("root")}, {QStringLiteral("password"), password}}),
        qPrintable(etcd.lastError()));
    const qsizetype rejectionsBefore = linesWith(QStringLiteral("rejected the auth token"));
    source.requestResync();
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 2, 10000);
    QCOMPARE(rec.objects.size(), 3);
    QCOMPARE(linesWith(QStringLiteral("rejected the auth token")), rejectionsBefore + 1);
    QCOMPARE(linesWith(OverGrpc.arg(etcd.endpoint())), 2);
    for (const QString &line : std::as_const(g_logLines))
        QVERIFY2(!line.contains(password), qPrintable(line));
}

void TstEtcdSource::connectsOverTlsWithClientCertificate()
{
    QTemporaryDir dir;
    QString error;
    QVERIFY2(EtcdProcess::makeTlsFiles(dir.path(), &error), qPrintable(error));
    EtcdProcess etcd;
    etcd.setTls(dir.filePath(QStringLiteral("server.crt")), dir.filePath(QStringLiteral("server.key")),
                dir.filePath(QStringLiteral("ca.crt")));
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    QVERIFY(etcd.put("/apisix/routes/1", route(1)) > 0);

    LogCapture log;
    EtcdSettings settings = fastEtcdSettings({etcd.tlsEndpoint()});
    settings.caFile = dir.filePath(QStringLiteral("ca.crt"));
    {
        // etcd requires a client certificate on its https port: without one the handshake fails.
        EtcdSource anonymous(settings);
        Recorder rec;
        rec.attach(&anonymous);
        anonymous.start();
        QTRY_VERIFY_WITH_TIMEOUT(!anonymous.status().lastError.isEmpty(), 5000);
        QVERIFY(rec.snapshotRevisions.isEmpty());
    }
    settings.certFile = dir.filePath(QStringLiteral("client.crt"));
    settings.keyFile = dir.filePath(QStringLiteral("client.key"));
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QCOMPARE(rec.objects.keys(), QStringList{QStringLiteral("routes/1")});
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    QVERIFY(etcd.put("/apisix/routes/2", route(2)) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(rec.events.size(), 1, 5000);
    QCOMPARE(source.status().endpoint, etcd.tlsEndpoint());
    QCOMPARE(linesWith(OverGrpc.arg(etcd.tlsEndpoint())), 1); // HTTP/2 negotiated by ALPN
}

// A range page or a watch message larger than maxResponseBytes is refused with an error that says so,
// instead of being held in memory whatever its size.
void TstEtcdSource::answersOverTheSizeCapFail()
{
    EtcdProcess etcd;
    QVERIFY2(etcd.start(), qPrintable(etcd.lastError()));
    const QByteArray big = "{\"uri\":\"/big\",\"desc\":\"" + QByteArray(20000, 'x') + "\"}";
    QVERIFY(etcd.put("/apisix/routes/1", big) > 0);
    {
        EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
        settings.maxResponseBytes = 8192;
        EtcdSource source(settings);
        Recorder rec;
        rec.attach(&source);
        source.start();
        QTRY_VERIFY_WITH_TIMEOUT(source.status().lastError.contains(QLatin1String("max_response_bytes")),
                                 10000);
        QVERIFY2(source.status().lastError.contains(QLatin1String("exceeds 8192 bytes")),
                 qPrintable(source.status().lastError));
        QVERIFY(rec.snapshotRevisions.isEmpty());
    }

    QVERIFY(etcd.del("/apisix/routes/1") > 0);
    EtcdSettings settings = fastEtcdSettings({etcd.endpoint()});
    settings.maxResponseBytes = 8192;
    EtcdSource source(settings);
    Recorder rec;
    rec.attach(&source);
    source.start();
    QTRY_COMPARE_WITH_TIMEOUT(rec.snapshotRevisions.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(source.isWatching() && source.status().connected, 5000);
    QVERIFY(etcd.put("/apisix/routes/2", big) > 0);
    QTRY_VERIFY_WITH_TIMEOUT(source.status().lastError.contains(QLatin1String("max_response_bytes")), 10000);
    QVERIFY(!rec.objects.contains(QStringLiteral("routes/2")));
}

// A user name and password sent to an http:// endpoint cross the network in the clear: say so, once per
// endpoint, without the password.
void TstEtcdSource::credentialsOverPlainHttpWarn()
{
    g_logLines.clear();
    const QtMessageHandler previous = qInstallMessageHandler(captureMessage);
    auto restore = qScopeGuard([previous] { qInstallMessageHandler(previous); });
    {
        EtcdSettings settings = fastEtcdSettings({QStringLiteral("http://127.0.0.1:1")});
        EtcdSource anonymous(settings);
    }
    QVERIFY(!g_logLines.join(QLatin1Char('\n')).contains(QLatin1String("plain http")));
    EtcdSettings settings =
        fastEtcdSettings({QStringLiteral("http://127.0.0.1:1"), QStringLiteral("https://127.0.0.1:2")});
    settings.username = QStringLiteral("root");
    settings.password = QStringLiteral("s3cret-pass");
    EtcdSource source(settings);
    const QString log = g_logLines.join(QLatin1Char('\n'));
    QVERIFY2(log.contains(QLatin1String("root")) && log.contains(QLatin1String("http://127.0.0.1:1")) &&
                 log.contains(QLatin1String("plain http")),
             qPrintable(log));
    QVERIFY(!log.contains(QLatin1String("https://127.0.0.1:2")));
    QVERIFY(!log.contains(QLatin1String("s3cret-pass")));
}

// holdfastd refuses to start when a configured CA, certificate or key cannot be read, naming the file,
// instead of falling back to the system's CAs.
void TstEtcdSource::unreadableTlsFileIsAStartupError()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString missing = dir.filePath(QStringLiteral("no-such-ca.pem"));
    QFile settings(dir.filePath(QStringLiteral("holdfastd.json")));
    QVERIFY(settings.open(QIODevice::WriteOnly));
    settings.write(R"({"listen":[{"address":"127.0.0.1","port":)" +
                   QByteArray::number(TestSupport::freePort()) + R"(}],"data_dir":")" + dir.path().toUtf8() +
                   R"(/data","admin":{"address":"127.0.0.1","port":)" +
                   QByteArray::number(TestSupport::freePort()) +
                   R"(},"control_plane":{"endpoints":["https://127.0.0.1:1"],"tls":{"ca":")" +
                   missing.toUtf8() + R"("}}})");
    settings.close();
    QProcess gateway;
    gateway.setProcessChannelMode(QProcess::MergedChannels);
    gateway.start(TestSupport::builtProgram(QStringLiteral("holdfastd")),
                  {QStringLiteral("--config"), settings.fileName()});
    QVERIFY(gateway.waitForFinished(15000));
    const QByteArray output = gateway.readAll();
    QVERIFY2(gateway.exitCode() != 0, output.constData());
    QVERIFY2(output.contains("tls ca " + missing.toUtf8()), output.constData());
}

QTEST_GUILESS_MAIN(TstEtcdSource)
#include "tst_etcdsource.moc"
