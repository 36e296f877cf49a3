// The admin API of a real holdfastd: token, probes, status, configuration, diff, events, resync, metrics.
#include "gatewayevent.h"
#include "gatewayprocess.h"
#include "gatewaystatus.h"
#include "testsupport.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <sys/stat.h>
#include <vector>

class tst_AdminApi : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void tokenIsCreatedPrivateAndRequired();
    void tokenCheckedBeforeBody();
    void connectionsCapped();
    void eventStreamsCapped();
    void statusConfigAndDiff();
    void eventsFollowChanges();
    void stopsCleanlyWithAnEventStreamOpen();
    void resyncRereadsAndMetricsCount();

private:
    using Reply = GatewayProcess::Response;
    // One call on its own connection, with `token` as the bearer (none when empty).
    Reply call(const QByteArray &method, const QByteArray &path, const QByteArray &token) const;
    Reply admin(const QByteArray &method, const QByteArray &path) const
    {
        return call(method, path, m_token);
    }
    // Connects `events` to GET /v1/events with the token; false when nothing accepts.
    bool openEvents(QTcpSocket *events) const;
    // Reads the stream into `stream` until it holds `text` (up to 10 s).
    static bool readEventsUntil(QTcpSocket *events, QByteArray *stream, const QByteArray &text);
    // The uri of route 1 in a /v1/config/live document.
    static QString liveUri(const QJsonObject &live);
    bool writeRoutes(const QByteArray &json) const;
    static QByteArray config(const QByteArray &uri);

    std::unique_ptr<GatewayProcess> m_gateway;
    quint16 m_port = 0;
    quint16 m_adminPort = 0;
    QByteArray m_token;
};

QByteArray tst_AdminApi::config(const QByteArray &uri)
{
    return R"({"routes":{"1":{"uri":")" + uri +
           R"(","upstream_id":"1"}},"upstreams":{"1":{"nodes":{"127.0.0.1:9":1}}}})";
}

bool tst_AdminApi::writeRoutes(const QByteArray &json) const
{
    QFile file(m_gateway->standaloneFile());
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(json) == json.size();
}

tst_AdminApi::Reply tst_AdminApi::call(const QByteArray &method, const QByteArray &path,
                                       const QByteArray &token) const
{
    QList<QPair<QByteArray, QByteArray>> headers;
    if (!token.isEmpty())
        headers.append({"Authorization", "Bearer " + token});
    return GatewayProcess::request(m_adminPort, method, path, headers);
}

QString tst_AdminApi::liveUri(const QJsonObject &live)
{
    return live.value(QStringLiteral("config"))
        .toObject()
        .value(QStringLiteral("routes"))
        .toObject()
        .value(QStringLiteral("1"))
        .toObject()
        .value(QStringLiteral("uri"))
        .toString();
}

void tst_AdminApi::init()
{
    m_gateway = std::make_unique<GatewayProcess>();
    GatewayProcess::Options options;
    options.standalone = config("/one");
    options.extra = {{QStringLiteral("admin"), QJsonObject{{QStringLiteral("max_connections"), 4},
                                                           {QStringLiteral("max_event_streams"), 2}}}};
    QVERIFY2(m_gateway->start(options), m_gateway->output().constData());
    m_port = m_gateway->proxyPort();
    m_adminPort = m_gateway->adminPort();
    m_token = m_gateway->token();
    QCOMPARE(m_token.size(), 64);
}

void tst_AdminApi::cleanup()
{
    m_gateway.reset();
}

void tst_AdminApi::tokenIsCreatedPrivateAndRequired()
{
    struct stat info;
    QCOMPARE(::stat(QFile::encodeName(m_gateway->filePath(QStringLiteral("admin.token"))).constData(), &info),
             0);
    QCOMPARE(info.st_mode & 0777, mode_t(0600));
    // Probes need no token; everything else does.
    QCOMPARE(call("GET", "/healthz", {}).status, 200);
    QCOMPARE(call("GET", "/readyz", {}).status, 200);
    for (const QByteArray path : {"/v1/status", "/metrics", "/v1/config/live", "/v1/events"}) {
        const Reply none = call("GET", path, {});
        QCOMPARE(none.status, 401);
        QVERIFY(none.header("WWW-Authenticate").startsWith("Bearer"));
        QCOMPARE(call("GET", path, "0123" + m_token.mid(4)).status, 401);
    }
    QCOMPARE(call("POST", "/v1/resync", "nope").status, 401);
    QCOMPARE(admin("GET", "/v1/status").status, 200);
    QCOMPARE(admin("POST", "/v1/status").status, 405);
    QCOMPARE(admin("GET", "/v1/nothing").status, 404);
    // The token never reaches the log.
    QVERIFY(!m_gateway->output().contains(m_token));
}

// Issue 9: a caller without the token gets 401 at once - no `100 Continue`, its body never read.
void tst_AdminApi::tokenCheckedBeforeBody()
{
    for (const QByteArray &token : {QByteArray(), QByteArray("Authorization: Bearer wrong\r\n")}) {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_adminPort);
        QVERIFY(socket.waitForConnected(5000));
        socket.write("POST /v1/resync HTTP/1.1\r\nHost: admin\r\n" + token +
                     "Content-Length: 60000\r\nExpect: 100-continue\r\n\r\n");
        QByteArray raw;
        QDeadlineTimer deadline(5000);
        while (socket.state() == QAbstractSocket::ConnectedState && !deadline.hasExpired()) {
            if (socket.waitForReadyRead(100))
                raw += socket.readAll();
        }
        raw += socket.readAll();
        QVERIFY2(raw.startsWith("HTTP/1.1 401 "), raw.constData());
        QVERIFY2(!raw.contains("100 Continue"), raw.constData());
        // Closed by the gateway without waiting for the 60,000 bytes announced.
        QCOMPARE(socket.state(), QAbstractSocket::UnconnectedState);
    }
    // With the token, the same request is told to continue and is served.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_adminPort);
    QVERIFY(socket.waitForConnected(5000));
    socket.write("POST /v1/resync HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer " + m_token +
                 "\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    QByteArray raw;
    QDeadlineTimer deadline(5000);
    while (!raw.contains("100 Continue\r\n\r\n") && !deadline.hasExpired()) {
        if (socket.waitForReadyRead(100))
            raw += socket.readAll();
    }
    QVERIFY2(raw.startsWith("HTTP/1.1 100 Continue\r\n\r\n"), raw.constData());
    socket.write("{}");
    while (!raw.contains("HTTP/1.1 202 ") && !deadline.hasExpired()) {
        if (socket.waitForReadyRead(100))
            raw += socket.readAll();
    }
    QVERIFY2(raw.contains("HTTP/1.1 202 "), raw.constData());
}

// admin.max_connections is 4: a fifth client is not served while four are open, and is once one leaves.
void tst_AdminApi::connectionsCapped()
{
    std::vector<std::unique_ptr<QTcpSocket>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<QTcpSocket>());
        QTcpSocket &socket = *held.back();
        socket.connectToHost(QHostAddress::LocalHost, m_adminPort);
        QVERIFY(socket.waitForConnected(5000));
        socket.write("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n");
        QByteArray raw;
        while (!raw.contains("ok\n") && socket.waitForReadyRead(5000))
            raw += socket.readAll();
        QVERIFY2(raw.startsWith("HTTP/1.1 200 "), raw.constData());
    }
    QTcpSocket fifth;
    fifth.connectToHost(QHostAddress::LocalHost, m_adminPort);
    QVERIFY(fifth.waitForConnected(5000)); // the kernel's backlog completes the handshake
    fifth.write("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n");
    // Left in the backlog (no answer): never served past the cap.
    fifth.waitForReadyRead(1000);
    QVERIFY2(!fifth.readAll().startsWith("HTTP/1.1 200 "), "a fifth admin connection was served");
    held.pop_back();
    // The freed slot goes to the connection waiting in the backlog, which keeps it while it stays open
    // (waiting for another call here would wait for its idle timeout): it is answered, then closes.
    QByteArray answer;
    QTRY_VERIFY_WITH_TIMEOUT((answer += fifth.readAll()).startsWith("HTTP/1.1 200 "), 5000);
    fifth.disconnectFromHost();
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", "/healthz", {}).status, 200, 5000);
}

// admin.max_event_streams is 2: the third follower gets 503 with a reason.
void tst_AdminApi::eventStreamsCapped()
{
    std::vector<std::unique_ptr<QTcpSocket>> streams;
    // Opens a follower and returns what arrived until its first event or a complete refusal.
    const auto follow = [&] {
        streams.push_back(std::make_unique<QTcpSocket>());
        QTcpSocket &socket = *streams.back();
        socket.connectToHost(QHostAddress::LocalHost, m_adminPort);
        if (!socket.waitForConnected(5000))
            return QByteArray();
        socket.write("GET /v1/events HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer " + m_token +
                     "\r\n\r\n");
        QByteArray raw;
        while (!raw.contains("event: status") && !raw.contains("}\n") && socket.waitForReadyRead(5000))
            raw += socket.readAll();
        if (!raw.contains("event: status"))
            streams.pop_back(); // refused: let the socket go
        return raw;
    };
    for (int i = 0; i < 2; ++i) {
        const QByteArray raw = follow();
        QVERIFY2(raw.contains("event: status"), raw.constData());
    }
    const Reply third = admin("GET", "/v1/events");
    QCOMPARE(third.status, 503);
    QVERIFY2(third.json()
                 .value(QStringLiteral("error_msg"))
                 .toString()
                 .contains(QLatin1String("admin.max_event_streams is 2")),
             third.body.constData());
    QCOMPARE(int(streams.size()), 2); // the refused socket was let go, the two followers stay

    // A follower that goes away frees its slot at once, not at the next keepalive (15 s later): a new
    // follower is taken well within that.
    streams.front()->abort();
    streams.erase(streams.begin());
    QElapsedTimer clock;
    clock.start();
    // follow() opens a connection each time: a loop of its own rather than QTRY_VERIFY, which evaluates
    // its condition once more after it held.
    bool taken = false;
    while (!taken && clock.elapsed() < 3000) {
        taken = follow().contains("event: status");
        if (!taken)
            QTest::qWait(50);
    }
    QVERIFY(taken);
    QVERIFY2(clock.elapsed() < 3000, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(int(streams.size()), 2);
}

void tst_AdminApi::statusConfigAndDiff()
{
    const QJsonObject status = admin("GET", "/v1/status").json();
    QCOMPARE(status.value(QStringLiteral("state")).toString(), QStringLiteral("standalone"));
    QVERIFY(status.value(QStringLiteral("ready")).toBool());
    const QJsonObject live = status.value(QStringLiteral("live")).toObject();
    QCOMPARE(live.value(QStringLiteral("counts")).toObject().value(QStringLiteral("routes")).toInt(), 1);
    const QString sha = live.value(QStringLiteral("sha256")).toString();
    QCOMPARE(sha.size(), 64);
    // Standalone, the document has every member a synced gateway's has: the console reads both alike.
    QString error;
    const std::optional<GatewayStatus> typed = GatewayStatus::fromJson(status, &error);
    QVERIFY2(typed, qPrintable(error));
    QCOMPARE(typed->state, GatewayStatus::State::Standalone);
    QCOMPARE(typed->live.from, GatewayStatus::Origin::File);
    QCOMPARE(typed->controlPlane.type, QStringLiteral("file"));
    QVERIFY(typed->controlPlane.connected);
    QVERIFY(!typed->persisted.revision);
    QCOMPARE(typed->toJson(), status);

    const QJsonObject config = admin("GET", "/v1/config/live").json();
    QCOMPARE(config.value(QStringLiteral("sha256")).toString(), sha);
    QCOMPARE(liveUri(config), QStringLiteral("/one"));

    // Standalone keeps no local copy: nothing persisted, and the diff shows all of live as added.
    QCOMPARE(admin("GET", "/v1/config/persisted").status, 404);
    const QJsonObject diff = admin("GET", "/v1/config/diff").json();
    QCOMPARE(diff.value(QStringLiteral("equal")).toBool(), false);
    QCOMPARE(diff.value(QStringLiteral("live_sha256")).toString(), sha);
    QStringList pointers;
    for (const QJsonValue &change : diff.value(QStringLiteral("changes")).toArray()) {
        QCOMPARE(change.toObject().value(QStringLiteral("kind")).toString(), QStringLiteral("added"));
        pointers << change.toObject().value(QStringLiteral("pointer")).toString();
    }
    QVERIFY2(pointers.contains(QStringLiteral("/routes")), qPrintable(pointers.join(QLatin1Char(' '))));
}

bool tst_AdminApi::openEvents(QTcpSocket *events) const
{
    events->connectToHost(QHostAddress::LocalHost, m_adminPort);
    if (!events->waitForConnected(5000))
        return false;
    events->write("GET /v1/events HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer " + m_token + "\r\n\r\n");
    return true;
}

bool tst_AdminApi::readEventsUntil(QTcpSocket *events, QByteArray *stream, const QByteArray &text)
{
    QDeadlineTimer deadline(10000);
    while (!stream->contains(text) && !deadline.hasExpired()) {
        if (events->waitForReadyRead(100))
            *stream += events->readAll();
    }
    return stream->contains(text);
}

// The console follows /v1/events all the time, so a stop usually finds a stream open: the handler must
// learn that its exchange is gone when the admin server goes (a use after free on Windows, found under Wine).
void tst_AdminApi::stopsCleanlyWithAnEventStreamOpen()
{
    QTcpSocket events;
    QByteArray stream;
    QVERIFY(openEvents(&events));
    QVERIFY2(readEventsUntil(&events, &stream, "event: status"), stream.constData());
    m_gateway->stop();
    // Under AddressSanitizer a use after free ends the process with its report and exit code 1.
    QVERIFY2(m_gateway->exitCode() == 0, m_gateway->output().right(4000).constData());
    // The stream ended with the gateway.
    QTRY_VERIFY_WITH_TIMEOUT(
        events.state() == QAbstractSocket::UnconnectedState || events.waitForDisconnected(100), 5000);
}

void tst_AdminApi::eventsFollowChanges()
{
    QTcpSocket events;
    QByteArray stream;
    QVERIFY(openEvents(&events));
    const auto waitFor = [&](const QByteArray &text) { return readEventsUntil(&events, &stream, text); };
    QVERIFY2(waitFor("event: status"), stream.constData()); // the current state first
    QVERIFY(stream.contains("text/event-stream"));

    QVERIFY(writeRoutes(config("/two")));
    QVERIFY2(waitFor("event: applied"), stream.constData());
    QVERIFY(waitFor("\"revision\":2"));

    QVERIFY(writeRoutes(R"({"routes":{"1":{"uri":5}}})"));
    QVERIFY2(waitFor("event: rejected"), stream.constData());
    QVERIFY(waitFor("routes/1: /uri: expected string, got number"));
    // Every event on the stream is one the console's type reads.
    QStringList parsed;
    QByteArray name;
    for (const QByteArray &line : stream.split('\n')) {
        if (line.startsWith("event: "))
            name = line.mid(7).trimmed();
        if (!line.startsWith("data: ") || name.isEmpty())
            continue;
        QString error;
        const auto event =
            GatewayEvent::fromJson(name, QJsonDocument::fromJson(line.mid(6)).object(), &error);
        QVERIFY2(event, qPrintable(QStringLiteral("%1: %2").arg(QString::fromLatin1(name), error)));
        parsed << QString::fromLatin1(name);
        name.clear();
    }
    QVERIFY2(parsed.contains(QStringLiteral("status")) && parsed.contains(QStringLiteral("applied")) &&
                 parsed.contains(QStringLiteral("rejected")),
             qPrintable(parsed.join(QLatin1Char(' '))));
    // Still serving the last good configuration.
    QCOMPARE(admin("GET", "/v1/status")
                 .json()
                 .value(QStringLiteral("live"))
                 .toObject()
                 .value(QStringLiteral("revision"))
                 .toInt(),
             2);
}

void tst_AdminApi::resyncRereadsAndMetricsCount()
{
    // The file changes, and the resync's answer already reflects it: the resync re-read the file (the
    // watcher may have too; either way the new content must be what is live once the call returns).
    QVERIFY(writeRoutes(config("/resynced")));
    const Reply resync = admin("POST", "/v1/resync");
    QCOMPARE(resync.status, 202);
    QVERIFY2(resync.json().value(QStringLiteral("accepted")).toBool(), resync.body.constData());
    QVERIFY2(resync.json().value(QStringLiteral("message")).toString().startsWith(QLatin1String("re-read ")),
             resync.body.constData());
    const QJsonObject live = admin("GET", "/v1/config/live").json();
    QCOMPARE(liveUri(live), QStringLiteral("/resynced"));
    QCOMPARE(live.value(QStringLiteral("revision")).toInt(), 2);

    // An invalid file is refused, and what is live stays.
    QVERIFY(writeRoutes(R"({"routes":{"1":{"uri":5}}})"));
    const Reply refused = admin("POST", "/v1/resync");
    QVERIFY2(!refused.json().value(QStringLiteral("accepted")).toBool(), refused.body.constData());
    QCOMPARE(admin("GET", "/v1/status")
                 .json()
                 .value(QStringLiteral("live"))
                 .toObject()
                 .value(QStringLiteral("revision"))
                 .toInt(),
             2);

    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, m_port);
    QVERIFY(client.waitForConnected(5000));
    client.write("GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QByteArray answer;
    while (client.waitForReadyRead(5000))
        answer += client.readAll();
    QVERIFY(answer.startsWith("HTTP/1.1 404"));

    const Reply metrics = admin("GET", "/metrics");
    QCOMPARE(metrics.status, 200);
    QVERIFY(metrics.header("Content-Type").contains("text/plain; version=0.0.4"));
    QVERIFY2(metrics.body.contains("holdfast_http_requests_total{route=\"\",upstream=\"\",code=\"404\"} 1"),
             metrics.body.constData());
}

QTEST_GUILESS_MAIN(tst_AdminApi)
#include "tst_adminapi.moc"
