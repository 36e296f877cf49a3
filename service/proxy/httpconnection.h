// The server side of one client TCP connection: parses requests, hands them to a handler, writes responses.
#pragma once

#include "httpexchange.h"
#include "httplimits.h"

#include <QByteArray>
#include <QObject>

#include <http_parser.h>

class HttpServer;
class IRequestHandler;
class QTcpSocket;

// Requests are parsed with http_parser into a head that is reused for every request of the connection;
// the body streams to the handler's observer straight from the read buffer. Pipelined requests wait in
// the read buffer until the response before them is complete, so they are answered in order. Anything
// that could smuggle a second request past a downstream parser is refused (400) and the connection
// closed; see onHeadersComplete.
class HttpConnection : public QObject, public HttpExchange
{
    Q_OBJECT

public:
    HttpConnection(qintptr socketDescriptor, IRequestHandler *handler, const HttpLimits &limits,
                   HttpServer *server);
    ~HttpConnection() override;

    // HttpExchange
    const HttpRequestHead &request() const override { return m_head; }
    const QByteArray &bufferedBody() const override { return m_bodyBuffer; }
    void setObserver(Observer *observer) override { m_observer = observer; }
    void pauseRequestBody() override;
    void resumeRequestBody() override;
    bool requestComplete() const override { return m_requestDone; }
    void writeHead(int status, QByteArrayView reason, const HttpHeaders &headers,
                   qint64 contentLength) override;
    void writeBody(QByteArrayView data) override;
    void finish(const HttpHeaders *trailers = nullptr) override;
    void abort() override;
    bool headWritten() const override { return m_headSent; }
    void closeAfterResponse() override { m_closeAfter = true; }
    qint64 pendingOutput() const override;
    bool outputCongested() const override { return m_congested; }
    void holdOutput() override;
    void releaseOutput() override;

    // Called by the server's timer with a monotonic clock in milliseconds.
    void checkTimeouts(qint64 nowMs);
    // Drain: close now when idle, else once the response in progress is complete.
    void shutdown();
    bool isOpen() const { return m_state != State::Closed; }

    static qint64 nowMs();

private:
    enum class State
    {
        Idle,
        ReadingHead,
        Dispatched,
        Closed
    };
    enum class OutMode
    {
        None,
        Length,
        Chunked,
        CloseDelimited
    };

    static int onMessageBegin(http_parser *p);
    static int onUrl(http_parser *p, const char *at, size_t length);
    static int onHeaderField(http_parser *p, const char *at, size_t length);
    static int onHeaderValue(http_parser *p, const char *at, size_t length);
    static int onHeadersComplete(http_parser *p);
    static int onBody(http_parser *p, const char *at, size_t length);
    static int onMessageComplete(http_parser *p);
    static const http_parser_settings &parserSettings();

    int headersComplete();
    bool countHeadBytes(size_t length);
    bool checkChunkCrlf(const char *from, const char *end);
    void onBytesWritten();
    void onDisconnected();
    void pump();
    bool blocked() const;
    bool fill();
    void execute();
    void dispatch();
    void startNextRequest();
    void failRequest(int status);
    void close(bool graceful);
    void finalize();
    void writeRaw(QByteArrayView data);
    void send(QByteArrayView data);

    QTcpSocket *m_socket = nullptr;
    IRequestHandler *m_handler;
    HttpLimits m_limits;
    HttpServer *m_server;
    Observer *m_observer = nullptr;

    http_parser m_parser;
    HttpRequestHead m_head;
    QByteArray m_bodyBuffer;
    QByteArray m_in; // reused read buffer: m_in[m_inPos, m_inLen) is not parsed yet
    qsizetype m_inPos = 0;
    qsizetype m_inLen = 0;
    const char *m_execStart = nullptr;
    const char *m_chunkEnd = nullptr;
    int m_chunkCrlfChecked = 2; // bytes of the CRLF after a chunk's data verified so far
    char m_prevByte = 0;        // last byte of the previous parsed chunk, to spot obsolete line folding
    QByteArray m_out;           // reused for response heads
    QByteArray m_held;          // output collected while held; see holdOutput()

    State m_state = State::Idle;
    OutMode m_outMode = OutMode::None;
    int m_errorStatus = 0;
    int m_headBytes = 0;
    int m_requests = 0;
    qint64 m_bodyBytes = 0;
    qint64 m_deadline = 0;     // of the current read phase; 0: none
    qint64 m_sendProgress = 0; // when output last made progress
    qint64 m_closeStarted = 0;
    bool m_lastWasValue = false;
    bool m_inBody = false;
    bool m_dispatchPending = false;
    bool m_bufferBody = false;
    bool m_requestDone = false;
    bool m_responseDone = false;
    bool m_bodyPaused = false;
    bool m_continueSent = false;
    bool m_headSent = false;
    bool m_closeAfter = false;
    bool m_draining = false;
    bool m_congested = false;
    bool m_pumping = false;
    bool m_peerGone = false;
    bool m_finalized = false;
    bool m_holding = false;
};
