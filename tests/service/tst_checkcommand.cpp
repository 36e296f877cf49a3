// `holdfastd check FILE`, run as the real program.
#include "configsnapshot.h"
#include "configstore.h"
#include "testsupport.h"

#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

class tst_CheckCommand : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void validConfig();
    void invalidConfigListsEveryError();
    void envelope();
    void editedEnvelope();
    void missingFile();

private:
    struct Result
    {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
    };
    Result check(const QByteArray &content);

    QTemporaryDir m_dir;
    QString m_holdfastd;
};

void tst_CheckCommand::initTestCase()
{
    m_holdfastd = TestSupport::builtProgram(QStringLiteral("holdfastd"));
    QVERIFY2(QFileInfo(m_holdfastd).isExecutable(), qPrintable(m_holdfastd));
    QVERIFY(m_dir.isValid());
}

tst_CheckCommand::Result tst_CheckCommand::check(const QByteArray &content)
{
    const QString path = m_dir.filePath(QStringLiteral("config.json"));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    file.write(content);
    file.close();
    QProcess process;
    process.start(m_holdfastd, {QStringLiteral("check"), path});
    if (!process.waitForFinished(10000))
        return {};
    return {process.exitCode(), process.readAllStandardOutput(), process.readAllStandardError()};
}

static const QByteArray sampleConfig = R"({
  "routes": {"1": {"uri": "/a", "upstream_id": 1}, "2": {"uri": "/b/*", "upstream_id": "1"}},
  "upstreams": {"1": {"nodes": {"127.0.0.1:8080": 1}}},
  "services": {}
})";

void tst_CheckCommand::validConfig()
{
    const Result r = check(sampleConfig);
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains("ok: 2 routes, 1 upstreams, 0 services"), r.out.constData());
    ValidationErrors errors;
    const SnapshotPtr s = ConfigSnapshot::fromJson(QJsonDocument::fromJson(sampleConfig).object(), &errors);
    QVERIFY(s);
    QVERIFY2(r.out.contains("sha256 " + s->sha256()), r.out.constData());
    QCOMPARE(r.out.count('\n'), 1); // one line
}

void tst_CheckCommand::invalidConfigListsEveryError()
{
    const Result r =
        check(R"({"routes": {"12": {"uri": 5, "upstream_id": "1"}, "13": {"uri": "/x", "methods": "GET"}},
                              "upstreams": {"1": {"nodes": {"127.0.0.1:8080": 1}}}})");
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("routes/12: /uri: expected string, got number"), r.err.constData());
    QVERIFY2(r.err.contains("routes/13: /methods:"), r.err.constData());
    QVERIFY(r.out.isEmpty());
}

void tst_CheckCommand::envelope()
{
    ValidationErrors errors;
    const SnapshotPtr s = ConfigSnapshot::fromJson(QJsonDocument::fromJson(sampleConfig).object(), &errors);
    QVERIFY(s);
    const QByteArray bytes =
        ConfigStore::serialize(*s, 42, QJsonObject{{QStringLiteral("type"), QStringLiteral("etcd")}},
                               QDateTime::currentDateTimeUtc());
    const Result r = check(bytes);
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains("revision 42"), r.out.constData());
    QVERIFY2(!r.out.contains("edited"), r.out.constData());
}

void tst_CheckCommand::editedEnvelope()
{
    ValidationErrors errors;
    const SnapshotPtr s = ConfigSnapshot::fromJson(QJsonDocument::fromJson(sampleConfig).object(), &errors);
    QVERIFY(s);
    QByteArray bytes = ConfigStore::serialize(*s, 42, {}, QDateTime::currentDateTimeUtc());
    QVERIFY(bytes.contains("127.0.0.1:8080"));
    bytes.replace("127.0.0.1:8080", "127.0.0.1:8081"); // an operator's hand edit
    const Result r = check(bytes);
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains("edited"), r.out.constData());
}

void tst_CheckCommand::missingFile()
{
    QProcess process;
    process.start(m_holdfastd, {QStringLiteral("check"), m_dir.filePath(QStringLiteral("nope.json"))});
    QVERIFY(process.waitForFinished(10000));
    QCOMPARE(process.exitCode(), 1);
    QVERIFY(process.readAllStandardError().contains("nope.json"));
}

QTEST_GUILESS_MAIN(tst_CheckCommand)
#include "tst_checkcommand.moc"
