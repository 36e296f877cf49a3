// SyncController and Persister with a real EtcdSource against a real etcd, and real files in data dirs.
#include "configstore.h"
#include "configvalidator.h"
#include "etcdprocess.h"
#include "etcdsource.h"
#include "etcdtestsettings.h"
#include "persister.h"
#include "synccontroller.h"

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>

#ifndef Q_OS_WIN
#include <sys/resource.h>
#endif

Q_DECLARE_METATYPE(SnapshotPtr)

namespace {

QStringList g_logLines;

void captureMessage(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type == QtWarningMsg && qstrcmp(context.category, "holdfast.sync") == 0)
        g_logLines.append(message);
    // How each full sync read its pages.
    if (qstrcmp(context.category, "holdfast.sync.etcd") == 0 &&
        message.startsWith(QLatin1String("full sync: ")))
        g_logLines.append(message);
}

QByteArray route(const QString &id, const QString &uri)
{
    return QStringLiteral("{\"id\":\"%1\",\"uri\":\"%2\",\"upstream_id\":\"1\"}").arg(id, uri).toUtf8();
}

const QByteArray upstream1 = "{\"id\":\"1\",\"type\":\"roundrobin\",\"nodes\":{\"127.0.0.1:1980\":1}}";

SnapshotPtr configWithRoutes(int count, const QString &uriPrefix = QStringLiteral("/local/"))
{
    QJsonObject routes;
    for (int i = 1; i <= count; ++i)
        routes.insert(QString::number(i), QJsonObject{{QStringLiteral("uri"), uriPrefix + QString::number(i)},
                                                      {QStringLiteral("upstream_id"), QStringLiteral("1")}});
    const QJsonObject config{
        {QStringLiteral("routes"), routes},
        {QStringLiteral("upstreams"),
         QJsonObject{{QStringLiteral("1"), QJsonDocument::fromJson(upstream1).object()}}}};
    ValidationErrors errors;
    return ConfigSnapshot::fromJson(config, &errors);
}

std::optional<PersistedConfig> readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    return ConfigStore::parse(file.readAll(), nullptr);
}

QByteArray readBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QStringList routeIds(const SnapshotPtr &snapshot)
{
    return snapshot ? snapshot->routes().keys() : QStringList();
}

// One controller over one real EtcdSource, as the gateway wires them.
struct Rig
{
    std::unique_ptr<EtcdSource> source;
    std::unique_ptr<SyncController> controller;
    std::unique_ptr<QSignalSpy> published;
    std::unique_ptr<QSignalSpy> persisted;

    Rig(const QStringList &endpoints, const QString &dataDir, int waitMs = 3000, bool serveLocalFirst = false,
        int pageLimit = 0, EtcdSettings::FullSyncTransport transport = EtcdSettings::FullSyncTransport::Auto)
    {
        EtcdSettings etcd = fastEtcdSettings(endpoints);
        if (pageLimit > 0)
            etcd.pageLimit = pageLimit;
        etcd.fullSyncTransport = transport;
        source = std::make_unique<EtcdSource>(etcd);
        SyncController::Settings s;
        s.dataDir = dataDir;
        s.waitForControlPlaneMs = waitMs;
        s.serveLocalFirst = serveLocalFirst;
        s.sourceDescription =
            QJsonObject{{QStringLiteral("type"), QStringLiteral("etcd")},
                        {QStringLiteral("endpoints"), QJsonArray::fromStringList(endpoints)},
                        {QStringLiteral("prefix"), QStringLiteral("/apisix")}};
        s.persistRetryInitialMs = 50;
        s.persistRetryMaxMs = 200;
        controller = std::make_unique<SyncController>(source.get(), s);
        published = std::make_unique<QSignalSpy>(controller.get(), &SyncController::publish);
        persisted = std::make_unique<QSignalSpy>(controller.get(), &SyncController::persistFinished);
    }
    ~Rig()
    {
        controller.reset(); // before the source it listens to
    }
    SyncController *operator->() { return controller.get(); }
};

} // namespace

class tst_SyncController : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();

    void persisterWritesNewestAndCoalesces();
    void persisterBurstEndsWithTheLastGenerationOnDisk();
    void persisterFailureKeepsOldFileAndRetries();
    void fullSyncValidatesPerObjectAndIgnoresOtherKeys();
    void watchChangesAppliedAndPersistedQuickly();
    void invalidUpdateKeepsLastGoodVersion();
    void newSnapshotReplacesEverything();
    void reconnectResumesWatchAndReturnsToInSync();
    void refusedEndpointsServeLocalCopyAtOnce();
    void hungControlPlaneServesLocalCopyWhenWaitEnds();
    void noLocalCopyNoControlPlaneServesNothingAndKeepsTrying();
    void serveLocalFirstSwitchesWhenSyncCompletes();
    void fullSyncSharesUnchangedObjectsWithLocalCopy();
    void fullSyncSharesObjectsWithTheLocalCopyNotServed();
    void pagedFullSyncEqualsOneRead();
    void grpcFullSyncPersistsWhatTheJsonGatewayDoes();
    void fullSyncRestartedBetweenPagesDropsTheFirstPages();
    void editedLocalCopyIsKeptBesideTheNextSync();
    void reloadLocalRefusedWhileInSync();

private:
    // Upstreams 1..count in etcd, each upstream1 under its own id; false when a put fails.
    bool putUpstreams(int count);
    // Routes 1..count in etcd, route <id> at /r/<id> on upstream 1; false when a put fails.
    bool putRoutes(int count);

    std::unique_ptr<EtcdProcess> m_etcd;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_SyncController::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_etcd = std::make_unique<EtcdProcess>();
    QVERIFY2(m_etcd->start(), qPrintable(m_etcd->lastError()));
}

void tst_SyncController::cleanup()
{
    m_etcd.reset();
    m_dir.reset();
}

bool tst_SyncController::putUpstreams(int count)
{
    for (int i = 1; i <= count; ++i) {
        const QByteArray id = QByteArray::number(i);
        if (m_etcd->put("/apisix/upstreams/" + id,
                        QByteArray(upstream1).replace("\"id\":\"1\"", "\"id\":\"" + id + "\"")) <= 0)
            return false;
    }
    return true;
}

bool tst_SyncController::putRoutes(int count)
{
    for (int i = 1; i <= count; ++i) {
        const QString id = QString::number(i);
        if (m_etcd->put("/apisix/routes/" + id.toUtf8(), route(id, QStringLiteral("/r/") + id)) <= 0)
            return false;
    }
    return true;
}

void tst_SyncController::persisterWritesNewestAndCoalesces()
{
    Persister persister(m_dir->path());
    QSignalSpy finished(&persister, &Persister::finished);
    const SnapshotPtr big = configWithRoutes(2000);
    for (int revision = 1; revision <= 40; ++revision)
        persister.submit(revision % 2 ? big : configWithRoutes(3), revision, {});
    QTRY_VERIFY_WITH_TIMEOUT(
        !finished.isEmpty() && finished.last().first().value<Persister::Result>().revision == 40, 10000);
    QVERIFY(persister.waitIdle(5000));
    // A burst reaches disk as a few saves of the newest generation, not forty.
    QVERIFY2(finished.size() < 40, qPrintable(QString::number(finished.size())));
    for (const QList<QVariant> &args : std::as_const(finished))
        QVERIFY(args.first().value<Persister::Result>().ok);
    const auto onDisk = readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QVERIFY(onDisk);
    QCOMPARE(onDisk->revision, 40);
    QCOMPARE(onDisk->snapshot->routes().size(), 3);
}

void tst_SyncController::persisterBurstEndsWithTheLastGenerationOnDisk()
{
    // As a watch delivers them: each generation derived from the one before with one route more.
    Persister persister(m_dir->path());
    QSignalSpy finished(&persister, &Persister::finished);
    SnapshotPtr snapshot = configWithRoutes(2000);
    QHash<qint64, SnapshotPtr> submitted;
    const qint64 burst = 200;
    for (qint64 revision = 1; revision <= burst; ++revision) {
        ConfigSnapshot::Routes routes = snapshot->routes();
        const QString id = QStringLiteral("burst-%1").arg(revision);
        ValidationErrors errors;
        routes.insert(id, ConfigValidator::parseRoute(
                              id,
                              QJsonObject{{QStringLiteral("uri"), QStringLiteral("/burst/%1").arg(revision)},
                                          {QStringLiteral("upstream_id"), QStringLiteral("1")}},
                              &errors));
        QVERIFY(errors.isEmpty());
        ConfigSnapshot::Changes changes;
        changes.routes.insert(id);
        snapshot =
            ConfigSnapshot::derive(snapshot, routes, snapshot->upstreams(), snapshot->services(), changes);
        submitted.insert(revision, snapshot);
        persister.submit(snapshot, revision, {});
    }
    QTRY_VERIFY_WITH_TIMEOUT(
        !finished.isEmpty() && finished.last().first().value<Persister::Result>().revision == burst, 30000);
    QVERIFY(persister.waitIdle(5000));

    // Every generation is either written or superseded by a newer one that is: the saves go forward only,
    // each records the digest of exactly the generation it names, and the last one is the burst's end.
    qint64 last = 0;
    QList<qint64> written;
    for (const QList<QVariant> &args : std::as_const(finished)) {
        const Persister::Result result = args.first().value<Persister::Result>();
        QVERIFY2(result.ok, qPrintable(result.error));
        QVERIFY2(result.revision > last,
                 qPrintable(QStringLiteral("%1 after %2").arg(result.revision).arg(last)));
        QCOMPARE(result.snapshot, submitted.value(result.revision));
        QCOMPARE(result.sha256, result.snapshot->sha256());
        last = result.revision;
        written.append(result.revision);
    }
    QCOMPARE(last, burst);
    QVERIFY2(written.size() < burst, qPrintable(QString::number(written.size())));

    const auto onDisk = readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QVERIFY(onDisk);
    QCOMPARE(onDisk->revision, burst);
    QVERIFY(!onDisk->edited);
    QCOMPARE(onDisk->snapshot->sha256(), submitted.value(burst)->sha256());
    QCOMPARE(onDisk->snapshot->routes().size(), 2000 + burst);
    if (written.size() > 1) {
        const auto previous = readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.prev.json")));
        QVERIFY(previous);
        QCOMPARE(previous->revision, written.at(written.size() - 2));
        QVERIFY(!previous->edited);
        QCOMPARE(previous->snapshot->sha256(), submitted.value(previous->revision)->sha256());
    }
}

void tst_SyncController::persisterFailureKeepsOldFileAndRetries()
{
#ifdef Q_OS_WIN
    QSKIP("RLIMIT_FSIZE is POSIX");
#else
    Persister persister(m_dir->path());
    persister.setRetryBackoff(50, 200);
    QSignalSpy finished(&persister, &Persister::finished);
    persister.submit(configWithRoutes(2), 1, {});
    QVERIFY(finished.wait(5000));
    QVERIFY(finished.last().first().value<Persister::Result>().ok);
    const QString current = QDir(m_dir->path()).filePath(QStringLiteral("config.json"));
    const QByteArray before = readBytes(current);

    // A file-size cap below the next generation's size: writes fail with EFBIG as on a full disk (with
    // SIGXFSZ ignored, as holdfastd's host does at start-up).
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit saved;
    QCOMPARE(getrlimit(RLIMIT_FSIZE, &saved), 0);
    struct rlimit capped = saved;
    capped.rlim_cur = rlim_t(before.size() + 64);
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &capped), 0);
    persister.submit(configWithRoutes(500), 2, {});
    QTRY_VERIFY_WITH_TIMEOUT(finished.size() >= 3, 5000); // first failure and at least one retry
    const Persister::Result failed = finished.at(1).first().value<Persister::Result>();
    QVERIFY(!failed.ok);
    QCOMPARE(failed.revision, 2);
    QVERIFY2(failed.error.contains(QLatin1String("config.json")), qPrintable(failed.error));
    QVERIFY(failed.retryInMs > 0);
    QVERIFY(!finished.last().first().value<Persister::Result>().ok);
    QCOMPARE(readBytes(current), before); // the old generation is intact
    QVERIFY(!persister.idle());

    // Room again: the retry catches up without anyone submitting anything.
    QCOMPARE(setrlimit(RLIMIT_FSIZE, &saved), 0);
    QTRY_VERIFY_WITH_TIMEOUT(finished.last().first().value<Persister::Result>().ok, 5000);
    QCOMPARE(finished.last().first().value<Persister::Result>().revision, 2);
    QCOMPARE(readFile(current)->revision, 2);
    QCOMPARE(readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.prev.json")))->revision, 1);
#endif
}

void tst_SyncController::fullSyncValidatesPerObjectAndIgnoresOtherKeys()
{
    QVERIFY(m_etcd->put("/apisix/routes", "init_dir") > 0); // the placeholder older APISIX writes
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/one"))) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/2", "{\"id\":\"2\",\"uri\":12,\"upstream_id\":\"1\"}") > 0);
    QVERIFY(m_etcd->put("/apisix/routes/3", "{not json") > 0);
    QVERIFY(m_etcd->put("/apisix/consumers/jack", "{\"username\":\"jack\"}") > 0);
    QVERIFY(m_etcd->put("/apisix/data_plane/server_info/x", "{}") > 0);
    const qint64 revision = m_etcd->put("/apisix/global_rules/1", "{\"plugins\":{}}");
    QVERIFY(revision > 0);

    Rig rig({m_etcd->endpoint()}, m_dir->path());
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    QCOMPARE(rig->liveRevision(), revision);
    QCOMPARE(routeIds(rig->live()), QStringList{QStringLiteral("1")});
    QCOMPARE(rig->live()->upstreams().size(), 1);
    QCOMPARE(rig->ignoredKeys(), 4);

    const QList<SyncController::Rejection> rejected = rig->rejections();
    QCOMPARE(rejected.size(), 2);
    QCOMPARE(rejected.at(0).key, QStringLiteral("routes/2"));
    QVERIFY2(rejected.at(0).reason.contains(QLatin1String("/uri")), qPrintable(rejected.at(0).reason));
    QVERIFY(rejected.at(0).revision > 0);
    QCOMPARE(rejected.at(1).key, QStringLiteral("routes/3"));
    QVERIFY2(rejected.at(1).reason.startsWith(QLatin1String("not JSON")), qPrintable(rejected.at(1).reason));
    QCOMPARE(rig->figures().rejections, 2u);

    QTRY_VERIFY_WITH_TIMEOUT(!rig.persisted->isEmpty(), 2000);
    const auto onDisk = readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QVERIFY(onDisk);
    QCOMPARE(onDisk->revision, revision);
    QCOMPARE(onDisk->source.value(QLatin1String("type")).toString(), QStringLiteral("etcd"));
    QCOMPARE(routeIds(onDisk->snapshot), QStringList{QStringLiteral("1")}); // rejected ones never persisted
    QCOMPARE(rig->persistedStatus().revision, std::optional<qint64>(revision));
}

void tst_SyncController::watchChangesAppliedAndPersistedQuickly()
{
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/one"))) > 0);
    Rig rig({m_etcd->endpoint()}, m_dir->path());
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(!rig.persisted->isEmpty(), 2000);

    QVERIFY(m_etcd->put("/apisix/routes/2", route(QStringLiteral("2"), QStringLiteral("/two"))) > 0);
    QVERIFY(m_etcd->del("/apisix/routes/1") > 0);
    QVERIFY(m_etcd->put("/apisix/ssls/1", "{\"cert\":\"x\"}") > 0);
    const qint64 last = m_etcd->put("/apisix/routes/3", route(QStringLiteral("3"), QStringLiteral("/three")));
    QVERIFY(last > 0);
    QTRY_COMPARE_WITH_TIMEOUT(rig->liveRevision(), last, 3000);
    QCOMPARE(routeIds(rig->live()), (QStringList{QStringLiteral("2"), QStringLiteral("3")}));
    QCOMPARE(rig->ignoredKeys(), 1);
    QVERIFY(rig->figures().changesApplied >= 5u);

    // Every save of the burst succeeds and reports its latency (the 200 ms goal is measured by
    // bench/sync_bench.sh: a timed assertion here would fail on a loaded machine, not on a bug).
    QTRY_VERIFY_WITH_TIMEOUT(rig.persisted->last().first().value<GatewayEvent::Persisted>().revision == last,
                             2000);
    for (const QList<QVariant> &args : std::as_const(*rig.persisted)) {
        const auto result = args.first().value<GatewayEvent::Persisted>();
        QVERIFY2(result.ok, qPrintable(result.error));
        QVERIFY2(result.latencyMs >= 0, qPrintable(QString::number(result.latencyMs)));
    }
    const auto onDisk = readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QCOMPARE(onDisk->revision, last);
    QCOMPARE(routeIds(onDisk->snapshot), (QStringList{QStringLiteral("2"), QStringLiteral("3")}));
}

void tst_SyncController::invalidUpdateKeepsLastGoodVersion()
{
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/good"))) > 0);
    Rig rig({m_etcd->endpoint()}, m_dir->path());
    QSignalSpy rejectedSpy(rig.controller.get(), &SyncController::objectRejected);
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);

    const qint64 bad = m_etcd->put("/apisix/routes/1", "{\"id\":\"1\",\"uri\":\"/bad\",\"methods\":\"GET\"}");
    const qint64 other = m_etcd->put("/apisix/routes/2", route(QStringLiteral("2"), QStringLiteral("/two")));
    QTRY_COMPARE_WITH_TIMEOUT(rig->liveRevision(), other, 3000);
    QCOMPARE(rejectedSpy.size(), 1);
    const auto rejection = rejectedSpy.first().first().value<GatewayEvent::Rejected>();
    QCOMPARE(rejection.key, QStringLiteral("routes/1"));
    QCOMPARE(rejection.revision, bad);
    QVERIFY2(rejection.reason.contains(QLatin1String("/methods")), qPrintable(rejection.reason));
    QCOMPARE(
        writtenJson(*rig->live()->routes().value(QStringLiteral("1"))).value(QLatin1String("uri")).toString(),
        QStringLiteral("/good"));
    QCOMPARE(rig->live()->routes().size(), 2); // the other change went through
    QCOMPARE(rig->rejections().size(), 1);

    QVERIFY(rig->waitPersisted(3000));
    QTRY_COMPARE_WITH_TIMEOUT(rig->persisted()->revision, other, 2000);
    const QByteArray onDisk = readBytes(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QVERIFY(!onDisk.contains("/bad"));
    QVERIFY(onDisk.contains("/good"));

    // A valid version clears the rejection.
    const qint64 fixed =
        m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/fixed")));
    QTRY_COMPARE_WITH_TIMEOUT(rig->liveRevision(), fixed, 3000);
    QCOMPARE(rig->rejections().size(), 0);
    QCOMPARE(
        writtenJson(*rig->live()->routes().value(QStringLiteral("1"))).value(QLatin1String("uri")).toString(),
        QStringLiteral("/fixed"));
}

void tst_SyncController::newSnapshotReplacesEverything()
{
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/one"))) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/2", route(QStringLiteral("2"), QStringLiteral("/two"))) > 0);
    Rig rig({m_etcd->endpoint()}, m_dir->path());
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(routeIds(rig->live()).size(), 2, 5000);

    // A rebuilt control plane holds a different set: what it lacks must go.
    QVERIFY(m_etcd->startFreshCluster());
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    const qint64 revision =
        m_etcd->put("/apisix/routes/7", route(QStringLiteral("7"), QStringLiteral("/seven")));
    QTRY_COMPARE_WITH_TIMEOUT(routeIds(rig->live()), QStringList{QStringLiteral("7")}, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    QCOMPARE(rig->liveRevision(), revision);
    QVERIFY(rig->figures().fullSyncs >= 2u);
}

void tst_SyncController::reconnectResumesWatchAndReturnsToInSync()
{
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/one"))) > 0);
    Rig rig({m_etcd->endpoint()}, m_dir->path());
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);

    m_etcd->kill();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::Reconnecting, 5000);
    QVERIFY(rig->serving()); // from memory
    QCOMPARE(routeIds(rig->live()), QStringList{QStringLiteral("1")});

    QVERIFY(m_etcd->restart());
    const qint64 revision =
        m_etcd->put("/apisix/routes/2", route(QStringLiteral("2"), QStringLiteral("/two")));
    QTRY_COMPARE_WITH_TIMEOUT(rig->liveRevision(), revision, 10000);
    QCOMPARE(rig->state(), SyncController::State::InSync);
    QCOMPARE(routeIds(rig->live()), (QStringList{QStringLiteral("1"), QStringLiteral("2")}));
}

void tst_SyncController::refusedEndpointsServeLocalCopyAtOnce()
{
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(3), 7, {}, nullptr));
    const QString closed = QStringLiteral("http://127.0.0.1:%1").arg(TestSupport::freePort());
    Rig rig({closed}, m_dir->path(), 20000);
    QElapsedTimer timer;
    timer.start();
    rig->start();
    // Refused everywhere: no reason to sit out the 20 s wait.
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::OfflineLocal, 5000);
    QVERIFY(timer.elapsed() < 5000);
    QCOMPARE(rig->liveRevision(), 7);
    QCOMPARE(rig->live()->routes().size(), 3);
    QCOMPARE(rig.published->size(), 1);
    QCOMPARE(rig->persistedStatus().file, QStringLiteral("config.json"));
    QVERIFY(!rig->sourceStatus().lastError.isEmpty());
}

void tst_SyncController::hungControlPlaneServesLocalCopyWhenWaitEnds()
{
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    const qint64 revision =
        m_etcd->put("/apisix/routes/9", route(QStringLiteral("9"), QStringLiteral("/nine")));
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(2), 3, {}, nullptr));
    // config.json is broken: the previous generation is what serves, and status says why.
    QVERIFY(store.save(*configWithRoutes(4), 4, {}, nullptr));
    {
        QFile current(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
        QVERIFY(current.open(QIODevice::WriteOnly | QIODevice::Truncate));
        current.write("{\"format\": \"holdfast-config/1\", \"revis");
    }
    QVERIFY(m_etcd->pause());
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 600);
    QElapsedTimer timer;
    timer.start();
    rig->start();
    QTRY_VERIFY_WITH_TIMEOUT(rig->serving(), 3000);
    QVERIFY2(timer.elapsed() >= 500, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(rig->liveRevision(), 3);
    QCOMPARE(rig->live()->routes().size(), 2);
    const GatewayStatus::Persisted persisted = rig->persistedStatus();
    QCOMPARE(persisted.file, QStringLiteral("config.prev.json"));
    QVERIFY(!persisted.attempts.isEmpty());
    QVERIFY2(persisted.attempts.first().startsWith(QLatin1String("config.json: not JSON")),
             qPrintable(persisted.attempts.first()));

    QVERIFY(m_etcd->resume());
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 10000);
    QCOMPARE(routeIds(rig->live()), QStringList{QStringLiteral("9")});
    QCOMPARE(rig->liveRevision(), revision);
    QTRY_COMPARE_WITH_TIMEOUT(readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.json")))->revision,
                              revision, 2000);
}

void tst_SyncController::noLocalCopyNoControlPlaneServesNothingAndKeepsTrying()
{
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/one"))) > 0);
    m_etcd->stop();
    g_logLines.clear();
    const QtMessageHandler previous = qInstallMessageHandler(captureMessage);
    auto restore = qScopeGuard([previous] { qInstallMessageHandler(previous); });
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 300);
    rig->start();
    // The controller says when its start-up wait is over; from then on it must still serve nothing.
    QTRY_VERIFY_WITH_TIMEOUT(
        !g_logLines.filter(QStringLiteral("no full sync from the control plane within 300 ms")).isEmpty(),
        5000);
    restore.dismiss();
    qInstallMessageHandler(previous);
    QCOMPARE(rig->state(), SyncController::State::Starting);
    QVERIFY(!rig->serving());
    QCOMPARE(rig.published->size(), 0);
    QVERIFY(!rig->sourceStatus().lastError.isEmpty());

    QVERIFY(m_etcd->restart());
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 10000);
    QCOMPARE(routeIds(rig->live()), QStringList{QStringLiteral("1")});
}

void tst_SyncController::serveLocalFirstSwitchesWhenSyncCompletes()
{
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(3), 5, {}, nullptr));
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    const qint64 revision =
        m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/etcd")));
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 3000, true);
    rig->start();
    QCOMPARE(rig.published->size(), 1); // at once, before the event loop runs
    QCOMPARE(rig.published->first().at(1).toLongLong(), 5);
    QVERIFY(rig->state() == SyncController::State::OfflineLocal);
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    QCOMPARE(rig.published->last().at(1).toLongLong(), revision);
    QCOMPARE(
        writtenJson(*rig->live()->routes().value(QStringLiteral("1"))).value(QLatin1String("uri")).toString(),
        QStringLiteral("/etcd"));
}

void tst_SyncController::pagedFullSyncEqualsOneRead()
{
    // Every kind, an invalid object and ignored keys spread over many pages of 7 keys.
    QVERIFY(m_etcd->put("/apisix/routes", "init_dir") > 0);
    QVERIFY(putUpstreams(5));
    QVERIFY(putRoutes(120));
    QVERIFY(m_etcd->put("/apisix/routes/bad", "{\"id\":\"bad\",\"uri\":12,\"upstream_id\":\"1\"}") > 0);
    QVERIFY(m_etcd->put("/apisix/services/s1", "{\"id\":\"s1\",\"upstream_id\":\"2\"}") > 0);
    QVERIFY(m_etcd->put("/apisix/consumers/jack", "{\"username\":\"jack\"}") > 0);
    const qint64 revision = m_etcd->put("/apisix/ssls/1", "{}");
    QVERIFY(revision > 0);

    QTemporaryDir pagedDir;
    Rig paged({m_etcd->endpoint()}, pagedDir.path(), 3000, false, 7);
    QSignalSpy pages(paged.source.get(), &EtcdSource::fullSyncProgress);
    paged->start();
    Rig whole({m_etcd->endpoint()}, m_dir->path(), 3000, false, 100000);
    whole->start();
    QTRY_COMPARE_WITH_TIMEOUT(paged->state(), SyncController::State::InSync, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(whole->state(), SyncController::State::InSync, 10000);
    QCOMPARE(pages.size(), (130 + 6) / 7); // 130 keys

    QCOMPARE(paged->liveRevision(), revision);
    QCOMPARE(whole->liveRevision(), revision);
    QCOMPARE(paged->live()->routes().size(), 120);
    QCOMPARE(paged->live()->upstreams().size(), 5);
    QCOMPARE(paged->live()->services().size(), 1);
    QCOMPARE(routeIds(paged->live()), routeIds(whole->live()));
    QCOMPARE(paged->live()->sha256(), whole->live()->sha256());
    QCOMPARE(paged->ignoredKeys(), 3);
    QCOMPARE(whole->ignoredKeys(), 3);
    QCOMPARE(paged->rejections().size(), 1);
    QCOMPARE(paged->rejections().first().key, QStringLiteral("routes/bad"));
    QCOMPARE(paged->figures().changesApplied, whole->figures().changesApplied);
    // Persisted alike: the same digest in both envelopes.
    QVERIFY(paged->waitPersisted(5000));
    QVERIFY(whole->waitPersisted(5000));
    const auto pagedFile = readFile(QDir(pagedDir.path()).filePath(QStringLiteral("config.json")));
    const auto wholeFile = readFile(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QVERIFY(pagedFile && wholeFile);
    QCOMPARE(pagedFile->recordedSha256, wholeFile->recordedSha256);
    QCOMPARE(pagedFile->recordedSha256, paged->live()->sha256());
    QCOMPARE(pagedFile->revision, revision);
}

// The same keys synced over gRPC and through the JSON gateway: the same live digest, rejections and
// ignored keys, and a local copy byte for byte the same but for the time it was saved.
void tst_SyncController::grpcFullSyncPersistsWhatTheJsonGatewayDoes()
{
    QVERIFY(putUpstreams(3));
    QVERIFY(putRoutes(60));
    QVERIFY(
        m_etcd->put(
            "/apisix/routes/u",
            QStringLiteral(
                "{\"id\":\"u\",\"uri\":\"/ünï/✓\",\"upstream_id\":\"2\",\"priority\":15,\"x_extra\":1.50e3,"
                "\"desc\":\"\\u00e9 \\\"q\\\"\",\"labels\":{\"b\":\"2\",\"a\":\"1\"}}")
                .toUtf8()) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/bad", "{\"id\":\"bad\",\"uri\":12,\"upstream_id\":\"1\"}") > 0);
    QVERIFY(m_etcd->put("/apisix/services/s1", "{\"id\":\"s1\",\"upstream_id\":\"2\"}") > 0);
    const qint64 revision = m_etcd->put("/apisix/consumers/jack", "{\"username\":\"jack\"}");
    QVERIFY(revision > 0);

    g_logLines.clear();
    const QtMessageHandler previous = qInstallMessageHandler(captureMessage);
    auto restore = qScopeGuard([previous] { qInstallMessageHandler(previous); });
    QTemporaryDir grpcDir;
    Rig grpc({m_etcd->endpoint()}, grpcDir.path(), 3000, false, 7, EtcdSettings::FullSyncTransport::Grpc);
    grpc->start();
    QTRY_COMPARE_WITH_TIMEOUT(grpc->state(), SyncController::State::InSync, 10000);
    Rig json({m_etcd->endpoint()}, m_dir->path(), 3000, false, 7, EtcdSettings::FullSyncTransport::Json);
    json->start();
    QTRY_COMPARE_WITH_TIMEOUT(json->state(), SyncController::State::InSync, 10000);
    // Each read the way it was told to.
    restore.dismiss();
    qInstallMessageHandler(previous);
    QCOMPARE(g_logLines.filter(QStringLiteral(" over gRPC ")).size(), 1);
    QCOMPARE(g_logLines.filter(QStringLiteral(" through the JSON gateway ")).size(), 1);

    QCOMPARE(grpc->liveRevision(), revision);
    QCOMPARE(json->liveRevision(), revision);
    QCOMPARE(grpc->live()->routes().size(), 61);
    QCOMPARE(grpc->live()->sha256(), json->live()->sha256());
    QCOMPARE(grpc->ignoredKeys(), json->ignoredKeys());
    QCOMPARE(grpc->rejections().size(), 1);
    QCOMPARE(json->rejections().size(), 1);
    QCOMPARE(grpc->rejections().first().reason, json->rejections().first().reason);

    QVERIFY(grpc->waitPersisted(5000));
    QVERIFY(json->waitPersisted(5000));
    QByteArray grpcFile = readBytes(QDir(grpcDir.path()).filePath(QStringLiteral("config.json")));
    QByteArray jsonFile = readBytes(QDir(m_dir->path()).filePath(QStringLiteral("config.json")));
    QVERIFY(grpcFile.contains("\\u00e9") || grpcFile.contains("é"));
    const QRegularExpression savedAt(QStringLiteral("\"saved_at\": *\"[^\"]*\""));
    const QString grpcText = QString::fromUtf8(grpcFile).replace(savedAt, QString());
    const QString jsonText = QString::fromUtf8(jsonFile).replace(savedAt, QString());
    QVERIFY(grpcText.size() > 1000);
    QCOMPARE(grpcText, jsonText);
    const auto parsed = readFile(QDir(grpcDir.path()).filePath(QStringLiteral("config.json")));
    QVERIFY(parsed);
    QCOMPARE(parsed->recordedSha256, json->live()->sha256());
}

void tst_SyncController::fullSyncRestartedBetweenPagesDropsTheFirstPages()
{
    // Route 1 is on the first page. After that page it is deleted and the history compacted, so the
    // source starts again at a newer revision: what the first attempt's pages held must not come back.
    QVERIFY(putUpstreams(1));
    QVERIFY(putRoutes(9));
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 3000, false, 3);
    int firstPages = 0;
    qint64 afterCompaction = 0;
    connect(rig.source.get(), &EtcdSource::fullSyncProgress, this, [&](qint64, int page, int) {
        if (page == 1 && ++firstPages == 1) {
            afterCompaction = m_etcd->del("/apisix/routes/1");
            QVERIFY(afterCompaction > 0);
            QVERIFY2(m_etcd->compact(afterCompaction), qPrintable(m_etcd->lastError()));
        }
    });
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 10000);
    QCOMPARE(firstPages, 2);
    QCOMPARE(rig->liveRevision(), afterCompaction);
    QCOMPARE(rig->live()->routes().size(), 8);
    QVERIFY(!rig->live()->routes().contains(QStringLiteral("1")));
    QCOMPARE(rig->figures().fullSyncs, quint64(1));
}

void tst_SyncController::fullSyncSharesUnchangedObjectsWithLocalCopy()
{
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(3), 5, {}, nullptr));
    // Routes 1 and 2 and the upstream as the local copy has them (other bytes, same canonical JSON);
    // route 3 changed.
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", R"({ "upstream_id": "1", "uri": "/local/1" })") > 0);
    QVERIFY(m_etcd->put("/apisix/routes/2", R"({"uri":"/local/2","upstream_id":"1"})") > 0);
    const qint64 revision = m_etcd->put("/apisix/routes/3", R"({"uri":"/etcd/3","upstream_id":"1"})");
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 3000, true);
    rig->start();
    const SnapshotPtr local = rig->live();
    QVERIFY(local);
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    QCOMPARE(rig->liveRevision(), revision);
    const SnapshotPtr synced = rig->live();
    QVERIFY(synced != local);
    // The same objects, not equal copies: the configuration is not held twice after a restart.
    QCOMPARE(synced->routes().value(QStringLiteral("1")), local->routes().value(QStringLiteral("1")));
    QCOMPARE(synced->routes().value(QStringLiteral("2")), local->routes().value(QStringLiteral("2")));
    QCOMPARE(synced->upstreams().value(QStringLiteral("1")), local->upstreams().value(QStringLiteral("1")));
    QVERIFY(synced->routes().value(QStringLiteral("3")) != local->routes().value(QStringLiteral("3")));
    QCOMPARE(writtenJson(*synced->routes().value(QStringLiteral("3"))).value(QLatin1String("uri")).toString(),
             QStringLiteral("/etcd/3"));
    // Derived from the local copy it replaces, with what differs: whoever compiled that copy (the
    // router) updates route 3 instead of compiling everything a second time beside it.
    QCOMPARE(synced->base(), local);
    QCOMPARE(synced->changes().routes, QSet<QString>{QStringLiteral("3")});
    QVERIFY(synced->changes().upstreams.isEmpty());
    QVERIFY(synced->changes().services.isEmpty());
}

void tst_SyncController::fullSyncSharesObjectsWithTheLocalCopyNotServed()
{
    // The sync completes before the local copy is served (the usual restart): the objects it finds
    // unchanged are still the local copy's, not a second copy of the configuration.
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(3), 5, {}, nullptr));
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    QVERIFY(m_etcd->put("/apisix/routes/1", R"({"uri":"/local/1","upstream_id":"1"})") > 0);
    QVERIFY(m_etcd->put("/apisix/routes/2", R"({"upstream_id":"1","uri":"/local/2"})") > 0);
    const qint64 revision = m_etcd->put("/apisix/routes/3", R"({"uri":"/etcd/3","upstream_id":"1"})");
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 60000);
    rig->start();
    QVERIFY(!rig->serving());
    QVERIFY(rig->persisted());
    const SnapshotPtr local = rig->persisted()->snapshot;
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    QCOMPARE(rig->liveRevision(), revision);
    const SnapshotPtr synced = rig->live();
    QCOMPARE(synced->routes().value(QStringLiteral("1")), local->routes().value(QStringLiteral("1")));
    QCOMPARE(synced->routes().value(QStringLiteral("2")), local->routes().value(QStringLiteral("2")));
    QCOMPARE(synced->upstreams().value(QStringLiteral("1")), local->upstreams().value(QStringLiteral("1")));
    QVERIFY(synced->routes().value(QStringLiteral("3")) != local->routes().value(QStringLiteral("3")));
    QCOMPARE(synced->routes().value(QStringLiteral("3"))->uris, QVector<QByteArray>{"/etcd/3"});
}

void tst_SyncController::editedLocalCopyIsKeptBesideTheNextSync()
{
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(2), 5, {}, nullptr));
    const QString current = QDir(m_dir->path()).filePath(QStringLiteral("config.json"));
    QByteArray edited = readBytes(current);
    QVERIFY(edited.contains("\"/local/1\""));
    edited.replace("\"/local/1\"", "\"/hand-edited\"");
    {
        QFile file(current);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(edited);
    }
    m_etcd->stop();
    Rig rig({m_etcd->endpoint()}, m_dir->path(), 300);
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::OfflineLocal, 5000);
    QVERIFY(rig->persistedStatus().edited);
    QCOMPARE(
        writtenJson(*rig->live()->routes().value(QStringLiteral("1"))).value(QLatin1String("uri")).toString(),
        QStringLiteral("/hand-edited"));

    QVERIFY(m_etcd->restart());
    const qint64 revision = m_etcd->put("/apisix/upstreams/1", upstream1);
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 10000);
    QVERIFY(rig->waitPersisted(3000));
    QTRY_VERIFY_WITH_TIMEOUT(!rig->persistedStatus().editedKeptAs.isEmpty(), 2000);
    const QString keptAs = rig->persistedStatus().editedKeptAs;
    QVERIFY2(keptAs.startsWith(QLatin1String("config.edited-")), qPrintable(keptAs));
    QCOMPARE(readBytes(QDir(m_dir->path()).filePath(keptAs)), edited);
    QCOMPARE(readFile(current)->revision, revision);
    QVERIFY(!rig->persistedStatus().edited);

    // Later saves rotate generations but never touch the kept copy, and make no second one.
    QVERIFY(m_etcd->put("/apisix/routes/1", route(QStringLiteral("1"), QStringLiteral("/a"))) > 0);
    const qint64 later = m_etcd->put("/apisix/routes/2", route(QStringLiteral("2"), QStringLiteral("/b")));
    QTRY_COMPARE_WITH_TIMEOUT(rig->persisted()->revision, later, 3000);
    QCOMPARE(QDir(m_dir->path()).entryList({QStringLiteral("config.edited-*")}).size(), 1);
    QCOMPARE(readBytes(QDir(m_dir->path()).filePath(keptAs)), edited);
}

void tst_SyncController::reloadLocalRefusedWhileInSync()
{
    ConfigStore store(m_dir->path());
    QVERIFY(store.save(*configWithRoutes(3), 5, {}, nullptr));
    QVERIFY(m_etcd->put("/apisix/upstreams/1", upstream1) > 0);
    Rig rig({m_etcd->endpoint()}, m_dir->path());
    rig->start();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::InSync, 5000);
    const ResyncAnswer refused = rig->reloadLocal();
    QVERIFY(!refused.accepted);
    QVERIFY2(refused.message.contains(QLatin1String("in sync")), qPrintable(refused.message));
    QCOMPARE(rig->live()->routes().size(), 0);

    // Offline, the operator's file is applied.
    QVERIFY(rig->waitPersisted(3000));
    m_etcd->kill();
    QTRY_COMPARE_WITH_TIMEOUT(rig->state(), SyncController::State::Reconnecting, 5000);
    QVERIFY(store.save(*configWithRoutes(4), 6, {}, nullptr));
    const ResyncAnswer accepted = rig->reloadLocal();
    QVERIFY2(accepted.accepted, qPrintable(accepted.message));
    QCOMPARE(rig->state(), SyncController::State::OfflineLocal);
    QCOMPARE(rig->live()->routes().size(), 4);
    QCOMPARE(rig->liveRevision(), 6);
}

QTEST_GUILESS_MAIN(tst_SyncController)
#include "tst_synccontroller.moc"
