// Tests of ConfigStore on real files: generations, the load chain, failed writes and crashes mid-save.
#include "configstore.h"
#include "testconfig.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QtTest>

#ifdef Q_OS_UNIX
#include <sys/stat.h>
#include <unistd.h>
#endif
#ifdef Q_OS_LINUX
#include <sys/mount.h>
#endif

namespace {

using Step = ConfigStore::SaveStep;
using TestSupport::snapshotOf;

// routes "1".."count", each with an inline upstream; padding makes the file as large as a test needs.
QJsonObject makeConfig(int count, const QString &uriPrefix = QStringLiteral("/r"), int padding = 0)
{
    QJsonObject routes;
    for (int i = 1; i <= count; ++i) {
        QJsonObject route{
            {QStringLiteral("uri"), QStringLiteral("%1%2").arg(uriPrefix).arg(i)},
            {QStringLiteral("upstream"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("roundrobin")},
                         {QStringLiteral("nodes"), QJsonObject{{QStringLiteral("127.0.0.1:8080"), 1}}}}}};
        if (padding > 0)
            route.insert(QStringLiteral("desc"), QString(padding, QLatin1Char('x')));
        routes.insert(QString::number(i), route);
    }
    return QJsonObject{{QStringLiteral("routes"), routes}};
}

const QJsonObject &testSource()
{
    static const QJsonObject source{
        {QStringLiteral("type"), QStringLiteral("etcd")},
        {QStringLiteral("endpoints"), QJsonArray{QStringLiteral("http://127.0.0.1:2379")}},
        {QStringLiteral("prefix"), QStringLiteral("/apisix")}};
    return source;
}

QByteArray readBytes(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QByteArrayLiteral("<unreadable>");
    return file.readAll();
}

bool writeBytes(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(bytes) == bytes.size();
}

#ifdef Q_OS_UNIX
int fileMode(const QString &path)
{
    struct stat st = {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return -1;
    return int(st.st_mode & 07777);
}
#endif

QStringList entries(const QString &dir)
{
    return QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                               QDir::Name);
}

#ifdef Q_OS_UNIX
bool isRoot()
{
    return ::geteuid() == 0;
}
#endif

// A small tmpfs, mounted for one test and unmounted when the object goes, whatever the test's outcome.
class TmpfsMount
{
public:
    TmpfsMount() = default;
    TmpfsMount(const TmpfsMount &) = delete;
    TmpfsMount &operator=(const TmpfsMount &) = delete;
    ~TmpfsMount() { unmount(); }

    bool mount(const QString &dir, const char *options)
    {
#ifdef Q_OS_LINUX
        if (!isRoot() || ::mount("tmpfs", QFile::encodeName(dir).constData(), "tmpfs", 0, options) != 0)
            return false;
        m_dir = dir;
        return true;
#else
        Q_UNUSED(dir);
        Q_UNUSED(options);
        return false;
#endif
    }

    bool remountReadOnly()
    {
#ifdef Q_OS_LINUX
        return ::mount("tmpfs", QFile::encodeName(m_dir).constData(), "tmpfs", MS_REMOUNT | MS_RDONLY,
                       nullptr) == 0;
#else
        return false;
#endif
    }

    void unmount()
    {
#ifdef Q_OS_LINUX
        if (!m_dir.isEmpty() && ::umount2(QFile::encodeName(m_dir).constData(), MNT_DETACH) != 0)
            qWarning("cannot unmount %s", qPrintable(m_dir));
#endif
        m_dir.clear();
    }

private:
    QString m_dir;
};

struct WriterResult
{
    bool started = false;
    QProcess::ExitStatus status = QProcess::NormalExit;
    int exitCode = -1;
    QByteArray output;
};

WriterResult runWriter(const QString &dataDir, const QJsonObject &config, qint64 revision,
                       const QStringList &options, const QString &scratchDir)
{
    WriterResult result;
    const QString configPath = QDir(scratchDir).filePath(QStringLiteral("writer-input.json"));
    if (!writeBytes(configPath, QJsonDocument(config).toJson(QJsonDocument::Compact)))
        return result;
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(QStringLiteral(STORE_WRITER_PATH),
                  QStringList{dataDir, configPath, QString::number(revision)} + options);
    result.started = process.waitForStarted(10000);
    if (!result.started || !process.waitForFinished(20000)) {
        process.kill();
        process.waitForFinished(5000);
        result.started = false;
        return result;
    }
    result.status = process.exitStatus();
    result.exitCode = process.exitCode();
    result.output = process.readAll();
    return result;
}

} // namespace

class tst_ConfigStore : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip();
    void lineByLineReadEqualsWholeDocument();
    void serializeWritesTheEnvelope();
    void secondSaveKeepsPrevious();
    void dataDirIsCreatedPrivate();
    void loadFallsBackToPrevious_data();
    void loadFallsBackToPrevious();
    void handEditedFileIsLoadedAsEdited();
    void fileWrittenByOlderVersionLoadsAndRotates();
    void neitherGenerationLoads();
    void emptyDataDir();
    void corruptCurrentIsNeverRotated();
    void leftoverTempLinkIsIgnoredAndRemoved();
    void parseBareConfig();
    void fullFilesystemLeavesFilesIntact();
    void fileSizeLimitLeavesFilesIntact();
    void readOnlyDirectoryLeavesFilesIntact();
    void crashAtEveryStepKeepsAGeneration();
};

void tst_ConfigStore::lineByLineReadEqualsWholeDocument()
{
    // Every kind, ids that need escaping or sort apart in UTF-8, an empty collection: the file as written
    // (read line by line) and the same JSON laid out otherwise (read as one document) give one result.
    QJsonObject config = makeConfig(40);
    QJsonObject routes = config.value(QStringLiteral("routes")).toObject();
    for (const QString &id :
         {QStringLiteral("q\"uote"), QStringLiteral("back\\slash"), QStringLiteral("\u00e9t\u00e9"),
          QString::fromUtf8("\xF0\x9F\x98\x80"), QStringLiteral("tab\tid")})
        routes.insert(id, QJsonObject{{QStringLiteral("uri"), QStringLiteral("/odd")},
                                      {QStringLiteral("upstream_id"), QStringLiteral("u1")},
                                      {QStringLiteral("desc"), QStringLiteral("a\nb \"c\"")}});
    config.insert(QStringLiteral("routes"), routes);
    config.insert(QStringLiteral("upstreams"),
                  QJsonObject{{QStringLiteral("u1"),
                               QJsonObject{{QStringLiteral("nodes"), QJsonObject{{QStringLiteral("h:1"), 1}}},
                                           {QStringLiteral("x-unknown"), 1.5}}}});
    const SnapshotPtr snapshot = snapshotOf(config);
    QVERIFY(snapshot);
    const QByteArray asWritten =
        ConfigStore::serialize(*snapshot, 77, testSource(), QDateTime::currentDateTimeUtc());
    const QByteArray reformatted = QJsonDocument::fromJson(asWritten).toJson(QJsonDocument::Indented);
    QVERIFY(asWritten != reformatted);
    QStringList errors;
    const auto lines = ConfigStore::parse(asWritten, &errors);
    QVERIFY2(lines, qPrintable(errors.join(QLatin1Char('\n'))));
    const auto whole = ConfigStore::parse(reformatted, &errors);
    QVERIFY2(whole, qPrintable(errors.join(QLatin1Char('\n'))));
    QCOMPARE(lines->revision, 77);
    QCOMPARE(lines->revision, whole->revision);
    QCOMPARE(lines->source, whole->source);
    QCOMPARE(lines->savedAt, whole->savedAt);
    QCOMPARE(lines->recordedSha256, whole->recordedSha256);
    QVERIFY(!lines->edited);
    QVERIFY(!whole->edited);
    QCOMPARE(lines->snapshot->sha256(), snapshot->sha256());
    QCOMPARE(lines->snapshot->routes().keys(), snapshot->routes().keys());
    QCOMPARE(lines->snapshot->upstreams().keys(), QStringList{QStringLiteral("u1")});
    QVERIFY(lines->snapshot->services().isEmpty());
    QCOMPARE(lines->snapshot->json(), whole->snapshot->json());

    // What the whole document refuses, the line reader does not accept either.
    const qsizetype firstObject = asWritten.indexOf("\n            \"");
    QVERIFY(firstObject > 0);
    const qsizetype comma = asWritten.indexOf(",\n", firstObject);
    QByteArray noComma = asWritten;
    noComma.remove(comma, 1);
    errors.clear();
    QVERIFY(!ConfigStore::parse(noComma, &errors));
    QVERIFY2(errors.join(QLatin1Char(' ')).contains(QLatin1String("not JSON")),
             qPrintable(errors.join(QLatin1Char(' '))));
    errors.clear();
    QVERIFY(!ConfigStore::parse(asWritten + "}", &errors));
    QVERIFY2(errors.join(QLatin1Char(' ')).contains(QLatin1String("not JSON")),
             qPrintable(errors.join(QLatin1Char(' '))));
    // An object edited in place on its line (still valid): loaded, and seen as edited.
    QByteArray edited = asWritten;
    edited.replace("\"uri\":\"/r1\"", "\"uri\":\"/edited\"");
    const auto loadedEdited = ConfigStore::parse(edited, &errors);
    QVERIFY(loadedEdited);
    QVERIFY(loadedEdited->edited);
    QCOMPARE(loadedEdited->snapshot->routes().value(QStringLiteral("1"))->uris.first(),
             QByteArray("/edited"));
    // An object made invalid on its line: the same error as the whole-document read gives.
    QByteArray invalid = asWritten;
    invalid.replace("\"uri\":\"/r1\"", "\"uri\":12");
    QStringList lineErrors;
    QVERIFY(!ConfigStore::parse(invalid, &lineErrors));
    QStringList wholeErrors;
    QVERIFY(!ConfigStore::parse(QJsonDocument::fromJson(invalid).toJson(), &wholeErrors));
    QCOMPARE(lineErrors, wholeErrors);
    QVERIFY2(lineErrors.join(QLatin1Char(' ')).contains(QLatin1String("routes/1")),
             qPrintable(lineErrors.join(QLatin1Char(' '))));
}

void tst_ConfigStore::roundTrip()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const SnapshotPtr snapshot = snapshotOf(makeConfig(3));
    QVERIFY(snapshot);

    ConfigStore store(dir.path());
    QList<Step> steps;
    store.setStepHook([&steps](Step s) { steps.append(s); });
    QString error;
    QVERIFY2(store.save(*snapshot, 42, testSource(), &error), qPrintable(error));
    QVERIFY(error.isEmpty());
    QCOMPARE(steps, (QList<Step>{Step::Begin, Step::PreviousLinked, Step::TempWritten, Step::Committed,
                                 Step::PreviousRotated, Step::DirectorySynced}));
    QCOMPARE(entries(dir.path()), QStringList{QStringLiteral("config.json")});
#ifdef Q_OS_UNIX
    // On Windows the data folder's ACL (WinDataDir, set by the service) is what keeps others out.
    QCOMPARE(fileMode(dir.filePath(QStringLiteral("config.json"))), 0600);
    QCOMPARE(QFile::permissions(dir.filePath(QStringLiteral("config.json"))) &
                 (QFile::ReadGroup | QFile::WriteGroup | QFile::ReadOther | QFile::WriteOther),
             QFile::Permissions());
#endif

    ConfigStore reader(dir.path());
    const ConfigStore::LoadResult loaded = reader.load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->file, QStringLiteral("config.json"));
    QCOMPARE(loaded.config->revision, 42);
    QCOMPARE(loaded.config->source, testSource());
    QCOMPARE(loaded.config->recordedSha256, snapshot->sha256());
    QCOMPARE(loaded.config->snapshot->sha256(), snapshot->sha256());
    QCOMPARE(loaded.config->snapshot->canonicalJson(), snapshot->canonicalJson());
    QVERIFY(!loaded.config->edited);
    QVERIFY(loaded.config->savedAt.isValid());
    QVERIFY(qAbs(loaded.config->savedAt.secsTo(QDateTime::currentDateTimeUtc())) < 60);
    QCOMPARE(loaded.attempts, QStringList{QStringLiteral("config.json: loaded (revision 42)")});
}

void tst_ConfigStore::serializeWritesTheEnvelope()
{
    const SnapshotPtr snapshot = snapshotOf(makeConfig(2));
    QVERIFY(snapshot);
    const QDateTime savedAt(QDate(2026, 11, 24), QTime(12, 0, 0, 7), Qt::UTC);
    const QByteArray bytes = ConfigStore::serialize(*snapshot, 1234, testSource(), savedAt);

    QJsonParseError parseError;
    const QJsonObject envelope = QJsonDocument::fromJson(bytes, &parseError).object();
    QCOMPARE(parseError.error, QJsonParseError::NoError);
    QCOMPARE(envelope.value(QLatin1String("format")).toString(), QStringLiteral("holdfast-config/1"));
    QCOMPARE(envelope.value(QLatin1String("revision")).toInteger(), 1234);
    QCOMPARE(envelope.value(QLatin1String("source")).toObject(), testSource());
    QCOMPARE(envelope.value(QLatin1String("saved_at")).toString(),
             QStringLiteral("2026-11-24T12:00:00.007Z"));
    QCOMPARE(envelope.value(QLatin1String("sha256")).toString().toLatin1(), snapshot->sha256());
    QVERIFY(QRegularExpression(QStringLiteral("^[0-9a-f]{64}$"))
                .match(QString::fromLatin1(snapshot->sha256()))
                .hasMatch());
    QCOMPARE(envelope.value(QLatin1String("config")).toObject(), snapshot->json());
    QCOMPARE(envelope.size(), 6);

    // A local time is written as UTC, always with milliseconds and "Z".
    const QByteArray local = ConfigStore::serialize(*snapshot, 1, {}, QDateTime::currentDateTime());
    const QString savedAtText =
        QJsonDocument::fromJson(local).object().value(QLatin1String("saved_at")).toString();
    QVERIFY2(QRegularExpression(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"))
                 .match(savedAtText)
                 .hasMatch(),
             qPrintable(savedAtText));

    bool wasEnvelope = false;
    QStringList errors;
    const auto parsed = ConfigStore::parse(bytes, &errors, &wasEnvelope);
    QVERIFY2(parsed, qPrintable(errors.join(QLatin1Char('\n'))));
    QVERIFY(wasEnvelope);
    QCOMPARE(parsed->revision, 1234);
    QCOMPARE(parsed->savedAt, savedAt);
    QVERIFY(!parsed->edited);
}

void tst_ConfigStore::secondSaveKeepsPrevious()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    ConfigStore store(dir.path());
    const SnapshotPtr first = snapshotOf(makeConfig(1, QStringLiteral("/first")));
    const SnapshotPtr second = snapshotOf(makeConfig(2, QStringLiteral("/second")));
    const SnapshotPtr third = snapshotOf(makeConfig(3, QStringLiteral("/third")));
    QVERIFY(first && second && third);
    QString error;
    QVERIFY2(store.save(*first, 1, testSource(), &error), qPrintable(error));
    const QByteArray firstBytes = readBytes(dir.filePath(QStringLiteral("config.json")));
    QVERIFY2(store.save(*second, 2, testSource(), &error), qPrintable(error));
    QCOMPARE(entries(dir.path()),
             (QStringList{QStringLiteral("config.json"), QStringLiteral("config.prev.json")}));
    QCOMPARE(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), firstBytes);
#ifdef Q_OS_UNIX
    QCOMPARE(fileMode(dir.filePath(QStringLiteral("config.json"))), 0600);
    QCOMPARE(fileMode(dir.filePath(QStringLiteral("config.prev.json"))), 0600);
#endif

    const QByteArray secondBytes = readBytes(dir.filePath(QStringLiteral("config.json")));
    QVERIFY2(store.save(*third, 3, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), secondBytes);
    QCOMPARE(entries(dir.path()),
             (QStringList{QStringLiteral("config.json"), QStringLiteral("config.prev.json")}));

    const auto loaded = ConfigStore(dir.path()).load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->revision, 3);
    QCOMPARE(loaded.config->snapshot->sha256(), third->sha256());
}

void tst_ConfigStore::dataDirIsCreatedPrivate()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dataDir = dir.filePath(QStringLiteral("var/lib/holdfast"));
    const SnapshotPtr snapshot = snapshotOf(makeConfig(1));
    QVERIFY(snapshot);
    ConfigStore store(dataDir);
    QString error;
    QVERIFY2(store.save(*snapshot, 1, testSource(), &error), qPrintable(error));
    QVERIFY(QFileInfo::exists(QDir(dataDir).filePath(QStringLiteral("config.json"))));
#ifdef Q_OS_UNIX
    QCOMPARE(fileMode(dataDir), 0700);
#endif
}

void tst_ConfigStore::loadFallsBackToPrevious_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected"); // a prefix of the attempt line for config.json

    const SnapshotPtr snapshot = snapshotOf(makeConfig(4));
    QVERIFY(snapshot);
    const QByteArray valid =
        ConfigStore::serialize(*snapshot, 9, testSource(), QDateTime::currentDateTimeUtc());

    QTest::newRow("truncated") << valid.left(valid.size() / 2) << QStringLiteral("config.json: not JSON: ");
    QTest::newRow("empty") << QByteArray() << QStringLiteral("config.json: not JSON: empty file");
    QByteArray binary;
    for (int i = 0; i < 512; ++i)
        binary.append(char((i * 131 + 7) & 0xff));
    QTest::newRow("binary") << binary << QStringLiteral("config.json: not JSON: ");
    QTest::newRow("not JSON") << QByteArrayLiteral("routes:\n  - uri: /a\n")
                              << QStringLiteral("config.json: not JSON: ");
    QTest::newRow("array") << QByteArrayLiteral("[1, 2]")
                           << QStringLiteral("config.json: wrong format: expected a JSON object, got array");

    QJsonObject envelope = QJsonDocument::fromJson(valid).object();
    QJsonObject other = envelope;
    other.insert(QStringLiteral("format"), QStringLiteral("other/9"));
    QTest::newRow("wrong format")
        << QJsonDocument(other).toJson()
        << QStringLiteral("config.json: wrong format: \"other/9\", expected \"holdfast-config/1\"");
    QJsonObject noFormat = envelope;
    noFormat.remove(QStringLiteral("format"));
    QTest::newRow("no format") << QJsonDocument(noFormat).toJson()
                               << QStringLiteral("config.json: wrong format: no \"format\" member");
    QTest::newRow("bare config") << QJsonDocument(snapshot->json()).toJson()
                                 << QStringLiteral("config.json: wrong format: a bare config object");

    QJsonObject invalid = envelope;
    QJsonObject config = invalid.value(QLatin1String("config")).toObject();
    QJsonObject routes = config.value(QLatin1String("routes")).toObject();
    QJsonObject route = routes.value(QLatin1String("1")).toObject();
    route.insert(QStringLiteral("uri"), 7);
    routes.insert(QStringLiteral("1"), route);
    config.insert(QStringLiteral("routes"), routes);
    invalid.insert(QStringLiteral("config"), config);
    QTest::newRow("invalid object") << QJsonDocument(invalid).toJson()
                                    << QStringLiteral("config.json: invalid: routes/1: /uri: ");

    QJsonObject badRevision = envelope;
    badRevision.insert(QStringLiteral("revision"), QStringLiteral("nine"));
    QTest::newRow("revision not a number")
        << QJsonDocument(badRevision).toJson()
        << QStringLiteral("config.json: invalid: /revision: expected integer");
    QJsonObject noConfig = envelope;
    noConfig.remove(QStringLiteral("config"));
    QTest::newRow("no config") << QJsonDocument(noConfig).toJson()
                               << QStringLiteral("config.json: invalid: /config: missing");
    // A directory where the file should be: readable by nobody as a file, root included.
    QTest::newRow("unreadable") << QByteArrayLiteral("<directory>")
                                << QStringLiteral("config.json: unreadable: ");
}

void tst_ConfigStore::loadFallsBackToPrevious()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString current = dir.filePath(QStringLiteral("config.json"));
    const QString previous = dir.filePath(QStringLiteral("config.prev.json"));
    const SnapshotPtr good = snapshotOf(makeConfig(2, QStringLiteral("/good")));
    QVERIFY(good);
    {
        ConfigStore store(dir.path());
        QString error;
        QVERIFY2(store.save(*good, 1, testSource(), &error), qPrintable(error));
        QVERIFY2(store.save(*good, 2, testSource(), &error), qPrintable(error));
    }
    const bool directory = bytes == "<directory>";
    if (directory)
        QVERIFY(QFile::remove(current) && QDir().mkdir(current));
    else
        QVERIFY(writeBytes(current, bytes));
    const QByteArray previousBytes = readBytes(previous);

    ConfigStore store(dir.path());
    const ConfigStore::LoadResult loaded = store.load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->file, QStringLiteral("config.prev.json"));
    QCOMPARE(loaded.config->revision, 1);
    QVERIFY(!loaded.config->edited);
    QCOMPARE(loaded.config->snapshot->sha256(), good->sha256());
    QCOMPARE(loaded.attempts.size(), 2);
    QVERIFY2(loaded.attempts.at(0).startsWith(expected), qPrintable(loaded.attempts.at(0)));
    QCOMPARE(loaded.attempts.at(1), QStringLiteral("config.prev.json: loaded (revision 1)"));
    if (QByteArray(QTest::currentDataTag()) == "invalid object")
        QVERIFY2(loaded.attempts.at(0).contains(QLatin1String("number")), qPrintable(loaded.attempts.at(0)));

    if (directory)
        return; // nothing can be saved over a directory; the load chain is what this row is about
    // The next save must not rotate the broken file into config.prev.json: that is the only good one.
    const SnapshotPtr next = snapshotOf(makeConfig(1, QStringLiteral("/next")));
    QVERIFY(next);
    QString error;
    QVERIFY2(store.save(*next, 3, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(previous), previousBytes);
    const auto reloaded = ConfigStore(dir.path()).load();
    QVERIFY(reloaded.config);
    QCOMPARE(reloaded.config->revision, 3);
    QCOMPARE(entries(dir.path()),
             (QStringList{QStringLiteral("config.json"), QStringLiteral("config.prev.json")}));
}

void tst_ConfigStore::handEditedFileIsLoadedAsEdited()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString current = dir.filePath(QStringLiteral("config.json"));
    const SnapshotPtr snapshot = snapshotOf(makeConfig(2, QStringLiteral("/original")));
    QVERIFY(snapshot);
    QString error;
    QVERIFY2(ConfigStore(dir.path()).save(*snapshot, 5, testSource(), &error), qPrintable(error));

    QByteArray bytes = readBytes(current);
    QVERIFY(bytes.contains("\"/original1\""));
    bytes.replace("\"/original1\"", "\"/edited1\"");
    QVERIFY(writeBytes(current, bytes));

    ConfigStore store(dir.path());
    const auto loaded = store.load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->file, QStringLiteral("config.json"));
    QCOMPARE(loaded.config->revision, 5);
    QVERIFY(loaded.config->edited);
    QCOMPARE(loaded.config->recordedSha256, snapshot->sha256());
    QVERIFY(loaded.config->snapshot->sha256() != snapshot->sha256());
    const QJsonObject routes = loaded.config->snapshot->json().value(QLatin1String("routes")).toObject();
    QCOMPARE(routes.value(QLatin1String("1")).toObject().value(QLatin1String("uri")).toString(),
             QStringLiteral("/edited1"));
    QCOMPARE(loaded.attempts, QStringList{QStringLiteral("config.json: loaded (revision 5, edited)")});

    // The first save after the edit keeps the edited file beside the new one.
    QVERIFY2(store.save(*snapshot, 6, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), bytes);
}

void tst_ConfigStore::fileWrittenByOlderVersionLoadsAndRotates()
{
    // The bytes ConfigStore::serialize wrote before objects were kept one per line (commit 8580200): the
    // whole envelope as indented QJsonDocument text. Such files stay on disk across an upgrade.
    const auto olderSerialize = [](const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source,
                                   const QDateTime &savedAt) {
        QByteArray config = QJsonDocument(snapshot.json()).toJson(QJsonDocument::Indented).trimmed();
        config.replace('\n', QByteArrayLiteral("\n    "));
        QByteArray out = QByteArrayLiteral("{\n    \"format\": \"holdfast-config/1\",\n    \"revision\": ");
        out += QByteArray::number(revision);
        out += QByteArrayLiteral(",\n    \"source\": ");
        out += QJsonDocument(source).toJson(QJsonDocument::Compact);
        out += QByteArrayLiteral(",\n    \"saved_at\": \"");
        out += savedAt.toUTC().toString(Qt::ISODateWithMs).toLatin1();
        out += QByteArrayLiteral("\",\n    \"sha256\": \"");
        out += snapshot.sha256();
        out += QByteArrayLiteral("\",\n    \"config\": ");
        out += config;
        out += QByteArrayLiteral("\n}\n");
        return out;
    };
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const SnapshotPtr older = snapshotOf(makeConfig(3, QStringLiteral("/older")));
    QVERIFY(older);
    const QByteArray olderBytes = olderSerialize(*older, 11, testSource(), QDateTime::currentDateTimeUtc());
    QVERIFY(olderBytes.contains("\n                \"uri\": \"/older1\""));
    QVERIFY(writeBytes(dir.filePath(QStringLiteral("config.json")), olderBytes));

    ConfigStore store(dir.path());
    const auto loaded = store.load();
    QVERIFY2(loaded.config, qPrintable(loaded.attempts.join(QLatin1String("; "))));
    QCOMPARE(loaded.config->revision, 11);
    QVERIFY(!loaded.config->edited);
    QCOMPARE(loaded.config->snapshot->sha256(), older->sha256());

    // The next save writes the new layout and keeps the older file, unchanged, as the previous generation.
    const SnapshotPtr newer = snapshotOf(makeConfig(4, QStringLiteral("/newer")));
    QVERIFY(newer);
    QString error;
    QVERIFY2(store.save(*newer, 12, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), olderBytes);
    QCOMPARE(store.savedSha256(), newer->sha256());
    const auto reloaded = ConfigStore(dir.path()).load();
    QVERIFY(reloaded.config);
    QCOMPARE(reloaded.config->revision, 12);
    QVERIFY(!reloaded.config->edited);
    QCOMPARE(reloaded.config->snapshot->sha256(), newer->sha256());
}

void tst_ConfigStore::neitherGenerationLoads()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QVERIFY(
        writeBytes(dir.filePath(QStringLiteral("config.json")), QByteArrayLiteral("{\"format\": \"holdf")));
    QVERIFY(writeBytes(dir.filePath(QStringLiteral("config.prev.json")),
                       QByteArrayLiteral("{\"format\": \"other/9\", \"revision\": 1, \"config\": {}}")));
    const auto loaded = ConfigStore(dir.path()).load();
    QVERIFY(!loaded.config);
    QCOMPARE(loaded.attempts.size(), 2);
    QVERIFY2(loaded.attempts.at(0).startsWith(QLatin1String("config.json: not JSON: ")),
             qPrintable(loaded.attempts.at(0)));
    QVERIFY2(loaded.attempts.at(1).startsWith(QLatin1String("config.prev.json: wrong format: \"other/9\"")),
             qPrintable(loaded.attempts.at(1)));
}

void tst_ConfigStore::emptyDataDir()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const auto loaded = ConfigStore(dir.filePath(QStringLiteral("nothing-here"))).load();
    QVERIFY(!loaded.config);
    QCOMPARE(loaded.attempts, (QStringList{QStringLiteral("config.json: missing"),
                                           QStringLiteral("config.prev.json: missing")}));
}

void tst_ConfigStore::corruptCurrentIsNeverRotated()
{
    // The store believes config.json is good (it wrote it), then someone breaks the file behind its back:
    // the next save must check what it is about to keep, not trust what it remembers.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const SnapshotPtr snapshot = snapshotOf(makeConfig(1));
    QVERIFY(snapshot);
    ConfigStore store(dir.path());
    QString error;
    QVERIFY2(store.save(*snapshot, 1, testSource(), &error), qPrintable(error));
    QVERIFY2(store.save(*snapshot, 2, testSource(), &error), qPrintable(error));
    const QByteArray previousBytes = readBytes(dir.filePath(QStringLiteral("config.prev.json")));
    QVERIFY(writeBytes(dir.filePath(QStringLiteral("config.json")), QByteArrayLiteral("{\"trunc")));

    QVERIFY2(store.save(*snapshot, 3, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), previousBytes);
    QCOMPARE(entries(dir.path()),
             (QStringList{QStringLiteral("config.json"), QStringLiteral("config.prev.json")}));
    const auto loaded = ConfigStore(dir.path()).load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->revision, 3);

    // A bare config object validates, but it is not a generation either.
    QVERIFY(
        writeBytes(dir.filePath(QStringLiteral("config.json")), QJsonDocument(snapshot->json()).toJson()));
    QVERIFY2(store.save(*snapshot, 4, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), previousBytes);
}

void tst_ConfigStore::leftoverTempLinkIsIgnoredAndRemoved()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const SnapshotPtr snapshot = snapshotOf(makeConfig(1));
    QVERIFY(snapshot);
    const QString leftover = dir.filePath(QStringLiteral("config.prev.json.tmp"));
    QVERIFY(writeBytes(leftover,
                       ConfigStore::serialize(*snapshot, 77, testSource(), QDateTime::currentDateTimeUtc())));

    ConfigStore store(dir.path());
    const auto loaded = store.load();
    QVERIFY(!loaded.config);
    QCOMPARE(loaded.attempts, (QStringList{QStringLiteral("config.json: missing"),
                                           QStringLiteral("config.prev.json: missing")}));

    QString error;
    QVERIFY2(store.save(*snapshot, 1, testSource(), &error), qPrintable(error));
    QVERIFY2(store.save(*snapshot, 2, testSource(), &error), qPrintable(error));
    QVERIFY(writeBytes(leftover, QByteArrayLiteral("junk")));
    QVERIFY2(store.save(*snapshot, 3, testSource(), &error), qPrintable(error));
    QCOMPARE(entries(dir.path()),
             (QStringList{QStringLiteral("config.json"), QStringLiteral("config.prev.json")}));
    QVERIFY(ConfigStore::parse(readBytes(dir.filePath(QStringLiteral("config.prev.json"))), nullptr));
}

void tst_ConfigStore::parseBareConfig()
{
    const QJsonObject config = makeConfig(3);
    const SnapshotPtr expected = snapshotOf(config);
    QVERIFY(expected);
    bool wasEnvelope = true;
    QStringList errors;
    const auto parsed = ConfigStore::parse(QJsonDocument(config).toJson(), &errors, &wasEnvelope);
    QVERIFY2(parsed, qPrintable(errors.join(QLatin1Char('\n'))));
    QVERIFY(!wasEnvelope);
    QCOMPARE(parsed->revision, 0);
    QVERIFY(!parsed->edited);
    QCOMPARE(parsed->snapshot->sha256(), expected->sha256());

    QJsonObject routes = config.value(QLatin1String("routes")).toObject();
    QJsonObject route = routes.value(QLatin1String("2")).toObject();
    route.insert(QStringLiteral("uri"), true);
    routes.insert(QStringLiteral("2"), route);
    QJsonObject broken = config;
    broken.insert(QStringLiteral("routes"), routes);
    errors.clear();
    QVERIFY(!ConfigStore::parse(QJsonDocument(broken).toJson(), &errors, &wasEnvelope));
    QVERIFY(!errors.isEmpty());
    QVERIFY2(errors.first().startsWith(QLatin1String("routes/2: /uri: ")), qPrintable(errors.first()));

    errors.clear();
    QVERIFY(!ConfigStore::parse(QByteArrayLiteral("{\"routes\": "), &errors));
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.first().startsWith(QLatin1String("not JSON: ")), qPrintable(errors.first()));
}

void tst_ConfigStore::fullFilesystemLeavesFilesIntact()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dataDir = dir.filePath(QStringLiteral("data"));
    QVERIFY(QDir().mkdir(dataDir));
    TmpfsMount tmpfs;
    if (!tmpfs.mount(dataDir, "size=256k,mode=0700"))
        QSKIP("needs root and mount(2) for a small tmpfs; fileSizeLimitLeavesFilesIntact covers the rest");

    const SnapshotPtr small = snapshotOf(makeConfig(2));
    const SnapshotPtr big = snapshotOf(makeConfig(200, QStringLiteral("/big"), 2000)); // ~450 KiB
    QVERIFY(small && big);
    ConfigStore store(dataDir);
    QString error;
    QVERIFY2(store.save(*small, 1, testSource(), &error), qPrintable(error));
    QVERIFY2(store.save(*small, 2, testSource(), &error), qPrintable(error));
    const QByteArray currentBytes = readBytes(QDir(dataDir).filePath(QStringLiteral("config.json")));
    const QByteArray previousBytes = readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json")));
    const QStringList before = entries(dataDir);

    QVERIFY(!store.save(*big, 3, testSource(), &error));
    QVERIFY2(error.contains(QLatin1String("No space left on device")), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("config.json")), qPrintable(error));
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.json"))), currentBytes);
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json"))), previousBytes);
    QCOMPARE(entries(dataDir), before);

    // Once there is room again the store works as before: the failure left nothing behind.
    QVERIFY2(store.save(*small, 3, testSource(), &error), qPrintable(error));
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json"))), currentBytes);
    const auto loaded = ConfigStore(dataDir).load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->revision, 3);
}

void tst_ConfigStore::fileSizeLimitLeavesFilesIntact()
{
#ifndef Q_OS_UNIX
    QSKIP("RLIMIT_FSIZE is POSIX");
#else
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dataDir = dir.filePath(QStringLiteral("data"));
    const SnapshotPtr small = snapshotOf(makeConfig(2));
    QVERIFY(small);
    ConfigStore store(dataDir);
    QString error;
    QVERIFY2(store.save(*small, 1, testSource(), &error), qPrintable(error));
    QVERIFY2(store.save(*small, 2, testSource(), &error), qPrintable(error));
    const QByteArray currentBytes = readBytes(QDir(dataDir).filePath(QStringLiteral("config.json")));
    const QByteArray previousBytes = readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json")));
    const QStringList before = entries(dataDir);

    // The child may write 64 KiB per file; the new generation is about 200 KiB.
    const WriterResult result =
        runWriter(dataDir, makeConfig(100, QStringLiteral("/big"), 2000), 3,
                  {QStringLiteral("--max-file-size"), QString::number(64 * 1024)}, dir.path());
    QVERIFY(result.started);
    QCOMPARE(result.status, QProcess::NormalExit);
    QCOMPARE(result.exitCode, 1);
    QVERIFY2(result.output.contains("File too large"), result.output.constData());
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.json"))), currentBytes);
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json"))), previousBytes);
    QCOMPARE(entries(dataDir), before);
#endif
}

void tst_ConfigStore::readOnlyDirectoryLeavesFilesIntact()
{
#ifndef Q_OS_UNIX
    QSKIP("POSIX permissions");
#else
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dataDir = dir.filePath(QStringLiteral("data"));
    QVERIFY(QDir().mkdir(dataDir));
    TmpfsMount tmpfs;
    QString expectedCause;
    if (isRoot()) {
        // chmod does not stop root; a read-only file system does.
        if (!tmpfs.mount(dataDir, "size=1m,mode=0700"))
            QSKIP("running as root without mount(2): cannot make a directory unwritable");
        expectedCause = QStringLiteral("Read-only file system");
    } else {
        expectedCause = QStringLiteral("Permission denied");
    }

    const SnapshotPtr small = snapshotOf(makeConfig(2));
    QVERIFY(small);
    ConfigStore store(dataDir);
    QString error;
    QVERIFY2(store.save(*small, 1, testSource(), &error), qPrintable(error));
    QVERIFY2(store.save(*small, 2, testSource(), &error), qPrintable(error));
    const QByteArray currentBytes = readBytes(QDir(dataDir).filePath(QStringLiteral("config.json")));
    const QByteArray previousBytes = readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json")));
    const QStringList before = entries(dataDir);

    const auto restore = qScopeGuard([&] { ::chmod(QFile::encodeName(dataDir).constData(), 0700); });
    if (isRoot())
        QVERIFY(tmpfs.remountReadOnly());
    else
        QCOMPARE(::chmod(QFile::encodeName(dataDir).constData(), 0500), 0);

    QVERIFY(!store.save(*small, 3, testSource(), &error));
    QVERIFY2(error.contains(expectedCause), qPrintable(error));
    QVERIFY2(error.startsWith(dataDir), qPrintable(error));
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.json"))), currentBytes);
    QCOMPARE(readBytes(QDir(dataDir).filePath(QStringLiteral("config.prev.json"))), previousBytes);
    QCOMPARE(entries(dataDir), before);

    // Still loadable: a read-only data dir only stops saving.
    const auto loaded = ConfigStore(dataDir).load();
    QVERIFY(loaded.config);
    QCOMPARE(loaded.config->revision, 2);
#endif
}

void tst_ConfigStore::crashAtEveryStepKeepsAGeneration()
{
    // The writer kills itself (SIGKILL on POSIX, TerminateProcess on Windows) at the given step.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString dataDir = dir.filePath(QStringLiteral("data"));
    const QString current = QDir(dataDir).filePath(QStringLiteral("config.json"));
    const QString previous = QDir(dataDir).filePath(QStringLiteral("config.prev.json"));

    // Generation n has n routes under "/g<n>-", so each revision has its own digest.
    const auto configFor = [](qint64 n) {
        return makeConfig(int(n % 7) + 1, QStringLiteral("/g%1-").arg(n));
    };
    QHash<qint64, QByteArray> digests;
    ConfigStore store(dataDir);
    QString error;
    for (qint64 n = 1; n <= 2; ++n) {
        const SnapshotPtr snapshot = snapshotOf(configFor(n));
        QVERIFY(snapshot);
        digests.insert(n, snapshot->sha256());
        QVERIFY2(store.save(*snapshot, n, testSource(), &error), qPrintable(error));
    }

    qint64 currentRevision = 2;
    qint64 previousRevision = 1;
    const QList<Step> allSteps = {Step::Begin,     Step::PreviousLinked,  Step::TempWritten,
                                  Step::Committed, Step::PreviousRotated, Step::DirectorySynced};
    for (int round = 0; round < 3; ++round) {
        for (Step crashAt : allSteps) {
            const qint64 next = currentRevision + 1;
            const QJsonObject config = configFor(next);
            const SnapshotPtr snapshot = snapshotOf(config);
            QVERIFY(snapshot);
            digests.insert(next, snapshot->sha256());

            const WriterResult result =
                runWriter(dataDir, config, next,
                          {QStringLiteral("--crash-at"), QString::number(int(crashAt))}, dir.path());
            QVERIFY(result.started);
            QVERIFY2(result.status == QProcess::CrashExit,
                     qPrintable(QStringLiteral("writer was not killed at step %1: exit %2, %3")
                                    .arg(int(crashAt))
                                    .arg(result.exitCode)
                                    .arg(QString::fromLocal8Bit(result.output))));

            const bool committed = crashAt >= Step::Committed;
            const bool rotated = crashAt >= Step::PreviousRotated;
            const qint64 expectedCurrent = committed ? next : currentRevision;
            const qint64 expectedPrevious = rotated ? currentRevision : previousRevision;
            const QString where = QStringLiteral("round %1, killed at step %2").arg(round).arg(int(crashAt));

            const auto loaded = ConfigStore(dataDir).load();
            QVERIFY2(loaded.config,
                     qPrintable(where + QLatin1String(": ") + loaded.attempts.join(QLatin1String("; "))));
            QVERIFY2(loaded.config->revision == next || loaded.config->revision == currentRevision,
                     qPrintable(where));
            QCOMPARE(loaded.config->file, QStringLiteral("config.json"));
            QCOMPARE(loaded.config->revision, expectedCurrent);
            QVERIFY(!loaded.config->edited);
            QCOMPARE(loaded.config->snapshot->sha256(), digests.value(expectedCurrent));

            // The fallback generation is complete too, and never older than before.
            const auto prev = ConfigStore::parse(readBytes(previous), nullptr);
            QVERIFY2(prev, qPrintable(where));
            QCOMPARE(prev->revision, expectedPrevious);
            QCOMPARE(prev->snapshot->sha256(), digests.value(expectedPrevious));
            QVERIFY(QFileInfo::exists(current));

            currentRevision = expectedCurrent;
            previousRevision = expectedPrevious;
        }
    }

    // A clean save after all those crashes leaves exactly the two generations, no stray temporary file.
    const SnapshotPtr last = snapshotOf(configFor(currentRevision + 1));
    QVERIFY(last);
    ConfigStore after(dataDir);
    QVERIFY(after.load().config);
    QVERIFY2(after.save(*last, currentRevision + 1, testSource(), &error), qPrintable(error));
    QCOMPARE(entries(dataDir),
             (QStringList{QStringLiteral("config.json"), QStringLiteral("config.prev.json")}));
    QCOMPARE(ConfigStore::parse(readBytes(previous), nullptr)->revision, currentRevision);
}

QTEST_GUILESS_MAIN(tst_ConfigStore)
#include "tst_configstore.moc"
