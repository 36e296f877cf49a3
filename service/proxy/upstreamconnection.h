// The client side of one TCP connection to an upstream node: sends requests, parses responses, is pooled.
#pragma once

#include "headerfieldreader.h"
#include "httpresponsehead.h"
#include "socketoutput.h"
#include "streamsocket.h"

#include <QByteArray>
#include <QObject>

#include <llhttp.h>
#include <memory>

class StreamSockets;

// Lives in the worker thread that uses it, as its client connections do. Responses are parsed with
// llhttp (HTTP_RESPONSE, strict): HEAD, 1xx, 204 and 304 carry no body, a body without length ends when
// the upstream closes. Reading pauses while the client side is congested, so the upstream is pushed
// back through TCP rather than buffered. The socket comes from the worker's StreamSockets: on Linux a
// non-blocking descriptor in the worker's upstream epoll set, read straight into the parser's buffer.
class UpstreamConnection : public QObject, private StreamSocket::Handler
{
    Q_OBJECT

public:
    enum class Failure
    {
        Refused,
        Reset,
        HostNotFound,
        ConnectTimeout,
        SendTimeout,
        ReadTimeout,
        BadResponse
    };

    class Observer
    {
    public:
        virtual ~Observer() = default;
        virtual void upstreamConnected() = 0;
        // The request output fell below the low-water mark.
        virtual void upstreamWritable() = 0;
        virtual void upstreamResponseHead(const HttpResponseHead &head) = 0;
        virtual void upstreamResponseBody(QByteArrayView data) = 0;
        virtual void upstreamResponseComplete(const HttpHeaders &trailers) = 0;
        // Called once; the connection is unusable afterwards.
        virtual void upstreamFailed(Failure failure) = 0;
        // What has been read so far is delivered and the response is not complete yet: the moment to
        // send on what the callbacks above produced.
        virtual void upstreamReadDone() {}
    };

    struct Timeouts
    {
        int connectMs = 60000;
        int sendMs = 60000;
        int readMs = 60000;
    };

    // `sockets` makes the socket and must outlive the connection (the pool owns both).
    UpstreamConnection(QByteArray nodeKey, QByteArray host, quint16 port, StreamSockets *sockets,
                       QObject *parent = nullptr);
    ~UpstreamConnection() override;

    const QByteArray &nodeKey() const { return m_nodeKey; }
    void setObserver(Observer *observer) { m_observer = observer; }
    void setTimeouts(const Timeouts &timeouts) { m_timeouts = timeouts; }

    void connectToNode();
    bool isConnected() const;
    bool isConnecting() const { return m_connecting; }

    // A new exchange begins: the request head follows through write().
    void beginRequest(bool headRequest);
    void write(QByteArrayView data);
    // While held, writes collect (up to a small bound) and leave in one send on releaseOutput() or
    // requestSent().
    void holdOutput() { m_output.hold(); }
    void releaseOutput();
    // The request (with its body) is completely written: the read timeout starts now.
    void requestSent();
    qint64 pendingOutput() const;
    bool outputCongested() const { return m_congested; }

    void pauseReading();
    void resumeReading();

    // After a complete response: whether the connection may carry another request.
    bool reusable() const;
    int requestCount() const { return m_requests; }
    qint64 idleSince() const { return m_idleSince; }
    void markIdle(qint64 nowMs);

    // After a complete 101 response: hands the connected socket over (for a tunnel), with the bytes read
    // after the response head. The connection is dead afterwards and must be discarded, never pooled.
    std::unique_ptr<StreamSocket> takeSocket(QByteArray *unread);

    // Checks connect, send and read deadlines; reports a timeout failure to the observer.
    void checkTimeouts(qint64 nowMs);
    void close();

    static bool isTimeout(Failure failure)
    {
        return failure == Failure::ConnectTimeout || failure == Failure::SendTimeout ||
               failure == Failure::ReadTimeout;
    }

signals:
    // An idle pooled connection was closed by the upstream or sent something unexpected.
    void idleConnectionLost(UpstreamConnection *connection);

private:
    template<typename Parser>
    friend const llhttp_settings_t &llhttpSettings();
    template<typename Parser>
    friend void llhttpStart(llhttp_t *parser, Parser *owner);
    template<typename Parser>
    friend struct LlhttpFieldCallbacks;
    static constexpr llhttp_type_t LlhttpType = HTTP_RESPONSE;
    static int onMessageBegin(llhttp_t *p);
    static int onStatus(llhttp_t *p, const char *at, size_t length);
    // The head's fields, then (after a chunked body) the trailers.
    HeaderFieldReader &fieldReader()
    {
        m_fields.setTarget(m_inBody ? &m_trailers : &m_head.headers);
        return m_fields;
    }
    static int onHeadersComplete(llhttp_t *p);
    static int onBody(llhttp_t *p, const char *at, size_t length);
    static int onMessageComplete(llhttp_t *p);

    // StreamSocket::Handler
    void socketConnected() override;
    void socketReadable() override;
    void socketWritten() override;
    void socketClosed() override;

    void setReading(bool on);
    void process();
    bool execute(const char *data, qsizetype length);
    void deliverComplete();
    void handleEof();
    void fail(Failure failure);

    QByteArray m_nodeKey;
    QByteArray m_host;
    quint16 m_port;
    StreamSockets *m_sockets;
    std::unique_ptr<StreamSocket> m_stream; // null before connectToNode() and after takeSocket()
    SocketOutput m_output;
    Observer *m_observer = nullptr;
    Timeouts m_timeouts;

    llhttp_t m_parser;
    HttpResponseHead m_head;
    HttpHeaders m_trailers;
    HeaderFieldReader m_fields;
    QByteArray m_in; // m_in[m_inPos, m_inLen) is read but not parsed yet
    qsizetype m_inPos = 0;
    qsizetype m_inLen = 0;
    bool m_drained = false; // the last read was shorter than m_in: the socket was empty after it
    bool m_inBody = false;
    bool m_interim = false;
    bool m_headRequest = false;

    qint64 m_connectDeadline = 0;
    qint64 m_readDeadline = 0;
    qint64 m_idleSince = 0;
    int m_requests = 0;
    bool m_connecting = false;
    bool m_busy = false; // a request is in progress
    bool m_headDelivered = false;
    bool m_complete = false; // the response is complete
    bool m_keepAlive = false;
    bool m_readPaused = false;
    bool m_congested = false;
    bool m_failed = false;
    bool m_processing = false;
    bool m_eof = false;
};
