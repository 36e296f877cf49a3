// A request handler for the HTTP machinery suites, run on an HttpServer in a thread of its own.
#pragma once

#include "httpexchange.h"
#include "httpserver.h"
#include "irequesthandler.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <memory>

// "/events": a server-sent-event stream, one event every 20 ms until the client leaves.
// Anything else: the parsed request as JSON (method, target, path, query, host, authority, version,
// headers, body length).
class HttpTestHandler : public IRequestHandler, public HttpExchange::Observer
{
public:
    std::atomic<int> aborted{0};
    std::atomic<int> opened{0};
    std::atomic<int> closed{0};
    qint64 bodyLimit = 1024 * 1024;

    qint64 bufferedBodyLimit() const override { return bodyLimit; }
    void connectionOpened() override { ++opened; }
    void connectionClosed() override { ++closed; }

    void handleRequest(HttpExchange *exchange) override
    {
        const HttpRequestHead &r = exchange->request();
        if (r.path == QByteArrayView("/big")) {
            // "/big?<bytes>": that many bytes of a repeating pattern, then the connection closed when
            // the request says so.
            exchange->respond(200, "application/octet-stream", bigBody(r.query.toByteArray().toLongLong()));
            return;
        }
        if (r.path == QByteArrayView("/events")) {
            HttpHeaders headers;
            headers.append("Content-Type", "text/event-stream");
            exchange->writeHead(200, "OK", headers, -1);
            exchange->setObserver(this);
            m_stream = exchange;
            m_timer = std::make_unique<QTimer>();
            m_timer->setInterval(20);
            QObject::connect(m_timer.get(), &QTimer::timeout, [this] {
                if (m_stream)
                    m_stream->writeBody("data: tick\n\n");
            });
            m_timer->start();
            return;
        }
        QJsonObject headers;
        for (int i = 0; i < r.headers.size(); ++i)
            headers.insert(QString::fromLatin1(r.headers.name(i).toByteArray().toLower()),
                           QString::fromLatin1(r.headers.value(i).toByteArray()));
        QJsonObject o;
        o.insert(QStringLiteral("method"), QString::fromLatin1(r.method.toByteArray()));
        o.insert(QStringLiteral("target"), QString::fromLatin1(r.target));
        o.insert(QStringLiteral("path"), QString::fromLatin1(r.path.toByteArray()));
        o.insert(QStringLiteral("query"), QString::fromLatin1(r.query.toByteArray()));
        o.insert(QStringLiteral("host"), QString::fromLatin1(r.host.toByteArray()));
        o.insert(QStringLiteral("authority"), QString::fromLatin1(r.authority));
        o.insert(QStringLiteral("version"), QStringLiteral("1.%1").arg(r.versionMinor));
        o.insert(QStringLiteral("headers"), headers);
        o.insert(QStringLiteral("body"), QString::fromLatin1(exchange->bufferedBody()));
        o.insert(QStringLiteral("peer"), QString::fromLatin1(r.peerAddressText));
        exchange->respond(200, "application/json", QJsonDocument(o).toJson(QJsonDocument::Compact));
    }

    static QByteArray bigBody(qint64 size)
    {
        QByteArray body(size, Qt::Uninitialized);
        for (qint64 i = 0; i < size; ++i)
            body[i] = char('a' + i % 23);
        return body;
    }

    void exchangeAborted() override
    {
        m_stream = nullptr;
        m_timer.reset();
        ++aborted;
    }

private:
    HttpExchange *m_stream = nullptr;
    std::unique_ptr<QTimer> m_timer;
};

// The server and its handler in their own thread, as a worker or the admin API would run them.
class ThreadedHttpServer
{
public:
    explicit ThreadedHttpServer(const HttpLimits &limits = {})
    {
        m_thread.start();
        QMetaObject::invokeMethod(
            &m_anchor,
            [&] {
                m_server = new HttpServer(&handler, limits);
                QString error;
                m_server->listen(QHostAddress::LocalHost, 0, &error);
                m_port = m_server->serverPort();
            },
            Qt::BlockingQueuedConnection);
    }
    ~ThreadedHttpServer()
    {
        QMetaObject::invokeMethod(
            &m_anchor, [&] { delete m_server; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    quint16 port() const { return m_port; }
    void drain()
    {
        QMetaObject::invokeMethod(
            &m_anchor, [&] { m_server->drain(); }, Qt::BlockingQueuedConnection);
    }
    int connectionCount()
    {
        return inServerThread([](HttpServer *s) { return s->connectionCount(); });
    }
    int readBuffersInUse()
    {
        return inServerThread([](HttpServer *s) { return s->readBuffersInUse(); });
    }

    HttpTestHandler handler;

private:
    template<typename Read>
    int inServerThread(Read read)
    {
        int n = 0;
        QMetaObject::invokeMethod(
            &m_anchor, [&] { n = read(m_server); }, Qt::BlockingQueuedConnection);
        return n;
    }

    struct Anchor : QObject
    {
        explicit Anchor(QThread *thread) { moveToThread(thread); }
    };
    QThread m_thread;
    Anchor m_anchor{&m_thread};
    HttpServer *m_server = nullptr;
    quint16 m_port = 0;
};
