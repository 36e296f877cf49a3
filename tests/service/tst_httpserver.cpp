// HttpServer as the admin API uses it: streamed answers, learning of a client that left, timeouts, drain;
// the client sockets underneath: many idle connections, half-close, reset, queued output.
#include "httptesthandler.h"
#include "proxytestkit.h"

#include <QElapsedTimer>
#include <QScopeGuard>
#include <QTest>

#include <vector>

#if defined(Q_OS_UNIX)
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#endif

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
    void manyIdleConnectionsHoldNoReadBuffer();
    void halfCloseAfterRequestAnswersThenCloses();
    void clientGoneWhileAnsweringIsHeard_data();
    void clientGoneWhileAnsweringIsHeard();
    void largeResponseQueuedArrivesWholeBeforeClose();
    void pipelinedBehindLargeResponseAnsweredInOrder();
};

namespace {

#if defined(Q_OS_UNIX)
// A blocking client socket, for opening connections by the thousand (a QTcpSocket each would be slow).
int connectRaw(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One GET and its whole answer (Content-Length framed): its status, or 0.
int rawGet(int fd)
{
    const QByteArray request("GET /idle HTTP/1.1\r\nHost: h\r\n\r\n");
    if (::send(fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL) != request.size())
        return 0;
    QByteArray in;
    char buf[4096];
    for (;;) {
        const qsizetype headEnd = in.indexOf("\r\n\r\n");
        if (headEnd >= 0) {
            const qsizetype at = in.toLower().indexOf("content-length:");
            const qsizetype want =
                at >= 0 ? in.mid(at + 15, in.indexOf('\r', at) - at - 15).trimmed().toLongLong() : 0;
            if (in.size() >= headEnd + 4 + want)
                return in.mid(9, 3).toInt();
        }
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return 0;
        in.append(buf, n);
    }
}
#endif

} // namespace

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

// Thousands of idle keep-alive connections: none keeps a read buffer, and requests beside them (and on
// them) are still answered.
void TestHttpServer::manyIdleConnectionsHoldNoReadBuffer()
{
#if defined(Q_OS_UNIX)
    constexpr int Idle = 2000;
    rlimit limit{};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    if (limit.rlim_max < rlim_t(2 * Idle + 100))
        QSKIP("the hard open-file limit is too low for this test");
    limit.rlim_cur = limit.rlim_max;
    QCOMPARE(::setrlimit(RLIMIT_NOFILE, &limit), 0); // client and server ends are both in this process
    ThreadedHttpServer server;
    std::vector<int> fds;
    const auto closeAll = qScopeGuard([&] {
        for (int fd : fds)
            ::close(fd);
    });
    for (int i = 0; i < Idle; ++i) {
        const int fd = connectRaw(server.port());
        QVERIFY2(fd >= 0, qPrintable(QStringLiteral("connection %1").arg(i)));
        fds.push_back(fd);
        QCOMPARE(rawGet(fd), 200);
    }
    QTRY_COMPARE(server.connectionCount(), Idle);
    QCOMPARE(server.readBuffersInUse(), 0);

    Client other;
    QVERIFY(other.connectTo(server.port()));
    QElapsedTimer clock;
    clock.start();
    other.send("GET /beside HTTP/1.1\r\nHost: h\r\n\r\n");
    Response r;
    QVERIFY(other.read(&r, 5000));
    QCOMPARE(r.status, 200);
    qInfo("a request beside %d idle connections answered in %lld ms", Idle, clock.elapsed());
    for (int i = 0; i < Idle; i += 97)
        QCOMPARE(rawGet(fds[size_t(i)]), 200);
    QCOMPARE(server.readBuffersInUse(), 0);
    QCOMPARE(server.handler.aborted.load(), 0);
#else
    QSKIP("POSIX sockets");
#endif
}

// A client that sends its request and then shuts its sending side (as some scripts do) gets the answer
// that was ready, and the connection then closes: the end of its stream ends the connection.
void TestHttpServer::halfCloseAfterRequestAnswersThenCloses()
{
#if defined(Q_OS_UNIX)
    ThreadedHttpServer server;
    Client client;
    QVERIFY(client.connectTo(server.port()));
    client.send("GET /half HTTP/1.1\r\nHost: h\r\n\r\n");
    QVERIFY(client.socket().waitForBytesWritten(1000) || client.socket().bytesToWrite() == 0);
    QCOMPARE(::shutdown(int(client.socket().socketDescriptor()), SHUT_WR), 0);
    Response r;
    QVERIFY(client.read(&r));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(QStringLiteral("path")).toString(), QStringLiteral("/half"));
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(server.connectionCount(), 0);
#else
    QSKIP("shutdown(2)");
#endif
}

// While the server answers (nothing is read from the client then), a client's half-close or reset is
// still heard: the exchange is aborted and the connection released, instead of streaming to a client that
// left.
void TestHttpServer::clientGoneWhileAnsweringIsHeard_data()
{
    QTest::addColumn<bool>("reset");
    QTest::newRow("half-close") << false;
    QTest::newRow("reset") << true;
}

void TestHttpServer::clientGoneWhileAnsweringIsHeard()
{
#if defined(Q_OS_UNIX)
    QFETCH(bool, reset);
    ThreadedHttpServer server;
    Client client;
    QVERIFY(client.connectTo(server.port()));
    client.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n");
    QVERIFY(!client.readUntil("data: tick\n\n").isEmpty());
    QCOMPARE(server.handler.aborted.load(), 0);
    const int fd = int(client.socket().socketDescriptor());
    if (reset) {
        const linger hard{1, 0}; // the close sends a reset, not a FIN
        QCOMPARE(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
        client.socket().abort();
    } else {
        QCOMPARE(::shutdown(fd, SHUT_WR), 0);
    }
    QTRY_COMPARE(server.handler.aborted.load(), 1);
    QTRY_COMPARE(server.connectionCount(), 0);
#else
    QSKIP("POSIX sockets");
#endif
}

// 8 MiB is far beyond what the socket buffers take at once: most of it waits in the connection's output
// queue, and "Connection: close" must not cut it short.
void TestHttpServer::largeResponseQueuedArrivesWholeBeforeClose()
{
    ThreadedHttpServer server;
    Client client;
    QVERIFY(client.connectTo(server.port()));
    constexpr qint64 Size = 8 * 1024 * 1024;
    client.send("GET /big?" + QByteArray::number(Size) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    Response r;
    QVERIFY(client.read(&r, 20000));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.body.size(), Size);
    QVERIFY(r.body == HttpTestHandler::bigBody(Size));
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(server.connectionCount(), 0);
}

void TestHttpServer::pipelinedBehindLargeResponseAnsweredInOrder()
{
    ThreadedHttpServer server;
    Client client;
    QVERIFY(client.connectTo(server.port()));
    constexpr qint64 Size = 4 * 1024 * 1024;
    client.send("GET /big?" + QByteArray::number(Size) + " HTTP/1.1\r\nHost: h\r\n\r\n" +
                "GET /second HTTP/1.1\r\nHost: h\r\n\r\n");
    Response r;
    QVERIFY(client.read(&r, 20000));
    QCOMPARE(r.body.size(), Size);
    QVERIFY(client.read(&r));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.json().value(QStringLiteral("path")).toString(), QStringLiteral("/second"));
    QCOMPARE(server.readBuffersInUse(), 0);
}

QTEST_GUILESS_MAIN(TestHttpServer)
#include "tst_httpserver.moc"
