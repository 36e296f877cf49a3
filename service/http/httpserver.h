// An HTTP/1.1 listener serving its connections in the thread it lives in, through one request handler.
#pragma once

#include "connectionbudget.h"
#include "httplimits.h"
#include "streamsockets.h"

#include <QAbstractSocket>
#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QTimer>

#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

class HttpConnection;
class IRequestHandler;
class QTcpServer;

// The one HTTP stack of the product: proxy workers and the admin API both use it.
//
// Serving an API on its own listener (the admin API does this in the main thread):
//     AdminHandler handler;                      // implements IRequestHandler
//     HttpServer server(&handler, HttpLimits{});
//     QString error;
//     if (!server.listen(QHostAddress::LocalHost, 9180, &error)) { ... }
// Requests then arrive in handler.handleRequest(exchange) in this thread. A small answer is
// exchange->respond(200, "application/json", body); a server-sent-event stream is
// exchange->writeHead(200, "OK", headers /* Content-Type: text/event-stream */, -1), then
// exchange->writeBody(event) whenever something happens; register an HttpExchange::Observer with
// setObserver() to hear exchangeAborted() when the client leaves. Override bufferedBodyLimit() in the
// handler to get small request bodies whole in exchange->bufferedBody().
//
// To serve from another thread, create the server (and handler) in that thread or moveToThread() both
// before listen(). Proxy workers hand in an already-listening descriptor with listenOnDescriptor().
class HttpServer : public QObject
{
    Q_OBJECT

public:
    // `handler` must outlive the server.
    explicit HttpServer(IRequestHandler *handler, const HttpLimits &limits = {}, QObject *parent = nullptr);
    ~HttpServer() override;

    bool listen(const QHostAddress &address, quint16 port, QString *error);
    // Takes over a socket that already listens (SO_REUSEPORT sockets made per worker).
    bool listenOnDescriptor(qintptr descriptor, QString *error);
    quint16 serverPort() const;
    bool isListening() const;

    // Serves an already-accepted client socket (from a listener shared between workers).
    void addConnection(qintptr socketDescriptor);

    // A cap shared with other servers (the proxy's workers), instead of one of its own from
    // HttpLimits::maxConnections. At the cap accepting pauses, so further clients wait in the listen
    // backlog; it resumes when a connection of this server ends, or on the next tick for one elsewhere.
    // A client accepted in the same burst as the last one under the cap (at most one per pause) waits,
    // unanswered like those in the backlog, until a unit frees.
    void setConnectionBudget(std::shared_ptr<ConnectionBudget> budget);
    // Whether accepting is paused now (at the cap, or after running out of descriptors).
    bool acceptingPaused() const { return m_pause != Pause::None; }

    // Drain: stop accepting, close idle connections now and the others after their current response.
    // drained() follows once the last connection is gone.
    void drain();
    void stopListening();
    // Drops every connection at once; a handler still holding an exchange hears exchangeAborted().
    void closeAll();
    int connectionCount() const { return int(m_connections.size()); }
    // Read buffers held by connections now: only those with bytes to parse hold one.
    int readBuffersInUse() const { return m_readBuffersLent; }
    const HttpLimits &limits() const { return m_limits; }

signals:
    void drained();

private:
    enum class Pause
    {
        None,
        Budget,     // at the connection cap
        AcceptError // accept() failed (EMFILE, ENFILE, ENOBUFS...): retried with backoff
    };

    friend class HttpConnection;
    void connectionFinished(HttpConnection *connection);
    // Read buffers are lent to connections only while they have bytes to parse: an idle keep-alive
    // connection holds none.
    QByteArray takeReadBuffer();
    void recycleReadBuffer(QByteArray &&buffer);
    void tick();
    void createListener();
    void adopt(qintptr socketDescriptor);
    static void closeDescriptor(qintptr socketDescriptor);
    void dropWaitingAnd(void (HttpConnection::*step)());
    void pauseAccepting(Pause why);
    void resumeAccepting();
    void onAcceptError(QAbstractSocket::SocketError error);

    IRequestHandler *m_handler;
    HttpLimits m_limits;
    QTcpServer *m_listener = nullptr;
    StreamSockets m_sockets;
    std::vector<QByteArray> m_readBuffers; // free ones
    int m_readBuffersLent = 0;
    QTimer m_timer;
    std::unordered_set<HttpConnection *> m_connections;
    std::shared_ptr<ConnectionBudget> m_budget;
    std::deque<qintptr> m_waiting; // accepted beyond the cap: adopted as soon as the budget allows
    Pause m_pause = Pause::None;
    qint64 m_retryAcceptAt = 0;
    int m_acceptBackoffMs = 0;
    bool m_draining = false;
};
