// Issue 9's rows at the HTTP layer, against a real holdfastd: transfer codings, Host syntax, header names
// with '_', and stripping of the fields a client lists in Connection.
#include "gatewayprocess.h"
#include "testsupport.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

class tst_StrictRequests : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void transferCodingOtherThanChunkedIs501_data();
    void transferCodingOtherThanChunkedIs501();
    void badHostIs400_data();
    void badHostIs400();
    void underscoreHeadersDroppedByDefault();
    void underscoreHeadersKeptWhenConfigured();
    void connectionListedFieldsStripped();

private:
    bool startGateway(GatewayProcess *gateway, const QJsonObject &limits);
    static QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs = 5000);
    static QJsonObject echoedHeaders(const QByteArray &answer);

    QTemporaryDir m_dir;
    QByteArray m_upstreamPort;
    TestSupport::ManagedProcess m_upstream;
    GatewayProcess m_gateway;     // default settings
    GatewayProcess m_underscores; // limits.underscores_in_headers: true
    quint16 m_port = 0;
    quint16 m_underscoresPort = 0;
};

void tst_StrictRequests::initTestCase()
{
    QVERIFY(m_dir.isValid());
    const quint16 upstreamPort = TestSupport::startTestUpstream(m_upstream);
    QVERIFY2(upstreamPort > 0, m_upstream.output().constData());
    m_upstreamPort = QByteArray::number(upstreamPort);
    QVERIFY(startGateway(&m_gateway, {{QStringLiteral("max_header_bytes"), 131072}}));
    QVERIFY(startGateway(&m_underscores, {{QStringLiteral("underscores_in_headers"), true}}));
    m_port = m_gateway.proxyPort();
    m_underscoresPort = m_underscores.proxyPort();
}

bool tst_StrictRequests::startGateway(GatewayProcess *gateway, const QJsonObject &limits)
{
    GatewayProcess::Options options;
    options.standalone =
        R"({"routes":{"1":{"uri":"/*","upstream_id":"1"}},"upstreams":{"1":{"nodes":{"127.0.0.1:)" +
        m_upstreamPort + R"(":1}}}})";
    options.extra = {{QStringLiteral("limits"), limits}};
    if (!gateway->start(options))
        return false;
    const quint16 port = gateway->proxyPort();
    return QTest::qWaitFor(
        [&] {
            return exchange(port, "GET /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .startsWith("HTTP/1.1 200 ");
        },
        10000);
}

void tst_StrictRequests::cleanupTestCase()
{
    m_gateway.stop();
    m_underscores.stop();
    m_upstream.stop();
}

QByteArray tst_StrictRequests::exchange(quint16 port, const QByteArray &request, int timeoutMs)
{
    return TestSupport::exchange(port, request, timeoutMs);
}

QJsonObject tst_StrictRequests::echoedHeaders(const QByteArray &answer)
{
    const qsizetype body = answer.indexOf("\r\n\r\n");
    return QJsonDocument::fromJson(answer.mid(body + 4)).object().value(QStringLiteral("headers")).toObject();
}

void tst_StrictRequests::transferCodingOtherThanChunkedIs501_data()
{
    QTest::addColumn<QByteArray>("codings");
    QTest::newRow("gzip, chunked") << QByteArray("gzip, chunked");
    QTest::newRow("deflate, chunked") << QByteArray("deflate, chunked");
    QTest::newRow("gzip") << QByteArray("gzip");
}

void tst_StrictRequests::transferCodingOtherThanChunkedIs501()
{
    QFETCH(QByteArray, codings);
    const QByteArray answer =
        exchange(m_port, "POST /post HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + codings +
                             "\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 501 "), answer.left(300).constData());
    QVERIFY(answer.contains("Connection: close\r\n"));
}

void tst_StrictRequests::badHostIs400_data()
{
    QTest::addColumn<QByteArray>("host");
    QTest::newRow("port then userinfo") << QByteArray("a.com:1@b.com");
    QTest::newRow("userinfo") << QByteArray("user@a.com");
    QTest::newRow("port too big") << QByteArray("a.com:99999");
    QTest::newRow("port not a number") << QByteArray("a.com:http");
    QTest::newRow("slash") << QByteArray("a.com/evil");
    QTest::newRow("space") << QByteArray("a .com");
    QTest::newRow("percent") << QByteArray("a%2ecom");
}

void tst_StrictRequests::badHostIs400()
{
    QFETCH(QByteArray, host);
    const QByteArray answer = exchange(m_port, "GET /anything HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 400 "), answer.left(300).constData());
    // A good Host still routes.
    const QByteArray good =
        exchange(m_port, "GET /anything HTTP/1.1\r\nHost: a.com:8080\r\nConnection: close\r\n\r\n");
    QVERIFY2(good.startsWith("HTTP/1.1 200 "), good.left(300).constData());
}

void tst_StrictRequests::underscoreHeadersDroppedByDefault()
{
    const QByteArray answer = exchange(
        m_port,
        "GET /h HTTP/1.1\r\nHost: t\r\nX_Auth_User: admin\r\nX-Other: 2\r\nConnection: close\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 200 "), answer.left(300).constData());
    const QJsonObject headers = echoedHeaders(answer);
    QCOMPARE(headers.value(QStringLiteral("x-other")).toString(), QStringLiteral("2"));
    QVERIFY2(!headers.contains(QStringLiteral("x_auth_user")), answer.constData());
}

void tst_StrictRequests::underscoreHeadersKeptWhenConfigured()
{
    const QByteArray answer = exchange(
        m_underscoresPort, "GET /h HTTP/1.1\r\nHost: t\r\nX_Auth_User: admin\r\nConnection: close\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 200 "), answer.left(300).constData());
    QCOMPARE(echoedHeaders(answer).value(QStringLiteral("x_auth_user")).toString(), QStringLiteral("admin"));
}

// 2,000 fields, every one listed in Connection: none reaches the upstream, and (bench/README.md has the
// figures) the cost stays linear.
void tst_StrictRequests::connectionListedFieldsStripped()
{
    QByteArray fields;
    QByteArray listed = "close";
    for (int i = 0; i < 2000; ++i) {
        fields += "X-H" + QByteArray::number(i) + ": v\r\n";
        listed += ", X-H" + QByteArray::number(i);
    }
    const QByteArray request =
        "GET /h HTTP/1.1\r\nHost: t\r\nX-Kept: yes\r\nConnection: " + listed + "\r\n" + fields + "\r\n";
    QElapsedTimer timer;
    timer.start();
    const QByteArray answer = exchange(m_port, request);
    qInfo() << "2,000 fields listed in Connection:" << timer.elapsed() << "ms";
    QVERIFY2(answer.startsWith("HTTP/1.1 200 "), answer.left(300).constData());
    const QJsonObject headers = echoedHeaders(answer);
    QCOMPARE(headers.value(QStringLiteral("x-kept")).toString(), QStringLiteral("yes"));
    for (const QString &name : headers.keys())
        QVERIFY2(!name.startsWith(QLatin1String("x-h")), qPrintable(name));
}

QTEST_GUILESS_MAIN(tst_StrictRequests)
#include "tst_strictrequests.moc"
