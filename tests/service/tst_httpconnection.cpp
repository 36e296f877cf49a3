// The HTTP machinery over real sockets: what a connection accepts, and every way of smuggling it refuses.
#include "httptesthandler.h"
#include "proxytestkit.h"

#include <QTest>

using namespace ProxyTestKit;

class TestHttpConnection : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();

    void refused_data();
    void refused();
    void parsesHead_data();
    void parsesHead();
    void chunkedBodyDecoded();
    void fragmentedByteByByte();
    void pipelinedRequests();

private:
    std::unique_ptr<ThreadedHttpServer> m_server;
};

void TestHttpConnection::initTestCase()
{
    HttpLimits limits;
    limits.maxHeaderBytes = 4096;
    limits.maxBodyBytes = 1000;
    m_server = std::make_unique<ThreadedHttpServer>(limits);
    QVERIFY(m_server->port() != 0);
}

void TestHttpConnection::cleanupTestCase()
{
    m_server.reset();
}

void TestHttpConnection::refused_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    const QByteArray host = "Host: h\r\n";
    QTest::newRow("content-length and transfer-encoding")
        << "POST / HTTP/1.1\r\n" + host +
               "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("transfer-encoding and content-length")
        << "POST / HTTP/1.1\r\n" + host +
               "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("duplicate content-length")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc" << 400;
    QTest::newRow("conflicting content-length")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd" << 400;
    QTest::newRow("content-length list")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\nabc" << 400;
    QTest::newRow("content-length not a number")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: 3x\r\n\r\nabc" << 400;
    QTest::newRow("content-length negative")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: -3\r\n\r\nabc" << 400;
    QTest::newRow("content-length plus sign")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: +3\r\n\r\nabc" << 400;
    QTest::newRow("content-length overflow")
        << "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999999\r\n\r\nabc" << 400;
    QTest::newRow("transfer-encoding gzip")
        << "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\nabc" << 501;
    QTest::newRow("transfer-encoding chunked not last")
        << "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("transfer-encoding twice")
        << "POST / HTTP/1.1\r\n" + host +
               "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("transfer-encoding in HTTP/1.0")
        << "POST / HTTP/1.0\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("transfer-encoding misspelt")
        << "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 501;
    QTest::newRow("bad chunk size") << "POST / HTTP/1.1\r\n" + host +
                                           "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
                                    << 400;
    QTest::newRow("chunk size overflow")
        << "POST / HTTP/1.1\r\n" + host +
               "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("chunk size negative")
        << "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("chunk longer than its size")
        << "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"
        << 400;
    QTest::newRow("obsolete line folding") << "GET / HTTP/1.1\r\n" + host + "X-Folded: a\r\n  b\r\n\r\n"
                                           << 400;
    QTest::newRow("folded content-length")
        << "POST / HTTP/1.1\r\n" + host + "X: 1\r\n Content-Length: 3\r\n\r\nabc" << 400;
    QTest::newRow("space before colon") << QByteArray("GET / HTTP/1.1\r\nHost : h\r\n\r\n") << 400;
    QTest::newRow("space in header name") << "GET / HTTP/1.1\r\n" + host + "X Y: 1\r\n\r\n" << 400;
    QTest::newRow("control character in value") << "GET / HTTP/1.1\r\n" + host +
                                                       "X: a\x01"
                                                       "b\r\n\r\n"
                                                << 400;
    QTest::newRow("nul in value") << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 33) << 400;
    QTest::newRow("missing host") << QByteArray("GET / HTTP/1.1\r\n\r\n") << 400;
    QTest::newRow("two hosts") << "GET / HTTP/1.1\r\n" + host + "Host: other\r\n\r\n" << 400;
    QTest::newRow("garbage") << QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n")
                             << 400;
    QTest::newRow("bad method") << "G@T / HTTP/1.1\r\n" + host + "\r\n" << 400;
    QTest::newRow("space in target") << "GET /a b HTTP/1.1\r\n" + host + "\r\n" << 400;
    QTest::newRow("HTTP/2 version") << "GET / HTTP/2.0\r\n" + host + "\r\n" << 505;
    QTest::newRow("CONNECT") << "CONNECT h:443 HTTP/1.1\r\n" + host + "\r\n" << 405;
    QTest::newRow("oversized request line")
        << "GET /" + QByteArray(5000, 'a') + " HTTP/1.1\r\n" + host + "\r\n"
        << 431;
    QTest::newRow("oversized headers")
        << "GET / HTTP/1.1\r\n" + host + "X-Big: " + QByteArray(5000, 'a') + "\r\n\r\n"
        << 431;
    QTest::newRow("many headers") << "GET / HTTP/1.1\r\n" + host +
                                         QByteArray("X-A: 1234567890\r\n").repeated(300) + "\r\n"
                                  << 431;
    QTest::newRow("body over limit") << "POST / HTTP/1.1\r\n" + host + "Content-Length: 1001\r\n\r\n" << 413;
    QTest::newRow("chunked body over limit")
        << "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n400\r\n" +
               QByteArray(1024, 'x') + "\r\n0\r\n\r\n"
        << 413;
}

void TestHttpConnection::refused()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    Client client;
    QVERIFY(client.connectTo(m_server->port()));
    client.send(request);
    Response r;
    QVERIFY(client.read(&r));
    QCOMPARE(r.status, status);
    QVERIFY(r.json().contains(QStringLiteral("error_msg")));
    QCOMPARE(r.header("connection"), QByteArray("close"));
    QVERIFY(client.waitClosed());
}

void TestHttpConnection::parsesHead_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("expected");
    QTest::newRow("path") << QByteArray("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n")
                          << QStringLiteral("path") << QStringLiteral("/a/b");
    QTest::newRow("query") << QByteArray("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n")
                           << QStringLiteral("query") << QStringLiteral("x=1&y");
    QTest::newRow("host without port") << QByteArray("GET / HTTP/1.1\r\nHost: Ex.COM:8080\r\n\r\n")
                                       << QStringLiteral("host") << QStringLiteral("Ex.COM");
    QTest::newRow("ipv6 host") << QByteArray("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
                               << QStringLiteral("host") << QStringLiteral("::1");
    QTest::newRow("absolute form overrides host")
        << QByteArray("GET http://abs.example:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n")
        << QStringLiteral("authority") << QStringLiteral("abs.example:81");
    QTest::newRow("absolute form target")
        << QByteArray("GET http://abs.example/p?q HTTP/1.1\r\nHost: o\r\n\r\n") << "target"
        << "/p?q";
    QTest::newRow("http/1.0 without host")
        << QByteArray("GET /x HTTP/1.0\r\n\r\n") << QStringLiteral("version") << QStringLiteral("1.0");
    QTest::newRow("value trimmed") << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX-V: \t a b \t\r\n\r\n")
                                   << QStringLiteral("x-v") << QStringLiteral("a b");
    QTest::newRow("empty value") << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\nX-F: f\r\n\r\n")
                                 << QStringLiteral("x-f") << QStringLiteral("f");
    QTest::newRow("method") << QByteArray("DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n") << QStringLiteral("method")
                            << QStringLiteral("DELETE");
    QTest::newRow("body") << QByteArray("PATCH / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
                          << QStringLiteral("body") << QStringLiteral("hello");
}

void TestHttpConnection::parsesHead()
{
    QFETCH(QByteArray, request);
    QFETCH(QString, field);
    QFETCH(QString, expected);
    Client client;
    QVERIFY(client.connectTo(m_server->port()));
    client.send(request);
    Response r;
    QVERIFY(client.read(&r));
    QCOMPARE(r.status, 200);
    const QJsonObject o = r.json();
    const QString actual = o.contains(field)
                               ? o.value(field).toString()
                               : o.value(QStringLiteral("headers")).toObject().value(field).toString();
    QCOMPARE(actual, expected);
}

void TestHttpConnection::chunkedBodyDecoded()
{
    Client client;
    QVERIFY(client.connectTo(m_server->port()));
    client.send("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: ignored\r\n\r\n");
    Response r;
    QVERIFY(client.read(&r));
    QCOMPARE(r.json().value(QStringLiteral("body")).toString(), QStringLiteral("hello world"));
}

void TestHttpConnection::fragmentedByteByByte()
{
    Client client;
    QVERIFY(client.connectTo(m_server->port()));
    const QByteArray request = "POST /frag?x HTTP/1.1\r\nHost: h\r\nX-Long-Name: some value\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    for (char c : request) {
        client.socket().write(&c, 1);
        client.socket().flush();
        client.socket().waitForBytesWritten(100);
    }
    Response r;
    QVERIFY(client.read(&r));
    const QJsonObject o = r.json();
    QCOMPARE(o.value(QStringLiteral("target")).toString(), QStringLiteral("/frag?x"));
    QCOMPARE(o.value(QStringLiteral("headers")).toObject().value(QStringLiteral("x-long-name")).toString(),
             QStringLiteral("some value"));
    QCOMPARE(o.value(QStringLiteral("body")).toString(), QStringLiteral("abc"));
}

void TestHttpConnection::pipelinedRequests()
{
    Client client;
    QVERIFY(client.connectTo(m_server->port()));
    QByteArray batch;
    for (int i = 0; i < 20; ++i)
        batch += "GET /" + QByteArray::number(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    client.send(batch);
    for (int i = 0; i < 20; ++i) {
        Response r;
        QVERIFY(client.read(&r));
        QCOMPARE(r.json().value(QStringLiteral("path")).toString(), QStringLiteral("/%1").arg(i));
    }
}

QTEST_GUILESS_MAIN(TestHttpConnection)
#include "tst_httpconnection.moc"
