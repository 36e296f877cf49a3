// Upstreams that answer early and reset while the request is still being sent, raced against clients that
// send big heads and bodies and leave at any moment: the gateway must answer or close, and live.
#include "gatewayprocess.h"
#include "testsupport.h"

#include <QJsonObject>
#include <QRandomGenerator>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

class tst_EarlyAnswer : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void earlyAnswerWithBigHead();
    void earlyAnswersRacedAgainstBodiesAndLeavingClients();

private:
    // One raw request on its own connection; the whole answer, or what came before the close.
    QByteArray exchange(const QByteArray &request, int timeoutMs = 5000) const;
    void verifyGatewayServes();

    QTemporaryDir m_dir;
    TestSupport::ManagedProcess m_upstream;
    GatewayProcess m_gateway;
    quint16 m_port = 0;
};

namespace {

QByteArray manyHeaders(int count)
{
    QByteArray out;
    out.reserve(count * 24);
    for (int i = 0; i < count; ++i)
        out += "X-Filler-" + QByteArray::number(i) + ": vvvvvvvv\r\n";
    return out;
}

// Sends `request` whole (as far as the gateway takes it within 5 s), reads up to 100 bytes of the answer
// and closes with anything else unread. True when an answer began.
bool clientSendsAndLeaves(quint16 port, const QByteArray &request)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    const timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool answered = false;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0) {
        qsizetype sent = 0;
        while (sent < request.size()) {
            const ssize_t n =
                ::send(fd, request.constData() + sent, size_t(request.size() - sent), MSG_NOSIGNAL);
            if (n <= 0)
                break;
            sent += n;
        }
        char buffer[100];
        answered = ::recv(fd, buffer, sizeof buffer, 0) > 0;
    }
    ::close(fd);
    return answered;
}

} // namespace

void tst_EarlyAnswer::initTestCase()
{
    QVERIFY(m_dir.isValid());
    const quint16 upstreamPort = TestSupport::startTestUpstream(m_upstream);
    QVERIFY2(upstreamPort > 0, m_upstream.output().constData());

    GatewayProcess::Options options;
    options.workers = 2;
    options.standalone =
        R"({"routes":{"1":{"uri":"/*","upstream_id":"1"}},"upstreams":{"1":{"nodes":{"127.0.0.1:)" +
        QByteArray::number(upstreamPort) + R"(":1},"timeout":{"connect":2,"send":2,"read":2}}}})";
    options.extra = {{QStringLiteral("limits"), QJsonObject{{QStringLiteral("max_header_bytes"), 131072}}}};
    QVERIFY2(m_gateway.start(options), m_gateway.output().constData());
    m_port = m_gateway.proxyPort();
    // The listeners open before the file is applied: wait until the route serves.
    QTRY_VERIFY_WITH_TIMEOUT(exchange("GET /status/200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                                 .startsWith("HTTP/1.1 200 "),
                             10000);
}

void tst_EarlyAnswer::cleanupTestCase()
{
    m_gateway.stop();
    m_upstream.stop();
}

QByteArray tst_EarlyAnswer::exchange(const QByteArray &request, int timeoutMs) const
{
    return TestSupport::exchange(m_port, request, timeoutMs);
}

void tst_EarlyAnswer::verifyGatewayServes()
{
    QVERIFY2(m_gateway.isRunning(), m_gateway.output().right(4000).constData());
    const QByteArray answer = exchange("GET /status/200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    QVERIFY2(answer.startsWith("HTTP/1.1 200 "), answer.constData());
}

// The upstream's 431 comes back to the client while the gateway may still be sending it the head.
void tst_EarlyAnswer::earlyAnswerWithBigHead()
{
    const QByteArray request =
        "GET /early/431 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + manyHeaders(1500) + "\r\n";
    for (int i = 0; i < 20; ++i) {
        const QByteArray answer = exchange(request);
        // Either the upstream's answer made it through, or the reset came first and the gateway says so.
        QVERIFY2(answer.startsWith("HTTP/1.1 431 ") || answer.startsWith("HTTP/1.1 502 "),
                 answer.left(200).constData());
    }
    verifyGatewayServes();
}

// Many blocking clients at once, each on its own thread: big heads, bodies (plain and chunked), pipelined
// requests, and a client that reads the first bytes of the first answer and closes with the rest unread (a
// reset). The gateway, busy with the next pipelined request, then finds the client gone only when it writes.
// Before the fix this crashed the whole gateway within a few dozen connections (ProxyCall completed twice).
void tst_EarlyAnswer::earlyAnswersRacedAgainstBodiesAndLeavingClients()
{
    constexpr int Threads = 8;
    constexpr int PerThread = 40;
    const QByteArray body(256 * 1024, 'b');
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([this, t, &body, &answered] {
            QRandomGenerator random(20261201 + t);
            for (int n = 0; n < PerThread; ++n) {
                const int copies = random.bounded(2u) == 1 ? 3 : 1;
                const QByteArray head = manyHeaders(std::array<int, 3>{10, 500, 1500}[random.bounded(3u)]);
                const bool chunked = random.bounded(4u) == 0;
                const qsizetype bodySize =
                    std::array<qsizetype, 4>{0, 1000, 100000, body.size()}[random.bounded(4u)];
                const QByteArray method =
                    bodySize ? QByteArray(random.bounded(2u) ? "POST" : "PUT") : QByteArray("GET");
                QByteArray request;
                for (int i = 0; i < copies; ++i) {
                    request += method + " /early/" + QByteArray(random.bounded(2u) ? "431" : "413") +
                               " HTTP/1.1\r\nHost: t\r\n";
                    if (bodySize && chunked)
                        request += "Transfer-Encoding: chunked\r\n";
                    else if (bodySize)
                        request += "Content-Length: " + QByteArray::number(bodySize) + "\r\n";
                    request += head + "\r\n";
                    if (bodySize && chunked)
                        request +=
                            QByteArray::number(bodySize, 16) + "\r\n" + body.left(bodySize) + "\r\n0\r\n\r\n";
                    else
                        request += body.left(bodySize);
                }
                if (clientSendsAndLeaves(m_port, request))
                    ++answered;
            }
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    verifyGatewayServes();
    if (QTest::currentTestFailed())
        return;
    qInfo("%d of %d connections saw an answer", answered.load(), Threads * PerThread);
    // Most connections get an answer before they leave (a few may be reset while still sending a body).
    QVERIFY2(answered > Threads * PerThread / 2, QByteArray::number(answered.load()).constData());
    QVERIFY2(!m_gateway.output().contains("AddressSanitizer"), m_gateway.output().right(4000).constData());
}

QTEST_GUILESS_MAIN(tst_EarlyAnswer)
#include "tst_earlyanswer.moc"
