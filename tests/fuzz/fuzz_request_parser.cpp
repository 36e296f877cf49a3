// Fuzzes the request-parsing path of the HTTP machinery: bytes from a real client socket into an
// HttpServer, which must answer or close and never crash, hang or leak a connection.
//
// Built with -fsanitize=fuzzer (HOLDFAST_FUZZ=ON, clang) it is a libFuzzer target; otherwise
// fuzzreplay.cpp's main() runs each file or directory given on the command line once, so CI can replay
// the corpus (tests/fuzz/corpus) as an ordinary test.
#include "httpexchange.h"
#include "httpserver.h"
#include "irequesthandler.h"

#include <QCoreApplication>
#include <QDeadlineTimer>

#include <arpa/inet.h>
#include <cstdint>
#include <cstdio>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// Streams bodies into nothing and answers with what was parsed, so every callback path runs.
class SinkHandler : public IRequestHandler, public HttpExchange::Observer
{
public:
    void handleRequest(HttpExchange *exchange) override
    {
        const HttpRequestHead &r = exchange->request();
        QByteArray body = r.method.toByteArray() + ' ' + r.target + ' ' + r.host.toByteArray();
        for (int i = 0; i < r.headers.size(); ++i)
            body += r.headers.name(i).toByteArray() + '=' + r.headers.value(i).toByteArray();
        if (r.hasBody() && !exchange->requestComplete()) {
            m_exchange = exchange;
            m_body = body;
            exchange->setObserver(this);
            return;
        }
        exchange->respond(200, "text/plain", body);
    }
    void requestComplete() override
    {
        HttpExchange *exchange = std::exchange(m_exchange, nullptr);
        if (exchange)
            exchange->respond(200, "text/plain", m_body);
    }
    void exchangeAborted() override { m_exchange = nullptr; }

private:
    HttpExchange *m_exchange = nullptr;
    QByteArray m_body;
};

struct Harness
{
    Harness()
    {
        static int argc = 1;
        static char name[] = "fuzz_request_parser";
        static char *argv[] = {name, nullptr};
        app = new QCoreApplication(argc, argv);
        HttpLimits limits;
        limits.maxHeaderBytes = 2048;
        limits.maxBodyBytes = 4096;
        limits.headerTimeoutMs = 200;
        limits.bodyTimeoutMs = 200;
        server = new HttpServer(&handler, limits);
        QString error;
        if (!server->listen(QHostAddress::LocalHost, 0, &error)) {
            std::fprintf(stderr, "%s\n", qPrintable(error));
            std::abort();
        }
        port = server->serverPort();
    }

    void run(const uint8_t *data, size_t size)
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
            std::abort();
        size = qMin<size_t>(size, 60000); // fits the socket buffers: the write never blocks
        if (size > 0 && ::send(fd, data, size, MSG_NOSIGNAL) < 0)
            std::abort();
        // Let the server see the bytes before the end of stream, as a real client's would arrive.
        QDeadlineTimer settle(20);
        while (server->connectionCount() == 0 && !settle.hasExpired())
            app->processEvents(QEventLoop::AllEvents, 5);
        for (int i = 0; i < 5; ++i)
            app->processEvents(QEventLoop::AllEvents, 1);
        ::shutdown(fd, SHUT_WR);
        char sink[4096];
        QDeadlineTimer deadline(5000);
        while (server->connectionCount() > 0) {
            if (deadline.hasExpired()) {
                std::fprintf(stderr, "connection not closed after end of stream\n");
                std::abort();
            }
            app->processEvents(QEventLoop::AllEvents, 5);
            while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
            }
        }
        ::close(fd);
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    }

    QCoreApplication *app = nullptr;
    SinkHandler handler;
    HttpServer *server = nullptr;
    quint16 port = 0;
};

Harness &harness()
{
    static Harness h;
    return h;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness().run(data, size);
    return 0;
}
