// HttpServer as the admin API uses it: streamed answers, learning of a client that left, timeouts, drain.
#include "httptesthandler.h"
#include "proxytestkit.h"

#include <QTest>

using namespace ProxyTestKit;

class TestHttpServer : public QObject
{
    Q_OBJECT

private slots:
    void serverSentEventsUntilClientLeaves();
    void headerTimeoutAnswers408();
    void idleKeepAliveClosed();
    void drainFinishesInFlightAndClosesIdle();
    void listenErrorNamesAddress();
};

void TestHttpServer::serverSentEventsUntilClientLeaves()
{
    ThreadedHttpServer server;
    {
        Client client;
        QVERIFY(client.connectTo(server.port()));
        client.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
        const QByteArray head = client.readUntil("\r\n\r\n");
        QVERIFY(head.startsWith("HTTP/1.1 200 OK"));
        QVERIFY(head.contains("Content-Type: text/event-stream"));
        QVERIFY(head.contains("Transfer-Encoding: chunked"));
        for (int i = 0; i < 3; ++i)
            QVERIFY(!client.readUntil("data: tick\n\n").isEmpty());
        QCOMPARE(server.handler.aborted.load(), 0);
    }
    // The client is gone: the handler hears of it, and the connection is released.
    QTRY_COMPARE(server.handler.aborted.load(), 1);
    QTRY_COMPARE(server.connectionCount(), 0);
}

void TestHttpServer::headerTimeoutAnswers408()
{
    HttpLimits limits;
    limits.headerTimeoutMs = 300;
    ThreadedHttpServer server(limits);
    Client client;
    QVERIFY(client.connectTo(server.port()));
    client.send("GET / HTTP/1.1\r\nHost: h\r\n"); // never finished
    Response r;
    QVERIFY(client.read(&r, 3000));
    QCOMPARE(r.status, 408);
    QVERIFY(client.waitClosed());
}

void TestHttpServer::idleKeepAliveClosed()
{
    HttpLimits limits;
    limits.keepaliveTimeoutMs = 300;
    ThreadedHttpServer server(limits);
    Client client;
    QVERIFY(client.connectTo(server.port()));
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    Response r;
    QVERIFY(client.read(&r));
    QCOMPARE(r.status, 200);
    QElapsedTimer timer;
    timer.start();
    QVERIFY(client.waitClosed(3000));
    QVERIFY(timer.elapsed() >= 200);
    QTRY_COMPARE(server.handler.closed.load(), server.handler.opened.load());
}

void TestHttpServer::drainFinishesInFlightAndClosesIdle()
{
    ThreadedHttpServer server;
    Client idle;
    QVERIFY(idle.connectTo(server.port()));
    idle.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    Response r;
    QVERIFY(idle.read(&r));
    Client busy;
    QVERIFY(busy.connectTo(server.port()));
    busy.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhalf"); // in flight
    QTRY_COMPARE(server.connectionCount(), 2);
    server.drain();
    QVERIFY(idle.waitClosed());
    busy.send("-done");
    busy.send("!");
    QVERIFY(busy.read(&r));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(QStringLiteral("body")).toString(), QStringLiteral("half-done!"));
    QCOMPARE(r.header("connection"), QByteArray("close"));
    QVERIFY(busy.waitClosed());
    QTRY_COMPARE(server.connectionCount(), 0);
    // No new connections once draining.
    QTcpSocket late;
    late.connectToHost(QHostAddress::LocalHost, server.port());
    QVERIFY(!late.waitForConnected(1000) || !late.waitForReadyRead(500));
}

void TestHttpServer::listenErrorNamesAddress()
{
    ThreadedHttpServer first;
    HttpTestHandler handler;
    HttpServer second(&handler);
    QString error;
    QVERIFY(!second.listen(QHostAddress::LocalHost, first.port(), &error));
    QVERIFY2(error.contains(QStringLiteral("127.0.0.1:%1").arg(first.port())), qPrintable(error));
}

QTEST_GUILESS_MAIN(TestHttpServer)
#include "tst_httpserver.moc"
