// The holdfastctl binary against a real gateway: output, --json, and the exit codes scripts rely on.
#include "hascenario.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

class tst_HoldfastCtl : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void usageErrors();
    void statusTextAndJson();
    void diffExitsOneOnDifferences();
    void resyncWaitsForInSync();
    void reloadLocalRefusedWhileInSync();
    void eventsFollow();
    void upstreams();
    void authUnreachableTimeoutAndUnexpected();

private:
    struct Run
    {
        int exitCode = -1;
        QByteArray out;
        QByteArray err;
        QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
    };
    Run ctl(const QStringList &arguments, const QStringList &env = {}, int timeoutMs = 20000) const;
    QStringList target() const;

    std::unique_ptr<HaScenario> m_s;
};

tst_HoldfastCtl::Run tst_HoldfastCtl::ctl(const QStringList &arguments, const QStringList &env,
                                          int timeoutMs) const
{
    QProcess p;
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.remove(QStringLiteral("HOLDFAST_ADMIN_URL"));
    e.remove(QStringLiteral("HOLDFAST_TOKEN_FILE"));
    e.remove(QStringLiteral("HOLDFAST_TOKEN"));
    e.insert(QStringLiteral("HOLDFAST_SETTINGS"), QStringLiteral("/nonexistent/holdfastd.json"));
    for (const QString &kv : env)
        e.insert(kv.section(QLatin1Char('='), 0, 0), kv.section(QLatin1Char('='), 1));
    p.setProcessEnvironment(e);
    p.start(TestSupport::builtProgram(QStringLiteral("holdfastctl")), arguments);
    Run r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

QStringList tst_HoldfastCtl::target() const
{
    return {QStringLiteral("--url"), QStringLiteral("http://127.0.0.1:%1").arg(m_s->gateway().adminPort()),
            QStringLiteral("--token-file"), m_s->gateway().filePath(QStringLiteral("admin.token"))};
}

void tst_HoldfastCtl::initTestCase()
{
    m_s = std::make_unique<HaScenario>();
    QString error;
    QVERIFY2(m_s->start(&error), qPrintable(error));
    QVERIFY(m_s->put("upstreams/1", m_s->upstream()) > 0);
    QVERIFY(m_s->put("routes/1", HaScenario::route("/a")) > 0);
    QVERIFY(m_s->startGateway());
    QTRY_COMPARE_WITH_TIMEOUT(m_s->gateway().state(), QStringLiteral("in_sync"), 15000);
    QTRY_VERIFY_WITH_TIMEOUT(m_s->persistedRevision() > 0, 5000);
}

void tst_HoldfastCtl::cleanupTestCase()
{
    m_s.reset();
}

void tst_HoldfastCtl::usageErrors()
{
    Run r = ctl({});
    QCOMPARE(r.exitCode, 2);
    QVERIFY(r.err.contains("no command given"));
    QVERIFY(r.err.contains("Exit codes"));
    QCOMPARE(ctl({QStringLiteral("frobnicate")}).exitCode, 2);
    QCOMPARE(ctl({QStringLiteral("--bogus"), QStringLiteral("status")}).exitCode, 2);
    QCOMPARE(ctl({QStringLiteral("--url"), QStringLiteral("ftp://x"), QStringLiteral("status")}).exitCode, 2);
    QCOMPARE(ctl({QStringLiteral("status"), QStringLiteral("--wait")}).exitCode, 2);
    r = ctl({QStringLiteral("--help")});
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.contains("resync [--wait]"));
}

void tst_HoldfastCtl::statusTextAndJson()
{
    Run r = ctl(target() << QStringLiteral("status"));
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.contains("state      in_sync since"), r.out.constData());
    QVERIFY(r.out.contains("connected"));
    QVERIFY(r.out.contains("1 routes, 1 upstreams, 0 services"));

    r = ctl(target() << QStringLiteral("--json") << QStringLiteral("status"));
    QCOMPARE(r.exitCode, 0);
    const QJsonObject json = r.json();
    QCOMPARE(json.value(QLatin1String("state")).toString(), QStringLiteral("in_sync"));
    QCOMPARE(json.value(QLatin1String("live")).toObject().value(QLatin1String("revision")).toInteger(),
             qint64(m_s->persistedRevision()));

    // The environment stands in for the flags.
    r = ctl({QStringLiteral("status")},
            {QStringLiteral("HOLDFAST_ADMIN_URL=http://127.0.0.1:%1").arg(m_s->gateway().adminPort()),
             QStringLiteral("HOLDFAST_TOKEN_FILE=%1")
                 .arg(m_s->gateway().filePath(QStringLiteral("admin.token")))});
    QCOMPARE(r.exitCode, 0);
}

void tst_HoldfastCtl::diffExitsOneOnDifferences()
{
    Run r = ctl(target() << QStringLiteral("diff"));
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.startsWith("no differences"));

    // A hand edit of the local copy: one changed field.
    QFile file(m_s->gateway().filePath(QStringLiteral("config.json")));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray original = file.readAll();
    file.close();
    QByteArray edited = original;
    QVERIFY(edited.contains("\"/a\""));
    edited.replace("\"/a\"", "\"/hand\"");
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(edited);
    file.close();

    r = ctl(target() << QStringLiteral("diff"));
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.out.contains("~ /routes/1/uri: \"/hand\" -> \"/a\""), r.out.constData());
    r = ctl(target() << QStringLiteral("--json") << QStringLiteral("diff"));
    QCOMPARE(r.exitCode, 1);
    const QJsonArray changes = r.json().value(QLatin1String("changes")).toArray();
    QCOMPARE(changes.size(), 1);
    QCOMPARE(changes.at(0).toObject().value(QLatin1String("pointer")).toString(),
             QStringLiteral("/routes/1/uri"));

    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(original);
    file.close();
    QCOMPARE(ctl(target() << QStringLiteral("diff")).exitCode, 0);
}

void tst_HoldfastCtl::resyncWaitsForInSync()
{
    Run r = ctl(target() << QStringLiteral("resync"));
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.out.startsWith("accepted: "));
    r = ctl(target() << QStringLiteral("resync") << QStringLiteral("--wait"));
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("done: in sync at revision"), r.out.constData());
    r = ctl(target() << QStringLiteral("--json") << QStringLiteral("resync") << QStringLiteral("--wait"));
    QCOMPARE(r.exitCode, 0);
    QVERIFY(r.json().value(QLatin1String("in_sync")).toBool());
}

void tst_HoldfastCtl::reloadLocalRefusedWhileInSync()
{
    const Run r = ctl(target() << QStringLiteral("--json") << QStringLiteral("reload-local"));
    QCOMPARE(r.exitCode, 5);
    const QJsonObject error = r.json().value(QLatin1String("error")).toObject();
    QCOMPARE(error.value(QLatin1String("kind")).toString(), QStringLiteral("refused"));
    QVERIFY(error.value(QLatin1String("message")).toString().contains(QLatin1String("in sync")));
    QCOMPARE(r.json().value(QLatin1String("exit_code")).toInt(), 5);
}

void tst_HoldfastCtl::eventsFollow()
{
    // The first event is the whole status; a change in etcd brings "applied" and "persisted", in either order
    // (the applied digest is computed on its own thread); --count N prints exactly N events and exits.
    QProcess p;
    p.start(TestSupport::builtProgram(QStringLiteral("holdfastctl")),
            target() << QStringLiteral("--json") << QStringLiteral("events") << QStringLiteral("--count")
                     << QStringLiteral("3"));
    QVERIFY(p.waitForStarted());
    QByteArray out;
    QDeadlineTimer deadline(10000);
    while (!out.contains('\n') && !deadline.hasExpired()) {
        p.waitForReadyRead(100);
        out += p.readAllStandardOutput();
    }
    QVERIFY2(out.contains("\"event\":\"status\""), out.constData());
    QVERIFY(m_s->put("routes/7", HaScenario::route("/seven")) > 0);
    QVERIFY(p.waitForFinished(10000));
    out += p.readAllStandardOutput();
    QCOMPARE(p.exitCode(), 0);
    const QList<QByteArray> lines = out.trimmed().split('\n');
    QCOMPARE(lines.size(), 3);
    QStringList names;
    for (const QByteArray &line : lines)
        names << QJsonDocument::fromJson(line).object().value(QLatin1String("event")).toString();
    QCOMPARE(names.takeFirst(), QStringLiteral("status"));
    names.sort();
    QCOMPARE(names, QStringList({QStringLiteral("applied"), QStringLiteral("persisted")}));
}

void tst_HoldfastCtl::upstreams()
{
    const Run r = ctl(target() << QStringLiteral("upstreams"));
    QCOMPARE(r.exitCode, 0);
    QVERIFY2(r.out.startsWith("upstreams/1  roundrobin"), r.out.constData());
    QVERIFY(r.out.contains("unchecked"));
}

void tst_HoldfastCtl::authUnreachableTimeoutAndUnexpected()
{
    QTemporaryDir dir;
    QFile wrong(dir.filePath(QStringLiteral("wrong.token")));
    QVERIFY(wrong.open(QIODevice::WriteOnly));
    wrong.write("not-the-token\n");
    wrong.close();
    const QString url = QStringLiteral("http://127.0.0.1:%1").arg(m_s->gateway().adminPort());

    Run r = ctl({QStringLiteral("--url"), url, QStringLiteral("--token-file"), wrong.fileName(),
                 QStringLiteral("--json"), QStringLiteral("status")});
    QCOMPARE(r.exitCode, 4);
    QCOMPARE(r.json().value(QLatin1String("error")).toObject().value(QLatin1String("kind")).toString(),
             QStringLiteral("auth"));
    QVERIFY(r.err.contains("401"));
    r = ctl({QStringLiteral("--url"), url, QStringLiteral("--token-file"),
             dir.filePath(QStringLiteral("none")), QStringLiteral("status")});
    QCOMPARE(r.exitCode, 4);

    const QString nowhere = QStringLiteral("http://127.0.0.1:%1").arg(TestSupport::freePort());
    r = ctl({QStringLiteral("--url"), nowhere, QStringLiteral("--token-file"), wrong.fileName(),
             QStringLiteral("status")});
    QCOMPARE(r.exitCode, 3);
    QVERIFY(r.err.contains("unreachable"));
    r = ctl({QStringLiteral("--url"), nowhere, QStringLiteral("--token-file"), wrong.fileName(),
             QStringLiteral("events")});
    QCOMPARE(r.exitCode, 3);

    // A port that accepts and never answers, and one that answers something else than the admin API.
    QTcpServer hung;
    QVERIFY(hung.listen(QHostAddress::LocalHost));
    QProcess p;
    p.start(TestSupport::builtProgram(QStringLiteral("holdfastctl")),
            {QStringLiteral("--url"), QStringLiteral("http://127.0.0.1:%1").arg(hung.serverPort()),
             QStringLiteral("--token-file"), wrong.fileName(), QStringLiteral("--timeout"),
             QStringLiteral("0.5"), QStringLiteral("status")});
    QVERIFY(p.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(p.state() == QProcess::NotRunning, 10000); // the loop accepts meanwhile
    QCOMPARE(p.exitCode(), 6);

    r = ctl({QStringLiteral("--url"), QStringLiteral("http://127.0.0.1:%1").arg(m_s->gateway().proxyPort()),
             QStringLiteral("--token-file"), wrong.fileName(), QStringLiteral("status")});
    // The proxy answers 404 for an unknown route: a refusal, not a status.
    QCOMPARE(r.exitCode, 5);

    // A web server that is not a gateway: 200 with a page.
    QTcpServer web;
    QVERIFY(web.listen(QHostAddress::LocalHost));
    connect(&web, &QTcpServer::newConnection, this, [&web] {
        while (QTcpSocket *socket = web.nextPendingConnection()) {
            connect(socket, &QTcpSocket::readyRead, socket, [socket] {
                socket->readAll();
                socket->write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n"
                              "Connection: close\r\n\r\n<html></html>");
                socket->disconnectFromHost();
            });
        }
    });
    QProcess html;
    html.start(TestSupport::builtProgram(QStringLiteral("holdfastctl")),
               {QStringLiteral("--url"), QStringLiteral("http://127.0.0.1:%1").arg(web.serverPort()),
                QStringLiteral("--token-file"), wrong.fileName(), QStringLiteral("status")});
    QVERIFY(html.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(html.state() == QProcess::NotRunning, 10000);
    QCOMPARE(html.exitCode(), 7);
    QVERIFY2(html.readAllStandardError().contains("expected a JSON object"), "");
}

QTEST_GUILESS_MAIN(tst_HoldfastCtl)
#include "tst_holdfastctl.moc"
