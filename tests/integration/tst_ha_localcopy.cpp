// holdfastd's local copy under damage: a truncated newest file, an operator's edit, a full disk.
#include "hascenario.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

class tst_HaLocalCopy : public QObject
{
    Q_OBJECT

private slots:
    void corruptNewestFileServesPreviousGeneration();
    void handEditedFileServedThenKeptBesideNextSync();
    void diskFullKeepsServingAndCatchesUp();
};

namespace {

QString state(const HaScenario &s)
{
    return s.status().value(QLatin1String("state")).toString();
}

// A command that must work (mount, umount); its exit code, -1 when it could not run.
int run(const QString &program, const QStringList &arguments, QByteArray *output = nullptr)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    if (!process.waitForFinished(10000) || process.exitStatus() != QProcess::NormalExit)
        return -1;
    if (output)
        *output = process.readAll();
    return process.exitCode();
}

// Unmounts the tmpfs under the gateway's data dir once the gateway has stopped, whatever the test's end.
class TmpfsMount
{
public:
    TmpfsMount(HaScenario *s)
        : m_scenario(s)
    {}
    ~TmpfsMount()
    {
        if (m_mounted) {
            m_scenario->gateway().stop();
            run(QStringLiteral("umount"), {QStringLiteral("-l"), m_scenario->gateway().dataDir()});
        }
    }
    bool mount(const QString &size, QByteArray *output)
    {
        m_mounted = run(QStringLiteral("mount"),
                        {QStringLiteral("-t"), QStringLiteral("tmpfs"), QStringLiteral("-o"),
                         QStringLiteral("size=%1,mode=0700").arg(size), QStringLiteral("tmpfs"),
                         m_scenario->gateway().dataDir()},
                        output) == 0;
        return m_mounted;
    }

private:
    HaScenario *m_scenario;
    bool m_mounted = false;
};

} // namespace

void tst_HaLocalCopy::corruptNewestFileServesPreviousGeneration()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    const qint64 first = s.put("routes/1", HaScenario::route("/one"));
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), first, 5000);
    const qint64 second = s.put("routes/2", HaScenario::route("/two"));
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), second, 3000);
    QCOMPARE(s.persistedRevision(QStringLiteral("config.prev.json")), first);
    s.gateway().stop();
    s.etcd().stop();

    // Cut in half, as a crash of the disk itself (not of a save, which is atomic) would leave it.
    QFile current(s.gateway().filePath(QStringLiteral("config.json")));
    QVERIFY(current.resize(current.size() / 2));

    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("offline_local"), 5000);
    QCOMPARE(s.proxyStatus("/one"), 200);
    QCOMPARE(s.proxyStatus("/two"), 404);
    QCOMPARE(GatewayProcess::request(s.gateway().adminPort(), "GET", "/readyz").status, 200);
    const QJsonObject status = s.status();
    QCOMPARE(HaScenario::at(status, QStringLiteral("live/revision")).toInteger(), first);
    QCOMPARE(HaScenario::at(status, QStringLiteral("live/from")).toString(), QStringLiteral("local_copy"));
    QCOMPARE(HaScenario::at(status, QStringLiteral("persisted/file")).toString(),
             QStringLiteral("config.prev.json"));
    QCOMPARE(HaScenario::at(status, QStringLiteral("persisted/revision")).toInteger(), first);
    QVERIFY(!HaScenario::at(status, QStringLiteral("persisted/edited")).toBool());
    // Why the newest generation was passed over, in the operator's words.
    const QJsonArray attempts = HaScenario::at(status, QStringLiteral("persisted/attempts")).toArray();
    QCOMPARE(attempts.size(), 2);
    const QString why = attempts.at(0).toString();
    QVERIFY2(why.startsWith(QLatin1String("config.json: not JSON")), qPrintable(why));
    QVERIFY2(attempts.at(1).toString().startsWith(QLatin1String("config.prev.json: loaded")),
             qPrintable(attempts.at(1).toString()));
    // The damaged file is evidence: nothing rewrote it while offline.
    QCOMPARE(s.persistedRevision(), -1);
}

void tst_HaLocalCopy::handEditedFileServedThenKeptBesideNextSync()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    const qint64 first = s.put("routes/1", HaScenario::route("/one"));
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), first, 5000);
    s.gateway().stop();
    s.etcd().stop();

    // The operator moves route 1 to /edited in the file; the recorded sha256 no longer matches.
    QJsonObject file = *s.gateway().persistedFile();
    QJsonObject config = file.value(QLatin1String("config")).toObject();
    QJsonObject routes = config.value(QLatin1String("routes")).toObject();
    QJsonObject route = routes.value(QLatin1String("1")).toObject();
    route.insert(QStringLiteral("uri"), QStringLiteral("/edited"));
    routes.insert(QStringLiteral("1"), route);
    config.insert(QStringLiteral("routes"), routes);
    file.insert(QStringLiteral("config"), config);
    QFile out(s.gateway().filePath(QStringLiteral("config.json")));
    QVERIFY(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
    const QByteArray edited = QJsonDocument(file).toJson(QJsonDocument::Indented);
    QCOMPARE(out.write(edited), qint64(edited.size()));
    out.close();

    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("offline_local"), 5000);
    QCOMPARE(s.proxyStatus("/edited"), 200);
    QCOMPARE(s.proxyStatus("/one"), 404);
    QJsonObject status = s.status();
    QCOMPARE(HaScenario::at(status, QStringLiteral("persisted/file")).toString(),
             QStringLiteral("config.json"));
    QVERIFY(HaScenario::at(status, QStringLiteral("persisted/edited")).toBool());
    QCOMPARE(HaScenario::at(status, QStringLiteral("live/revision")).toInteger(), first);

    // The control plane returns: its configuration wins, and the edit is kept beside it.
    QVERIFY2(s.etcd().restart(), qPrintable(s.etcd().lastError()));
    const qint64 later = s.put("routes/2", HaScenario::route("/two"));
    QVERIFY(later > 0);
    QTRY_COMPARE_WITH_TIMEOUT(state(s), QStringLiteral("in_sync"), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/two"), 200, 3000);
    QCOMPARE(s.proxyStatus("/one"), 200);
    QCOMPARE(s.proxyStatus("/edited"), 404);
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), later, 3000);

    const QStringList kept =
        QDir(s.gateway().dataDir()).entryList({QStringLiteral("config.edited-*.json")}, QDir::Files);
    QCOMPARE(kept.size(), 1);
    QFile keptFile(s.gateway().filePath(kept.first()));
    QVERIFY(keptFile.open(QIODevice::ReadOnly));
    QCOMPARE(keptFile.readAll(), edited);
    QCOMPARE(keptFile.permissions() & (QFile::ReadGroup | QFile::ReadOther), QFile::Permissions());

    status = s.status();
    QVERIFY(!HaScenario::at(status, QStringLiteral("persisted/edited")).toBool());
    QCOMPARE(HaScenario::at(status, QStringLiteral("persisted/edited_kept_as")).toString(), kept.first());
    const auto onDisk = s.gateway().persistedFile();
    QCOMPARE(HaScenario::at(*onDisk, QStringLiteral("config/routes/1/uri")).toString(),
             QStringLiteral("/one"));
}

void tst_HaLocalCopy::diskFullKeepsServingAndCatchesUp()
{
#ifdef Q_OS_UNIX
    if (::geteuid() != 0)
        QSKIP("mounting a small tmpfs as data_dir needs root");
#else
    QSKIP("a full disk is simulated with a tmpfs mount (Linux)");
#endif
    HaScenario s;
    QString error;
    QVERIFY2(s.start(&error), qPrintable(error));
    TmpfsMount mount(&s);
    QByteArray mountOutput;
    if (!mount.mount(QStringLiteral("512k"), &mountOutput))
        QSKIP(
            qPrintable(QStringLiteral("cannot mount a tmpfs: %1").arg(QString::fromLocal8Bit(mountOutput))));

    QVERIFY(s.put("upstreams/1", s.upstream()) > 0);
    const qint64 first = s.put("routes/1", HaScenario::route("/one"));
    QVERIFY2(s.startGateway(), qPrintable(s.dump()));
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), first, 5000);
    const QByteArray before = [&] {
        QFile f(s.gateway().filePath(QStringLiteral("config.json")));
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }();

    // Fill every block that is left.
    QFile filler(s.gateway().filePath(QStringLiteral("filler")));
    QVERIFY(filler.open(QIODevice::WriteOnly | QIODevice::Unbuffered));
    const QByteArray block(16 * 1024, 'x');
    qint64 filled = 0;
    for (qint64 n; (n = filler.write(block)) > 0;)
        filled += n;
    filler.close();
    QVERIFY(filled > 0);

    s.startTraffic("/one");
    const qint64 second = s.put("routes/2", HaScenario::route("/two"));
    QVERIFY(second > 0);
    QTRY_COMPARE_WITH_TIMEOUT(s.proxyStatus("/two"), 200, 3000);
    QTRY_VERIFY_WITH_TIMEOUT(
        !HaScenario::at(s.status(), QStringLiteral("persisted/error")).toString().isEmpty(), 3000);
    const QJsonObject status = s.status();
    const QString persistError = HaScenario::at(status, QStringLiteral("persisted/error")).toString();
    QVERIFY2(persistError.contains(s.gateway().dataDir()), qPrintable(persistError));
    QCOMPARE(HaScenario::at(status, QStringLiteral("persisted/revision")).toInteger(), first);
    QCOMPARE(HaScenario::at(status, QStringLiteral("live/revision")).toInteger(), second);
    QCOMPARE(state(s), QStringLiteral("in_sync"));
    QCOMPARE(s.metric("holdfast_persist_error"), 1.0);
    // The previous file is intact, byte for byte.
    QFile current(s.gateway().filePath(QStringLiteral("config.json")));
    QVERIFY(current.open(QIODevice::ReadOnly));
    QCOMPARE(current.readAll(), before);
    current.close();

    QVERIFY(QFile::remove(filler.fileName()));
    QTRY_COMPARE_WITH_TIMEOUT(s.persistedRevision(), second, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(HaScenario::at(s.status(), QStringLiteral("persisted/error")).isNull(), 2000);
    QCOMPARE(HaScenario::at(s.status(), QStringLiteral("persisted/revision")).toInteger(), second);
    QCOMPARE(s.metric("holdfast_persist_error"), 0.0);

    const HaScenario::Traffic traffic = s.stopTraffic();
    QVERIFY2(traffic.failures == 0, qPrintable(QStringLiteral("%1 of %2 requests failed; first: %3")
                                                   .arg(traffic.failures)
                                                   .arg(traffic.requests)
                                                   .arg(traffic.firstFailure)));
    QVERIFY(traffic.requests > 0);
}

QTEST_GUILESS_MAIN(tst_HaLocalCopy)
#include "tst_ha_localcopy.moc"
