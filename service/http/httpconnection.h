// The server side of one client TCP connection: reads requests, hands them to a handler, writes responses.
#pragma once

#include "httpexchange.h"
#include "httplimits.h"
#include "httprequestparser.h"
#include "httpresponsewriter.h"
#include "socketoutput.h"
#include "streamsocket.h"

#include <QByteArray>
#include <QObject>

#include <memory>

class HttpServer;
class IRequestHandler;

// Bytes go through an HttpRequestParser (which refuses anything that could smuggle a second request past
// a downstream parser: 400 and the connection closed); the body streams to the handler's observer
// straight from the read buffer. Pipelined requests wait in the read buffer until the response before
// them is complete, so they are answered in order. While it waits (for a response, or with the body paused)
// nothing is read, so TCP pushes back on the client. An idle connection keeps no read buffer: one is taken
// from the server's small pool when bytes arrive and given back once a request is complete and nothing is
// left unparsed.
class HttpConnection : public QObject,
                       public HttpExchange,
                       private HttpRequestParser::BodySink,
                       private StreamSocket::Handler
{
    Q_OBJECT

public:
    HttpConnection(std::unique_ptr<StreamSocket> socket, IRequestHandler *handler, const HttpLimits &limits,
                   HttpServer *server);
    ~HttpConnection() override;

    // HttpExchange
    const HttpRequestHead &request() const override { return m_parser.head(); }
    const QByteArray &bufferedBody() const override { return m_bodyBuffer; }
    void setObserver(Observer *observer) override { m_req.observer = observer; }
    void pauseRequestBody() override;
    void resumeRequestBody() override;
    bool requestComplete() const override { return m_req.requestDone; }
    void writeHead(int status, QByteArrayView reason, const HttpHeaders &headers,
                   qint64 contentLength) override;
    void writeBody(QByteArrayView data) override;
    void finish(const HttpHeaders *trailers = nullptr) override;
    void abort() override;
    // Closes now, as abort() does, but a handler still holding the exchange hears exchangeAborted(): the
    // server is going away under it (HttpServer::closeAll()).
    void drop();
    bool headWritten() const override { return m_req.headSent; }
    void closeAfterResponse() override { m_closeAfter = true; }
    qint64 pendingOutput() const override { return m_output.pending(); }
    bool outputCongested() const override { return m_req.congested; }
    void holdOutput() override;
    void releaseOutput() override;
    SocketTunnel *switchProtocols(const HttpHeaders &headers, std::unique_ptr<StreamSocket> upstream,
                                  const QByteArray &fromUpstream,
                                  const SocketTunnel::Settings &settings) override;

    // Called by the server's timer with HttpClock::nowMs().
    void checkTimeouts(qint64 nowMs);
    // Drain: close now when idle, else once the response in progress is complete.
    void shutdown();
    bool isOpen() const { return m_state != State::Closed; }

private:
    enum class State
    {
        Idle,
        ReadingHead,
        Dispatched,
        Tunnel, // after a 101: m_tunnel relays raw bytes; nothing is parsed any more
        Closed
    };

    // Everything that lives for one request and its response; startNextRequest() resets it at once.
    struct RequestState
    {
        Observer *observer = nullptr;
        bool dispatchPending = false;
        bool bufferBody = false; // the handler wants the body whole (bufferedBodyLimit() > 0)
        bool requestDone = false;
        bool responseDone = false;
        bool bodyPaused = false;
        bool continueSent = false;
        bool headSent = false;
        bool congested = false;
    };

    // HttpRequestParser::BodySink
    void parsedBody(QByteArrayView data) override;

    // StreamSocket::Handler
    void socketReadable() override;
    void socketWritten() override;
    void socketClosed() override;

    void pump();
    void updateReading();
    void releaseReadBuffer();
    bool blocked() const;
    bool fill();
    void execute();
    void headParsed();
    void messageParsed();
    void dispatch();
    void startNextRequest();
    void sendContinue();
    void failRequest(int status);
    void close(bool graceful);
    void finalize();
    void tunnelFinished();

    std::unique_ptr<StreamSocket> m_socket;
    SocketOutput m_output;
    HttpResponseWriter m_writer;
    IRequestHandler *m_handler;
    HttpLimits m_limits;
    HttpServer *m_server;
    HttpRequestParser m_parser;
    RequestState m_req;
    SocketTunnel *m_tunnel = nullptr;

    QByteArray m_bodyBuffer;
    QByteArray m_in; // from the server's pool while in use: m_in[m_inPos, m_inLen) is not parsed yet
    qsizetype m_inPos = 0;
    qsizetype m_inLen = 0;

    State m_state = State::Idle;
    int m_requests = 0;
    qint64 m_deadline = 0;     // of the current read phase; 0: none
    qint64 m_bodyDeadline = 0; // for the whole request body (HttpLimits::bodyTotalTimeoutMs); 0: none
    qint64 m_closeStarted = 0;
    bool m_closeAfter = false;
    bool m_draining = false;
    bool m_pumping = false;
    bool m_socketDrained = false; // the last read found less than it asked for
    bool m_peerGone = false;
    bool m_finalized = false;
};
