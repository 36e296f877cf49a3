// SIGHUP on the real holdfastd: settings that can change in place do, the rest is named, bad ones change
// nothing.
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

class tst_GatewayReload : public QObject
{
    Q_OBJECT

private slots:
    void sighupAppliesAccessLogAndNamesTheRest();

private:
    static bool writeFile(const QString &path, const QByteArray &content);
    static QByteArray readFile(const QString &path);
    static int get(quint16 port, const QByteArray &path);
};

bool tst_GatewayReload::writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(content) == content.size();
}

QByteArray tst_GatewayReload::readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

int tst_GatewayReload::get(quint16 port, const QByteArray &path)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000))
        return -1;
    socket.write("GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    QByteArray response;
    while (socket.waitForReadyRead(5000))
        response += socket.readAll();
    return response.startsWith("HTTP/1.1 ") ? response.mid(9, 3).toInt() : -1;
}

void tst_GatewayReload::sighupAppliesAccessLogAndNamesTheRest()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const quint16 port = TestSupport::freePort();
    const quint16 adminPort = TestSupport::freePort();
    const auto bootstrap = [&](const QByteArray &accessLog, quint16 listenPort) {
        return R"({"listen":[{"address":"127.0.0.1","port":)" + QByteArray::number(listenPort) +
               R"(}],"workers":1,"data_dir":")" + dir.path().toUtf8() +
               R"(","admin":{"address":"127.0.0.1","port":)" + QByteArray::number(adminPort) +
               R"(},"access_log":")" + accessLog + "\"}";
    };
    const QString settings = dir.filePath(QStringLiteral("holdfastd.json"));
    const QString routes = dir.filePath(QStringLiteral("routes.json"));
    QVERIFY(writeFile(settings, bootstrap("a.log", port)));
    QVERIFY(writeFile(routes, R"({"routes":{},"upstreams":{}})"));

    TestSupport::ManagedProcess gateway;
    QVERIFY(gateway.start(TestSupport::builtProgram(QStringLiteral("holdfastd")),
                          {QStringLiteral("--config"), settings, QStringLiteral("--standalone"), routes}));
    QVERIFY2(TestSupport::waitForPort(port), gateway.output().constData());
    const QString logA = dir.filePath(QStringLiteral("a.log"));
    const QString logB = dir.filePath(QStringLiteral("b.log"));

    QCOMPARE(get(port, "/first"), 404);
    QTRY_VERIFY_WITH_TIMEOUT(readFile(logA).contains("GET /first"), 5000);

    // A new access log path applies in place; a new listen port is named as waiting for a restart.
    QVERIFY(writeFile(settings, bootstrap("b.log", quint16(port + 1))));
    ::kill(pid_t(gateway.pid()), SIGHUP);
    QTRY_VERIFY_WITH_TIMEOUT(gateway.output().contains("SIGHUP: access log now"), 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(gateway.output().contains("take effect at the next restart: listen"),
                              gateway.output().constData(), 5000);
    QCOMPARE(get(port, "/second"), 404);
    QTRY_VERIFY_WITH_TIMEOUT(readFile(logB).contains("GET /second"), 5000);
    QVERIFY(!readFile(logA).contains("GET /second"));

    // Invalid settings change nothing: same log, still serving.
    QVERIFY(writeFile(settings, R"({"listen": "everywhere"})"));
    ::kill(pid_t(gateway.pid()), SIGHUP);
    QTRY_VERIFY_WITH_TIMEOUT(gateway.output().contains("settings not reloaded"), 5000);
    QTRY_VERIFY2_WITH_TIMEOUT(gateway.output().contains("/listen: expected a non-empty array"),
                              gateway.output().constData(), 5000);
    QCOMPARE(get(port, "/third"), 404);
    QTRY_VERIFY_WITH_TIMEOUT(readFile(logB).contains("GET /third"), 5000);
    QVERIFY(gateway.isRunning());
}

QTEST_GUILESS_MAIN(tst_GatewayReload)
#include "tst_gatewayreload.moc"
