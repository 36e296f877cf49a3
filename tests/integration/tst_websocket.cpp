// WebSocket through a real standalone holdfastd to a real holdfast_test_upstream (its RFC 6455 echo):
// enable_websocket on routes and services, the tunnel both ways, back-pressure, idle timeout, closes,
// metrics and the access log.
#include "gatewayprocess.h"
#include "testsupport.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>

#include <memory>

namespace {

// A route uri, kept out of macro arguments (moc reads a slash-star there as a comment).
const QByteArray WsPaths("/ws/*");

QByteArray upstreamJson(quint16 port, int readTimeoutS = 5)
{
    return R"({"nodes":{"127.0.0.1:)" + QByteArray::number(port) +
           R"(":1},"timeout":{"connect":2,"send":5,"read":)" + QByteArray::number(readTimeoutS) + "}}";
}

// One client frame (masked, as RFC 6455 requires of clients).
QByteArray clientFrame(int opcode, const QByteArray &payload)
{
    QByteArray frame;
    frame.append(char(0x80 | opcode));
    const qint64 n = payload.size();
    if (n < 126) {
        frame.append(char(0x80 | n));
    } else if (n < 65536) {
        frame.append(char(0x80 | 126));
        frame.append(char(n >> 8));
        frame.append(char(n & 0xff));
    } else {
        frame.append(char(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            frame.append(char((n >> (8 * i)) & 0xff));
    }
    const quint32 mask = QRandomGenerator::global()->generate();
    const char key[4] = {char(mask >> 24), char(mask >> 16), char(mask >> 8), char(mask)};
    frame.append(key, 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(payload.at(i) ^ key[i % 4]));
    return frame;
}

struct Frame
{
    int opcode = -1;
    QByteArray payload;
};

// Takes one whole server frame (unmasked) off the front of `in`; opcode -1 when none is whole yet.
Frame takeFrame(QByteArray &in)
{
    Frame f;
    if (in.size() < 2)
        return f;
    qint64 length = quint8(in.at(1)) & 0x7f;
    qsizetype at = 2;
    if (length == 126) {
        if (in.size() < 4)
            return f;
        length = (quint8(in.at(2)) << 8) | quint8(in.at(3));
        at = 4;
    } else if (length == 127) {
        if (in.size() < 10)
            return f;
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = (length << 8) | quint8(in.at(2 + i));
        at = 10;
    }
    if (in.size() < at + length)
        return f;
    f.opcode = quint8(in.at(0)) & 0x0f;
    f.payload = in.mid(at, length);
    in.remove(0, at + length);
    return f;
}

// Reads what `socket` has into `in`; whether a whole frame is there. Consumes nothing of `in`, so that
// QTRY_VERIFY may evaluate it as often as it likes.
bool frameArrived(QTcpSocket &socket, QByteArray &in)
{
    in += socket.readAll();
    QByteArray copy = in;
    return takeFrame(copy).opcode >= 0;
}

QByteArray pattern(qint64 offset, qint64 length)
{
    QByteArray out(length, Qt::Uninitialized);
    for (qint64 i = 0; i < length; ++i)
        out[i] = char((offset + i) % 251);
    return out;
}

qint64 rssKiB(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    }
    return -1;
}

} // namespace

class tst_WebSocket : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanup();
    void handshakeAndEchoBothWays();
    void bytesAfterTheHandshakeBelongToTheTunnel();
    void serviceValueIsInherited();
    void routeWithoutEnableWebsocketServesPlainRequest();
    void otherUpgradeServedAsPlainRequest();
    void slowReaderBoundsMemory();
    void idleTunnelClosed();
    void upstreamCloses();
    void clientCloses();
    void metricsAndAccessLog();

private:
    quint16 startUpstream();
    bool startGateway(const QByteArray &config, const QByteArray &settings = {});
    // A raw client that has completed the handshake on `path`; its status and what followed the head.
    int handshake(QTcpSocket &socket, const QByteArray &path, const QByteArray &extra = {},
                  QByteArray *head = nullptr, QByteArray *rest = nullptr);
    QByteArray metrics() const;
    qint64 metric(const QByteArray &name) const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestSupport::ManagedProcess> m_upstream;
    GatewayProcess m_gateway;
    quint16 m_upstreamPort = 0;
    quint16 m_port = 0;
    QString m_log;
    int m_gateways = 0;
};

void tst_WebSocket::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_upstreamPort = startUpstream();
    QVERIFY(m_upstreamPort > 0);
}

void tst_WebSocket::cleanup()
{
    m_gateway.stop();
}

quint16 tst_WebSocket::startUpstream()
{
    m_upstream = std::make_unique<TestSupport::ManagedProcess>();
    return TestSupport::startTestUpstream(*m_upstream, {QStringLiteral("--name"), QStringLiteral("ws")});
}

bool tst_WebSocket::startGateway(const QByteArray &config, const QByteArray &settings)
{
    m_gateway.stop();
    m_log = m_dir.filePath(QStringLiteral("access%1.log").arg(++m_gateways));
    GatewayProcess::Options options;
    options.standalone = config;
    options.extra = QJsonDocument::fromJson("{" + settings + "}").object();
    options.extra.insert(QStringLiteral("access_log"), m_log);
    if (!m_gateway.start(options)) {
        qWarning("%s", m_gateway.output().constData());
        return false;
    }
    m_port = m_gateway.proxyPort();
    // The listeners open before the file is applied: wait until a route serves.
    return QTest::qWaitFor(
        [&] {
            QTcpSocket probe;
            probe.connectToHost(QHostAddress::LocalHost, m_port);
            if (!probe.waitForConnected(2000))
                return false;
            probe.write("GET /ws/probe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            QByteArray raw;
            while (probe.waitForReadyRead(2000))
                raw += probe.readAll();
            return raw.startsWith("HTTP/1.1 200");
        },
        10000);
}

int tst_WebSocket::handshake(QTcpSocket &socket, const QByteArray &path, const QByteArray &extra,
                             QByteArray *head, QByteArray *rest)
{
    socket.connectToHost(QHostAddress::LocalHost, m_port);
    if (!socket.waitForConnected(5000))
        return 0;
    socket.write("GET " + path +
                 " HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                 extra + "\r\n");
    QByteArray raw;
    while (!raw.contains("\r\n\r\n") && socket.waitForReadyRead(5000))
        raw += socket.readAll();
    const qsizetype end = raw.indexOf("\r\n\r\n");
    if (end < 0)
        return 0;
    if (head)
        *head = raw.left(end);
    if (rest)
        *rest = raw.mid(end + 4);
    return raw.mid(9, 3).toInt();
}

QByteArray tst_WebSocket::metrics() const
{
    return m_gateway.admin("GET", "/metrics").body;
}

qint64 tst_WebSocket::metric(const QByteArray &name) const
{
    for (const QByteArray &line : metrics().split('\n')) {
        if (line.startsWith(name + ' '))
            return line.mid(name.size() + 1).trimmed().toLongLong();
    }
    return -1;
}

// QtWebSockets on the client side checks the 101 and Sec-WebSocket-Accept independently of our code.
void tst_WebSocket::handshakeAndEchoBothWays()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort) + "}}}"));
    QWebSocket ws;
    QList<QString> texts;
    QList<QByteArray> binaries;
    connect(&ws, &QWebSocket::textMessageReceived, this, [&](const QString &m) { texts.append(m); });
    connect(&ws, &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &m) { binaries.append(m); });
    ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws/echo").arg(m_port)));
    QTRY_VERIFY_WITH_TIMEOUT(ws.state() == QAbstractSocket::ConnectedState, 5000);
    ws.sendTextMessage(QStringLiteral("hello through the gateway"));
    QTRY_COMPARE_WITH_TIMEOUT(texts.size(), 1, 5000);
    QCOMPARE(texts.first(), QStringLiteral("hello through the gateway"));
    // Large messages both ways: 4 MiB up, echoed 4 MiB down.
    const QByteArray big = pattern(7, 4 * 1024 * 1024);
    ws.sendBinaryMessage(big);
    QTRY_COMPARE_WITH_TIMEOUT(binaries.size(), 1, 20000);
    QVERIFY(binaries.first() == big);
    // The upstream received exactly what was sent, framed as sent.
    ws.sendTextMessage(QStringLiteral("count"));
    QTRY_COMPARE_WITH_TIMEOUT(texts.size(), 2, 5000);
    QCOMPARE(texts.at(1), QStringLiteral("count %1")
                              .arg(QByteArray("hello through the gateway").size() + big.size() +
                                   QByteArray("count").size()));
    ws.close();
    QTRY_VERIFY_WITH_TIMEOUT(ws.state() == QAbstractSocket::UnconnectedState, 5000);
}

// A client may send its first frame in the same packet as its handshake: those bytes follow the head in
// the gateway's read buffer and must reach the upstream as tunnel bytes, not as a next HTTP request.
void tst_WebSocket::bytesAfterTheHandshakeBelongToTheTunnel()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort) + "}}}"));
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_port);
    QVERIFY(socket.waitForConnected(5000));
    socket.write("GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
                 clientFrame(0x1, "early frame"));
    QByteArray raw;
    Frame frame;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            raw += socket.readAll();
            const qsizetype end = raw.indexOf("\r\n\r\n");
            if (end < 0)
                return false;
            QByteArray rest = raw.mid(end + 4);
            frame = takeFrame(rest);
            return frame.opcode >= 0;
        }(),
        5000);
    QVERIFY2(raw.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), raw.constData());
    QVERIFY(raw.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    QVERIFY(raw.toLower().contains("\r\nupgrade: websocket\r\n"));
    QVERIFY(raw.toLower().contains("\r\nconnection: upgrade\r\n"));
    QCOMPARE(frame.opcode, 0x1);
    QCOMPARE(frame.payload, QByteArray("early frame"));
}

// APISIX: a route without its own enable_websocket takes its service's; its own value (even false) wins.
void tst_WebSocket::serviceValueIsInherited()
{
    QVERIFY(startGateway(
        R"({"services":{"s":{"enable_websocket":true,"upstream":)" + upstreamJson(m_upstreamPort) +
        R"(}},"routes":{"1":{"uri":")" + WsPaths +
        R"(","service_id":"s"},"2":{"uri":"/ws/off","service_id":"s","enable_websocket":false}}})"));
    {
        QTcpSocket socket;
        QCOMPARE(handshake(socket, "/ws/echo"), 101);
    }
    QTcpSocket socket;
    QByteArray head;
    QByteArray rest;
    QCOMPARE(handshake(socket, "/ws/off", {}, &head, &rest), 200);
}

// nginx without the upgrade configuration (and APISIX without enable_websocket): Upgrade is a hop-by-hop
// field, dropped; the request is answered as a plain one.
void tst_WebSocket::routeWithoutEnableWebsocketServesPlainRequest()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","upstream":)" +
                         upstreamJson(m_upstreamPort) + "}}}"));
    QTcpSocket socket;
    QByteArray head;
    QByteArray rest;
    QCOMPARE(handshake(socket, "/ws/echo", {}, &head, &rest), 200);
    while (!rest.endsWith('}') && socket.waitForReadyRead(5000))
        rest += socket.readAll();
    const QJsonObject echo = QJsonDocument::fromJson(rest).object();
    QCOMPARE(echo.value(QStringLiteral("target")).toString(), QStringLiteral("/ws/echo"));
    const QJsonObject headers = echo.value(QStringLiteral("headers")).toObject();
    QVERIFY2(!headers.contains(QStringLiteral("upgrade")), rest.constData());
    QVERIFY2(!headers.contains(QStringLiteral("connection")), rest.constData());
    QCOMPARE(metric("holdfast_websocket_tunnels_total"), 0);
}

// Upgrade to anything but websocket (h2c, as curl --http2 sends on http://) is not tunnelled even where
// WebSocket is enabled: answered as the plain request it also is.
void tst_WebSocket::otherUpgradeServedAsPlainRequest()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort) + "}}}"));
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_port);
    QVERIFY(socket.waitForConnected(5000));
    socket.write("GET /ws/echo HTTP/1.1\r\nHost: t\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                 "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
    QByteArray raw;
    while (!raw.endsWith('}') && socket.waitForReadyRead(5000))
        raw += socket.readAll();
    QVERIFY2(raw.startsWith("HTTP/1.1 200 "), raw.constData());
    const QJsonObject headers = QJsonDocument::fromJson(raw.mid(raw.indexOf("\r\n\r\n") + 4))
                                    .object()
                                    .value(QStringLiteral("headers"))
                                    .toObject();
    QVERIFY(!headers.contains(QStringLiteral("upgrade")));
    QVERIFY(!headers.contains(QStringLiteral("http2-settings"))); // listed in Connection: hop-by-hop
    // The connection stays an HTTP connection: a second request on it is answered.
    raw.clear();
    socket.write("GET /ws/again HTTP/1.1\r\nHost: t\r\n\r\n");
    while (!raw.endsWith('}') && socket.waitForReadyRead(5000))
        raw += socket.readAll();
    QVERIFY2(raw.startsWith("HTTP/1.1 200 ") && raw.contains("/ws/again"), raw.constData());
}

// The upstream pushes 96 MiB as fast as it can to a client that reads nothing: the gateway stops reading
// the upstream once the client's side is full, so its memory stays flat; then everything arrives intact.
void tst_WebSocket::slowReaderBoundsMemory()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort, 30) + "}}}"));
    const qint64 total = 96 * 1024 * 1024;
    QTcpSocket socket;
    socket.setReadBufferSize(64 * 1024); // the client reads nothing beyond this until told to
    QByteArray rest;
    QCOMPARE(handshake(socket, "/ws/push", {}, nullptr, &rest), 101);
    const qint64 before = rssKiB(m_gateway.pid());
    QVERIFY(before > 0);
    socket.write(clientFrame(0x1, "push " + QByteArray::number(total)));
    QVERIFY(socket.waitForBytesWritten(5000));
    // The client's own buffer fills first; then the kernel's buffers; then the gateway must hold back.
    QTRY_VERIFY_WITH_TIMEOUT(socket.bytesAvailable() >= 64 * 1024, 10000);
    // An observation window, not a synchronisation: without back-pressure 96 MiB pile up within it.
    QTest::qWait(1500);
    const qint64 during = rssKiB(m_gateway.pid());
    qInfo("gateway RSS %lld KiB before, %lld KiB while 96 MiB wait behind a client that reads nothing",
          before, during);
    QVERIFY2(during - before < 16 * 1024,
             qPrintable(QStringLiteral("gateway RSS grew from %1 to %2 KiB").arg(before).arg(during)));

    // Now read everything: every byte arrives, in order, then the upstream's "pushed" message.
    socket.setReadBufferSize(0);
    QByteArray in = rest;
    qint64 received = 0;
    bool intact = true;
    QByteArray last;
    QElapsedTimer clock;
    clock.start();
    while (last.isEmpty() && clock.elapsed() < 60000) {
        if (socket.bytesAvailable() == 0 && !socket.waitForReadyRead(5000))
            break;
        in += socket.readAll();
        for (Frame f = takeFrame(in); f.opcode >= 0; f = takeFrame(in)) {
            if (f.opcode == 0x2) {
                intact = intact && f.payload == pattern(received, f.payload.size());
                received += f.payload.size();
            } else if (f.opcode == 0x1) {
                last = f.payload;
            }
        }
    }
    QVERIFY(intact);
    QCOMPARE(received, total);
    QCOMPARE(last, "pushed " + QByteArray::number(total));
}

// No byte either way for the upstream's read timeout (1 s here) closes the tunnel; traffic keeps it open.
void tst_WebSocket::idleTunnelClosed()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort, 1) + "}}}"));
    QTcpSocket socket;
    QCOMPARE(handshake(socket, "/ws/echo"), 101);
    QByteArray in;
    // Busy for 2.5 s (past the timeout), a message every 300 ms: still open.
    QElapsedTimer busy;
    busy.start();
    QElapsedTimer idle; // since the last byte either way
    while (busy.elapsed() < 2500) {
        socket.write(clientFrame(0x1, "ping-ish"));
        QTRY_VERIFY_WITH_TIMEOUT(frameArrived(socket, in), 3000);
        idle.start();
        QCOMPARE(takeFrame(in).payload, QByteArray("ping-ish"));
        QTest::qWait(300);
    }
    QCOMPARE(socket.state(), QAbstractSocket::ConnectedState);
    QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
    QVERIFY2(idle.elapsed() >= 900, qPrintable(QString::number(idle.elapsed())));
    QTRY_COMPARE_WITH_TIMEOUT(metric("holdfast_websocket_tunnels_active"), 0, 5000);
}

// The upstream sends a close frame and closes: the client receives the frame, then its connection ends.
void tst_WebSocket::upstreamCloses()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort) + "}}}"));
    QWebSocket ws;
    ws.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/ws/echo").arg(m_port)));
    QTRY_VERIFY_WITH_TIMEOUT(ws.state() == QAbstractSocket::ConnectedState, 5000);
    ws.sendTextMessage(QStringLiteral("close"));
    QTRY_VERIFY_WITH_TIMEOUT(ws.state() == QAbstractSocket::UnconnectedState, 5000);
    QCOMPARE(ws.closeCode(), QWebSocketProtocol::CloseCodeNormal);
    QTRY_COMPARE_WITH_TIMEOUT(metric("holdfast_websocket_tunnels_active"), 0, 5000);
}

// The client drops its TCP connection without a close frame: the upstream side is closed too.
void tst_WebSocket::clientCloses()
{
    QVERIFY(startGateway(R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
                         upstreamJson(m_upstreamPort) + "}}}"));
    {
        QTcpSocket socket;
        QCOMPARE(handshake(socket, "/ws/echo"), 101);
        QTRY_COMPARE_WITH_TIMEOUT(metric("holdfast_websocket_tunnels_active"), 1, 5000);
        socket.abort();
    }
    QTRY_COMPARE_WITH_TIMEOUT(metric("holdfast_websocket_tunnels_active"), 0, 5000);
    QCOMPARE(metric("holdfast_websocket_tunnels_total"), 1);
    QTRY_COMPARE_WITH_TIMEOUT(metric("holdfast_http_connections_active"), 0, 5000);
}

// One access-log line per tunnel, written when it ends: status 101, bytes each way, its duration.
void tst_WebSocket::metricsAndAccessLog()
{
    QVERIFY(startGateway(
        R"({"routes":{"1":{"uri":")" + WsPaths + R"(","enable_websocket":true,"upstream":)" +
            upstreamJson(m_upstreamPort) + "}}}",
        R"("access_log_format":"$status $request_length $body_bytes_sent $request_time $upstream_status $request")"));
    {
        QTcpSocket socket;
        QCOMPARE(handshake(socket, "/ws/logged"), 101);
        QCOMPARE(metric("holdfast_websocket_tunnels_active"), 1);
        const QByteArray payload(1000, 'x');
        socket.write(clientFrame(0x2, payload)); // 1008 bytes up (8 of framing with the mask)
        QByteArray in;
        QTRY_VERIFY_WITH_TIMEOUT(frameArrived(socket, in), 5000);
        QCOMPARE(takeFrame(in).payload, payload); // 1004 bytes down
        QTest::qWait(200);                        // a measurable duration
        socket.write(clientFrame(0x8, QByteArray("\x03\xe8", 2)));
        // The upstream answers the close and closes; the gateway then closes the client.
        QTRY_VERIFY_WITH_TIMEOUT(socket.state() == QAbstractSocket::UnconnectedState, 5000);
    }
    QTRY_COMPARE_WITH_TIMEOUT(metric("holdfast_websocket_tunnels_active"), 0, 5000);
    QCOMPARE(metric("holdfast_websocket_tunnels_total"), 1);
    QVERIFY(
        metrics().contains(R"(holdfast_http_requests_total{route="1",upstream="routes/1",code="101"} 1)"));
    QFile log(m_log);
    QByteArray line;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            if (!log.open(QIODevice::ReadOnly))
                return false;
            const QList<QByteArray> lines = log.readAll().split('\n');
            log.close();
            for (const QByteArray &l : lines) {
                if (l.contains("/ws/logged"))
                    line = l;
            }
            return !line.isEmpty();
        }(),
        5000);
    const QList<QByteArray> fields = line.split(' ');
    QVERIFY2(fields.size() >= 6, line.constData());
    QCOMPARE(fields.at(0), QByteArray("101"));
    QCOMPARE(fields.at(1).toLongLong(), 1008 + 6 + 2); // the data frame and the close frame up
    QCOMPARE(fields.at(2).toLongLong(), 1004 + 4);     // the echo and the close answer down
    QVERIFY2(fields.at(3).toDouble() >= 0.2, line.constData());
    QCOMPARE(fields.at(4), QByteArray("101"));
}

QTEST_GUILESS_MAIN(tst_WebSocket)
#include "tst_websocket.moc"
