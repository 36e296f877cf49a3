#include "httpconnection.h"

#include "httpclock.h"
#include "httpserver.h"
#include "irequesthandler.h"

#include <QLoggingCategory>
#include <QTimer>

#include <utility>

Q_LOGGING_CATEGORY(lcHttp, "holdfast.http", QtInfoMsg)

HttpConnection::HttpConnection(std::unique_ptr<StreamSocket> socket, IRequestHandler *handler,
                               const HttpLimits &limits, HttpServer *server)
    : QObject(server)
    , m_socket(std::move(socket))
    , m_output(m_socket.get())
    , m_writer(&m_output)
    , m_handler(handler)
    , m_limits(limits)
    , m_server(server)
    , m_parser(limits)
{
    m_parser.setBodySink(this);
    m_handler->connectionOpened();
    QHostAddress peer = m_socket->peerAddress();
    bool mapped = false;
    const quint32 v4 = peer.toIPv4Address(&mapped);
    if (mapped)
        peer = QHostAddress(v4);
    HttpRequestHead &head = m_parser.head();
    head.peerAddress = peer;
    head.peerAddressText = peer.toString().toLatin1();
    head.peerPort = m_socket->peerPort();
    head.localPort = m_socket->localPort();
    m_deadline = HttpClock::nowMs() + m_limits.headerTimeoutMs;
    m_socket->setHandler(this);
}

HttpConnection::~HttpConnection()
{
    m_socket->setHandler(nullptr);
    m_inPos = m_inLen;
    releaseReadBuffer();
    if (!m_finalized) {
        m_finalized = true;
        m_handler->connectionClosed();
    }
}

// --- reading -------------------------------------------------------------------------------------

bool HttpConnection::blocked() const
{
    if (m_state != State::Dispatched)
        return false;
    if (m_req.requestDone)
        return true; // waiting for the response before the next request
    return m_req.bodyPaused && !m_req.responseDone;
}

bool HttpConnection::fill()
{
    if (m_in.isEmpty())
        m_in = m_server->takeReadBuffer();
    const qint64 n = m_socket->read(m_in.data(), m_in.size());
    if (n < 0) {
        // The end of the stream (or a reset): as for a peer gone while waiting, whatever was in progress
        // is dropped.
        m_peerGone = true;
        close(false);
        return false;
    }
    if (n == 0)
        return false;
    // A short read emptied the socket: asking again would only return "nothing yet" (a system call per
    // request on a keep-alive connection); the socket reports the next bytes.
    m_socketDrained = n < m_in.size();
    m_inPos = 0;
    m_inLen = n;
    if (m_state == State::Dispatched)
        m_deadline = HttpClock::nowMs() + m_limits.bodyTimeoutMs;
    return true;
}

void HttpConnection::execute()
{
    const qsizetype used = m_parser.parse(m_in.constData() + m_inPos, m_inLen - m_inPos);
    m_inPos += used;
    if (m_state == State::Closed)
        return;
    if (m_state == State::Idle && used > 0) {
        m_state = State::ReadingHead;
        m_deadline = HttpClock::nowMs() + m_limits.headerTimeoutMs;
    }
    switch (m_parser.status()) {
    case HttpRequestParser::Status::NeedMore:
    case HttpRequestParser::Status::Paused:
        break;
    case HttpRequestParser::Status::HeadComplete:
        headParsed();
        break;
    case HttpRequestParser::Status::MessageComplete:
        messageParsed();
        break;
    case HttpRequestParser::Status::Failed:
        qCDebug(lcHttp) << "refusing request from" << m_parser.head().peerAddressText
                        << m_parser.errorStatus() << m_parser.errorReason();
        failRequest(m_parser.errorStatus());
        break;
    }
}

void HttpConnection::headParsed()
{
    if (!m_bodyBuffer.isEmpty())
        m_bodyBuffer.resize(0);
    const HttpRequestHead &h = m_parser.head();
    m_bodyDeadline = (m_limits.bodyTotalTimeoutMs > 0 && h.hasBody())
                         ? HttpClock::nowMs() + m_limits.bodyTotalTimeoutMs
                         : 0;
    const qint64 bufferLimit = m_handler->bufferedBodyLimit();
    m_req.bufferBody = bufferLimit > 0;
    if (!m_req.bufferBody) {
        m_req.dispatchPending = true;
        return;
    }
    // A refused request's body is never read: the answer closes the connection.
    const bool closeAfter = std::exchange(m_closeAfter, true);
    if (!m_handler->admitRequest(this)) {
        if (m_state != State::Closed && !m_req.responseDone)
            failRequest(500);
        return;
    }
    m_closeAfter = closeAfter;
    // Dispatched once the body is complete.
    if (h.contentLength > bufferLimit) {
        failRequest(413);
        return;
    }
    if (h.expectContinue && h.hasBody())
        sendContinue();
}

void HttpConnection::messageParsed()
{
    m_req.requestDone = true;
    m_bodyDeadline = 0;
    if (m_req.bufferBody)
        m_req.dispatchPending = true;
    else if (m_req.observer && !m_req.responseDone)
        m_req.observer->requestComplete();
}

void HttpConnection::parsedBody(QByteArrayView data)
{
    if (m_req.bufferBody) {
        if (m_parser.bodyBytes() > m_handler->bufferedBodyLimit()) {
            m_parser.fail(413, "request body above the handler's buffer");
            return;
        }
        m_bodyBuffer.append(data.data(), data.size());
        return;
    }
    if (m_req.observer && !m_req.responseDone)
        m_req.observer->requestBody(data);
    if (m_state == State::Closed || m_req.bodyPaused)
        m_parser.pause();
}

void HttpConnection::dispatch()
{
    m_req.dispatchPending = false;
    m_state = State::Dispatched;
    m_deadline = HttpClock::nowMs() + m_limits.bodyTimeoutMs;
    ++m_requests;
    if (!m_parser.head().keepAlive || m_draining ||
        (m_limits.maxKeepaliveRequests > 0 && m_requests >= m_limits.maxKeepaliveRequests))
        m_closeAfter = true;
    m_handler->handleRequest(this);
}

void HttpConnection::pump()
{
    if (m_pumping || m_state == State::Tunnel)
        return;
    m_pumping = true;
    while (m_state != State::Closed) {
        if (m_req.dispatchPending) {
            dispatch();
            continue;
        }
        if (m_state == State::Dispatched && m_req.requestDone && m_req.responseDone) {
            startNextRequest();
            continue;
        }
        const HttpRequestHead &h = m_parser.head();
        if (m_state == State::Dispatched && !m_req.requestDone && !m_req.bodyPaused && !m_req.continueSent &&
            h.expectContinue && !m_req.headSent && h.hasBody())
            sendContinue();
        if (blocked())
            break;
        if (m_inPos == m_inLen && !m_parser.completesWithoutInput() && (m_socketDrained || !fill()))
            break;
        execute();
    }
    m_pumping = false;
    updateReading();
}

void HttpConnection::socketReadable()
{
    // Bytes (or the end of the stream) arrived that cannot be used yet: they stay with TCP until the
    // response is done, or a level-triggered socket would report them again and again. The peer closing
    // meanwhile is still heard, through socketClosed(). Turned off only when this happens, not for every
    // request: a client waiting for its answer sends nothing, and two epoll_ctl calls a request are saved.
    if (m_state != State::Closed && m_state != State::Tunnel && blocked()) {
        m_socket->setReading(false);
        return;
    }
    m_socketDrained = false;
    pump();
}

void HttpConnection::updateReading()
{
    if (m_state == State::Closed || m_state == State::Tunnel)
        return;
    if (!blocked())
        m_socket->setReading(true);
    releaseReadBuffer();
}

void HttpConnection::releaseReadBuffer()
{
    if (m_in.isEmpty() || m_inPos < m_inLen)
        return;
    m_server->recycleReadBuffer(std::move(m_in));
    m_in = QByteArray();
    m_inPos = m_inLen = 0;
}

void HttpConnection::startNextRequest()
{
    m_state = State::Idle;
    m_req = RequestState();
    m_bodyDeadline = 0;
    m_writer.reset();
    m_deadline = HttpClock::nowMs() + m_limits.keepaliveTimeoutMs;
    releaseReadBuffer();
    if (m_bodyBuffer.capacity() > 0)
        m_bodyBuffer = QByteArray();
    if (m_draining && m_inPos == m_inLen && m_socket->bytesAvailable() == 0)
        close(true);
}

void HttpConnection::sendContinue()
{
    m_output.write("HTTP/1.1 100 Continue\r\n\r\n");
    m_req.continueSent = true;
}

void HttpConnection::pauseRequestBody()
{
    m_req.bodyPaused = true;
    if (m_pumping)
        m_parser.pause();
}

void HttpConnection::resumeRequestBody()
{
    if (!m_req.bodyPaused)
        return;
    m_req.bodyPaused = false;
    m_deadline = HttpClock::nowMs() + m_limits.bodyTimeoutMs;
    if (!m_pumping)
        pump();
}

// --- writing -------------------------------------------------------------------------------------

void HttpConnection::holdOutput()
{
    if (m_state != State::Closed)
        m_output.hold();
}

void HttpConnection::releaseOutput()
{
    if (m_state == State::Closed)
        m_output.discard();
    else
        m_output.release();
}

void HttpConnection::writeHead(int status, QByteArrayView reason, const HttpHeaders &headers,
                               qint64 contentLength)
{
    if (m_state == State::Closed || m_state == State::Tunnel || m_req.headSent)
        return;
    m_req.headSent = true;
    const HttpRequestHead &h = m_parser.head();
    if (m_draining)
        m_closeAfter = true;
    HttpResponseWriter::Request request;
    request.http10 = h.versionMinor == 0;
    request.head = h.isHead;
    m_writer.writeHead(status, reason, headers, contentLength, request, &m_closeAfter);
}

void HttpConnection::writeBody(QByteArrayView data)
{
    if (m_state == State::Closed || m_state == State::Tunnel || data.isEmpty())
        return;
    m_writer.writeBody(data);
    if (m_socket->bytesToWrite() > m_limits.outputHighWater)
        m_req.congested = true;
}

void HttpConnection::finish(const HttpHeaders *trailers)
{
    if (m_state == State::Closed || m_state == State::Tunnel || m_req.responseDone)
        return;
    // The exchange ends here for its handler: a client that goes away while the last bytes are written
    // must not call the handler back in the middle of its finish().
    m_req.observer = nullptr;
    if (!m_req.headSent)
        writeHead(500, reasonPhrase(500), HttpHeaders(), 0);
    m_writer.finish(trailers);
    releaseOutput();
    m_req.responseDone = true;
    m_req.congested = false;
    m_req.bodyPaused = false;
    // An unread request body hides where the next request starts.
    if (!m_req.requestDone && m_parser.head().hasBody())
        m_closeAfter = true;
    if (m_closeAfter || m_writer.framing() == HttpResponseWriter::Framing::CloseDelimited) {
        close(true);
        return;
    }
    if (m_pumping)
        return; // the pump loop in progress takes the next request
    // Finish the parser's view of this request (its last byte may still be unread), then leave any
    // pipelined request for the event loop: the handler calling finish() must unwind first.
    if (!m_req.requestDone && (m_inPos < m_inLen || m_parser.completesWithoutInput()))
        execute();
    if (m_state == State::Closed)
        return;
    if (m_req.requestDone) {
        startNextRequest();
        if (m_state == State::Closed)
            return;
        if (m_inPos < m_inLen)
            QMetaObject::invokeMethod(this, &HttpConnection::pump, Qt::QueuedConnection);
        else
            updateReading(); // what arrives next comes through socketReadable()
    }
}

void HttpConnection::abort()
{
    m_req.observer = nullptr; // the handler asked for it: no callback
    drop();
}

void HttpConnection::drop()
{
    if (m_state == State::Closed) {
        m_socket->abort();
        finalize();
        return;
    }
    close(false); // tells the observer
}

void HttpConnection::failRequest(int status)
{
    if (m_state == State::Closed)
        return;
    Observer *observer = std::exchange(m_req.observer, nullptr);
    if (observer)
        observer->exchangeAborted();
    if (m_state == State::Closed)
        return;
    if (m_req.headSent || m_req.responseDone) {
        close(false);
        return;
    }
    m_closeAfter = true;
    HttpRequestHead &h = m_parser.head();
    h.isHead = false;
    h.versionMinor = 1;
    m_state = State::Dispatched;
    respondError(status);
}

// --- protocol switch -----------------------------------------------------------------------------

SocketTunnel *HttpConnection::switchProtocols(const HttpHeaders &headers,
                                              std::unique_ptr<StreamSocket> upstream,
                                              const QByteArray &fromUpstream,
                                              const SocketTunnel::Settings &settings)
{
    // The exchange ends here for its handler, whatever follows.
    m_req.observer = nullptr;
    // A bodyless request completes without more input; what the client sent after its head stays unread
    // in m_in, and belongs to the tunnel.
    if (m_state == State::Dispatched && !m_req.requestDone && m_parser.completesWithoutInput())
        execute();
    if (m_state != State::Dispatched || m_req.headSent || !m_req.requestDone) {
        upstream->abort();
        // Deleted on the next turn: this may run inside the upstream socket's own event callback.
        QTimer::singleShot(0, [socket = upstream.release()] { delete socket; });
        if (m_state != State::Closed)
            close(false);
        return nullptr;
    }
    m_req.headSent = true;
    QByteArray head("HTTP/1.1 101 Switching Protocols\r\n");
    for (int i = 0; i < headers.size(); ++i) {
        head.append(headers.name(i).data(), headers.name(i).size());
        head.append(": ");
        head.append(headers.value(i).data(), headers.value(i).size());
        head.append("\r\n");
    }
    head.append("\r\n");
    m_output.write(head);
    m_output.release();
    // From here on the tunnel alone reads and writes the socket; it starts reading.
    m_socket->setHandler(nullptr);
    m_socket->setReading(false);
    m_state = State::Tunnel;
    const QByteArray fromClient(m_in.constData() + m_inPos, m_inLen - m_inPos);
    m_inPos = m_inLen;
    releaseReadBuffer();
    m_tunnel =
        new SocketTunnel(m_socket.get(), fromClient, std::move(upstream), fromUpstream, settings, this);
    connect(m_tunnel, &SocketTunnel::finished, this, &HttpConnection::tunnelFinished);
    // Started from the event loop, so that the caller hears finished() even when a side is gone already.
    QMetaObject::invokeMethod(m_tunnel, &SocketTunnel::start, Qt::QueuedConnection);
    return m_tunnel;
}

void HttpConnection::tunnelFinished()
{
    m_state = State::Closed;
    finalize();
}

// --- life cycle ----------------------------------------------------------------------------------

void HttpConnection::socketWritten()
{
    m_output.noteProgress();
    if (m_req.congested && m_socket->bytesToWrite() <= m_limits.outputLowWater) {
        m_req.congested = false;
        if (m_req.observer)
            m_req.observer->responseWritable();
    }
}

void HttpConnection::socketClosed()
{
    m_peerGone = true;
    if (m_state != State::Closed)
        close(false);
    else
        finalize();
}

void HttpConnection::close(bool graceful)
{
    if (m_state == State::Closed)
        return;
    if (m_state == State::Tunnel) {
        m_tunnel->abort(); // tunnelFinished() follows
        return;
    }
    if (graceful)
        m_output.release(); // queued ahead of the close
    else
        m_output.discard();
    m_state = State::Closed;
    Observer *observer = std::exchange(m_req.observer, nullptr);
    if (observer)
        observer->exchangeAborted();
    if (graceful && !m_peerGone && m_socket->isOpen()) {
        m_closeStarted = HttpClock::nowMs();
        m_socket->closeAfterFlush(); // sends what is queued first
        if (m_socket->isOpen())
            return; // finalized on socketClosed(), or by checkTimeouts
    } else {
        m_socket->abort();
    }
    finalize();
}

void HttpConnection::finalize()
{
    if (m_finalized)
        return;
    m_finalized = true;
    m_inPos = m_inLen;
    releaseReadBuffer();
    m_handler->connectionClosed();
    m_server->connectionFinished(this);
    deleteLater();
}

void HttpConnection::checkTimeouts(qint64 now)
{
    if (m_finalized)
        return;
    if (m_state == State::Tunnel) {
        m_tunnel->checkTimeouts(now);
        return;
    }
    if (m_state == State::Closed) {
        if (now - m_closeStarted > m_limits.sendTimeoutMs) {
            m_socket->abort();
            finalize();
        }
        return;
    }
    if (m_socket->bytesToWrite() > 0 && now - m_output.lastProgress() > m_limits.sendTimeoutMs) {
        qCDebug(lcHttp) << "client" << m_parser.head().peerAddressText << "stopped reading: dropped";
        close(false);
        return;
    }
    // A sender that trickles its body (a byte now and then, each read in time) still ends here.
    if (m_bodyDeadline && now > m_bodyDeadline && !m_req.requestDone && !m_req.bodyPaused &&
        !m_req.responseDone && (m_state == State::ReadingHead || m_state == State::Dispatched)) {
        m_bodyDeadline = 0;
        qCDebug(lcHttp) << "client" << m_parser.head().peerAddressText << "request body too slow: 408";
        failRequest(408);
        return;
    }
    if (m_deadline == 0 || now <= m_deadline)
        return;
    switch (m_state) {
    case State::Idle:
        close(true);
        break;
    case State::ReadingHead:
        failRequest(408);
        break;
    case State::Dispatched:
        if (!m_req.requestDone && !m_req.bodyPaused && !m_req.responseDone)
            failRequest(408);
        break;
    case State::Tunnel:
    case State::Closed:
        break;
    }
}

void HttpConnection::shutdown()
{
    m_draining = true;
    // A tunnel has no response to end after: a drain would otherwise wait for the whole grace period.
    if (m_state == State::Tunnel) {
        close(false);
        return;
    }
    if (m_state == State::Idle && m_inPos == m_inLen && m_socket->bytesAvailable() == 0)
        close(true);
    else
        m_closeAfter = true;
}
