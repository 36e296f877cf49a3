#include "httpconnection.h"

#include "directsend.h"
#include "httpserver.h"
#include "irequesthandler.h"

#include <QLoggingCategory>
#include <QTcpSocket>

#include <chrono>
#include <cstring>
#include <utility>

#ifdef Q_OS_LINUX
#include <time.h>
#endif

Q_LOGGING_CATEGORY(lcHttp, "holdfast.http", QtInfoMsg)

namespace {

constexpr qsizetype ReadChunk = 16 * 1024;
constexpr qsizetype HoldLimit = 16 * 1024; // held output beyond this goes out at once

bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

inline HttpConnection *self(http_parser *p)
{
    return static_cast<HttpConnection *>(p->data);
}

// Appends `value` in decimal without allocating.
void appendNumber(QByteArray &out, qint64 value)
{
    char buf[24];
    int n = 0;
    if (value == 0)
        buf[n++] = '0';
    while (value > 0) {
        buf[n++] = char('0' + value % 10);
        value /= 10;
    }
    while (n > 0)
        out.append(buf[--n]);
}

} // namespace

const http_parser_settings &HttpConnection::parserSettings()
{
    static const http_parser_settings settings = [] {
        http_parser_settings s;
        http_parser_settings_init(&s);
        s.on_message_begin = &HttpConnection::onMessageBegin;
        s.on_url = &HttpConnection::onUrl;
        s.on_header_field = &HttpConnection::onHeaderField;
        s.on_header_value = &HttpConnection::onHeaderValue;
        s.on_headers_complete = &HttpConnection::onHeadersComplete;
        s.on_body = &HttpConnection::onBody;
        s.on_message_complete = &HttpConnection::onMessageComplete;
        return s;
    }();
    return settings;
}

qint64 HttpConnection::nowMs()
{
#if defined(Q_OS_LINUX) && defined(CLOCK_MONOTONIC_COARSE)
    // Deadlines are checked by a 100 ms tick, so the clock of the last scheduler tick (a few ms
    // behind) serves; it is read several times per request and costs a fraction of the precise one.
    timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return qint64(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
#endif
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

HttpConnection::HttpConnection(qintptr socketDescriptor, IRequestHandler *handler, const HttpLimits &limits,
                               HttpServer *server)
    : QObject(server)
    , m_handler(handler)
    , m_limits(limits)
    , m_server(server)
{
    http_parser_init(&m_parser, HTTP_REQUEST);
    m_parser.data = this;
    m_in.resize(ReadChunk);
    m_socket = new QTcpSocket(this);
    m_handler->connectionOpened();
    if (!m_socket->setSocketDescriptor(socketDescriptor)) {
        qCWarning(lcHttp) << "cannot adopt client socket:" << m_socket->errorString();
        m_state = State::Closed;
        m_finalized = true;
        m_handler->connectionClosed();
        return;
    }
    m_socket->setReadBufferSize(m_limits.socketReadBuffer);
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    QHostAddress peer = m_socket->peerAddress();
    bool mapped = false;
    const quint32 v4 = peer.toIPv4Address(&mapped);
    if (mapped)
        peer = QHostAddress(v4);
    m_head.peerAddress = peer;
    m_head.peerAddressText = peer.toString().toLatin1();
    m_head.peerPort = m_socket->peerPort();
    m_head.localPort = m_socket->localPort();
    m_deadline = nowMs() + m_limits.headerTimeoutMs;
    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::pump);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &HttpConnection::onBytesWritten);
    connect(m_socket, &QTcpSocket::disconnected, this, &HttpConnection::onDisconnected);
}

HttpConnection::~HttpConnection()
{
    if (!m_finalized) {
        m_finalized = true;
        m_handler->connectionClosed();
    }
}

// --- parser callbacks ---------------------------------------------------------------------------

int HttpConnection::onMessageBegin(http_parser *p)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed)
        return -1;
    c->m_state = State::ReadingHead;
    HttpRequestHead &h = c->m_head;
    h.headers.clear();
    h.target.resize(0);
    h.authority.resize(0);
    h.path = {};
    h.query = {};
    h.host = {};
    h.contentLength = -1;
    h.chunked = false;
    h.expectContinue = false;
    h.isHead = false;
    c->m_headBytes = 0;
    c->m_lastWasValue = false;
    c->m_inBody = false;
    c->m_deadline = nowMs() + c->m_limits.headerTimeoutMs;
    return 0;
}

bool HttpConnection::countHeadBytes(size_t length)
{
    m_headBytes += int(length);
    if (m_headBytes > m_limits.maxHeaderBytes) {
        m_errorStatus = 431;
        return false;
    }
    return true;
}

int HttpConnection::onUrl(http_parser *p, const char *at, size_t length)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed || !c->countHeadBytes(length))
        return -1;
    c->m_head.target.append(at, qsizetype(length));
    return 0;
}

int HttpConnection::onHeaderField(http_parser *p, const char *at, size_t length)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed)
        return -1;
    if (c->m_inBody)
        return 0; // a trailer field of a chunked request: not forwarded
    if (!c->countHeadBytes(length))
        return -1;
    HttpHeaders &headers = c->m_head.headers;
    if (c->m_lastWasValue || headers.isEmpty()) {
        if (c->m_lastWasValue)
            headers.finishField();
        headers.beginField();
        c->m_lastWasValue = false;
        if (!c->countHeadBytes(4)) // ": " and CRLF count against the limit too
            return -1;
    }
    headers.appendNameFragment(QByteArrayView(at, qsizetype(length)));
    return 0;
}

int HttpConnection::onHeaderValue(http_parser *p, const char *at, size_t length)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed)
        return -1;
    if (c->m_inBody)
        return 0;
    if (length > 0) {
        // Obsolete line folding (a value continued on a line that starts with white space): http_parser
        // accepts it and reports the continuation as a further fragment that starts after a line feed.
        // Other parsers join or split such lines differently, which is what smuggling feeds on.
        const char before = at > c->m_execStart ? at[-1] : c->m_prevByte;
        if (before == '\n' || std::memchr(at, '\n', length) || std::memchr(at, '\r', length)) {
            c->m_errorStatus = 400;
            return -1;
        }
    }
    if (!c->countHeadBytes(length))
        return -1;
    if (c->m_head.headers.isEmpty())
        return -1;
    c->m_head.headers.appendValueFragment(QByteArrayView(at, qsizetype(length)));
    c->m_lastWasValue = true;
    return 0;
}

int HttpConnection::onHeadersComplete(http_parser *p)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed)
        return -1;
    const int status = c->headersComplete();
    if (status != 0) {
        c->m_errorStatus = status;
        return -1;
    }
    return 0;
}

int HttpConnection::headersComplete()
{
    HttpRequestHead &h = m_head;
    HttpHeaders &headers = h.headers;
    if (m_lastWasValue)
        headers.finishField();
    m_inBody = true;

    if (m_parser.http_major != 1)
        return 505;
    h.versionMajor = m_parser.http_major;
    h.versionMinor = m_parser.http_minor;
    const auto method = http_method(m_parser.method);
    h.method = QByteArrayView(http_method_str(method));
    if (method == HTTP_CONNECT)
        return 405;
    h.isHead = method == HTTP_HEAD;

    int hostCount = 0;
    int transferEncodings = 0;
    for (int i = 0; i < headers.size(); ++i) {
        const QByteArrayView name = headers.name(i);
        // "Host : x" - white space before the colon - must be refused (RFC 9112 section 5.1), as any
        // name that is not a token.
        if (name.isEmpty())
            return 400;
        for (char ch : name) {
            if (!isTokenChar(ch))
                return 400;
        }
        if (HttpHeaders::equalsIgnoringCase(name, "host"))
            ++hostCount;
        else if (HttpHeaders::equalsIgnoringCase(name, "transfer-encoding"))
            ++transferEncodings;
    }
    if (hostCount > 1)
        return 400;
    if (transferEncodings > 1 || (transferEncodings > 0 && h.versionMinor == 0))
        return 400;
    h.chunked = (m_parser.flags & F_CHUNKED) != 0;
    if (transferEncodings > 0 && !h.chunked)
        return 400;
    h.contentLength = (m_parser.flags & F_CONTENTLENGTH) ? qint64(m_parser.content_length) : -1;
    if (h.chunked && (m_parser.flags & F_CONTENTLENGTH))
        return 400;
    if (h.contentLength >= 0 && m_limits.maxBodyBytes > 0 && h.contentLength > m_limits.maxBodyBytes)
        return 413;
    h.keepAlive = http_should_keep_alive(&m_parser) != 0;

    // Target: origin form, or absolute form whose authority overrides Host (RFC 9112 section 3.2.2).
    if (h.target.isEmpty())
        return 400;
    if (h.target.front() != '/' && h.target != "*") {
        http_parser_url url;
        http_parser_url_init(&url);
        if (http_parser_parse_url(h.target.constData(), size_t(h.target.size()), 0, &url) != 0 ||
            !(url.field_set & (1 << UF_HOST)))
            return 400;
        const auto field = [&](int f) {
            return QByteArrayView(h.target.constData() + url.field_data[f].off, url.field_data[f].len);
        };
        h.authority.append(field(UF_HOST));
        if (url.field_set & (1 << UF_PORT)) {
            h.authority.append(':');
            h.authority.append(field(UF_PORT));
        }
        QByteArray origin;
        if (url.field_set & (1 << UF_PATH))
            origin.append(field(UF_PATH));
        else
            origin.append('/');
        if (url.field_set & (1 << UF_QUERY)) {
            origin.append('?');
            origin.append(field(UF_QUERY));
        }
        h.target = origin;
    } else if (hostCount == 1) {
        h.authority.append(headers.value("host"));
    }
    if (hostCount == 0 && h.versionMinor >= 1 && h.authority.isEmpty())
        return 400;
    const qsizetype q = h.target.indexOf('?');
    h.path = q < 0 ? QByteArrayView(h.target) : QByteArrayView(h.target).first(q);
    h.query = q < 0 ? QByteArrayView() : QByteArrayView(h.target).sliced(q + 1);
    QByteArrayView host(h.authority);
    if (host.startsWith('[')) {
        const qsizetype end = host.indexOf(']');
        if (end < 0)
            return 400;
        host = host.sliced(1, end - 1);
    } else {
        const qsizetype colon = host.lastIndexOf(':');
        if (colon >= 0)
            host = host.first(colon);
    }
    h.host = host;

    const QByteArrayView expect = headers.value("expect");
    h.expectContinue = h.versionMinor >= 1 && HttpHeaders::equalsIgnoringCase(expect, "100-continue");

    m_bodyBytes = 0;
    m_bodyBuffer.resize(0);
    const qint64 bufferLimit = m_handler->bufferedBodyLimit();
    m_bufferBody = bufferLimit > 0;
    if (m_bufferBody) {
        if (h.contentLength > bufferLimit)
            return 413;
        if (h.expectContinue && h.hasBody()) {
            writeRaw("HTTP/1.1 100 Continue\r\n\r\n");
            m_continueSent = true;
        }
        return 0; // dispatched once the body is complete
    }
    m_dispatchPending = true;
    http_parser_pause(&m_parser, 1);
    return 0;
}

int HttpConnection::onBody(http_parser *p, const char *at, size_t length)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed)
        return -1;
    if ((p->flags & F_CHUNKED) && p->content_length == 0) {
        // The chunk is complete: CRLF must follow its data. This build of http_parser is not strict
        // and would take any two bytes there, letting "3\r\nabcdef" hide another chunk or request.
        c->m_chunkEnd = at + length;
        c->m_chunkCrlfChecked = 0;
        if (!c->checkChunkCrlf(c->m_chunkEnd, c->m_execStart + (c->m_inLen - c->m_inPos)))
            return -1;
    }
    c->m_bodyBytes += qint64(length);
    if (c->m_limits.maxBodyBytes > 0 && c->m_bodyBytes > c->m_limits.maxBodyBytes) {
        c->m_errorStatus = 413;
        return -1;
    }
    if (c->m_bufferBody) {
        if (c->m_bodyBytes > c->m_handler->bufferedBodyLimit()) {
            c->m_errorStatus = 413;
            return -1;
        }
        c->m_bodyBuffer.append(at, qsizetype(length));
        return 0;
    }
    if (c->m_observer && !c->m_responseDone)
        c->m_observer->requestBody(QByteArrayView(at, qsizetype(length)));
    if (c->m_state == State::Closed)
        return -1;
    if (c->m_bodyPaused)
        http_parser_pause(p, 1);
    return 0;
}

int HttpConnection::onMessageComplete(http_parser *p)
{
    HttpConnection *c = self(p);
    if (c->m_state == State::Closed)
        return -1;
    c->m_requestDone = true;
    c->m_inBody = false;
    if (c->m_bufferBody) {
        c->m_dispatchPending = true;
    } else if (c->m_observer && !c->m_responseDone) {
        c->m_observer->requestComplete();
    }
    if (c->m_state == State::Closed)
        return -1;
    // The next pipelined request waits in the buffer until this one's response is complete.
    http_parser_pause(p, 1);
    return 0;
}

// --- reading -------------------------------------------------------------------------------------

bool HttpConnection::blocked() const
{
    if (m_state != State::Dispatched)
        return false;
    if (m_requestDone)
        return true; // waiting for the response before the next request
    return m_bodyPaused && !m_responseDone;
}

bool HttpConnection::fill()
{
    const qint64 n = m_socket->read(m_in.data(), m_in.size());
    if (n <= 0)
        return false;
    m_inPos = 0;
    m_inLen = n;
    if (m_state == State::Dispatched)
        m_deadline = nowMs() + m_limits.bodyTimeoutMs;
    return true;
}

bool HttpConnection::checkChunkCrlf(const char *from, const char *end)
{
    static const char crlf[2] = {'\r', '\n'};
    while (m_chunkCrlfChecked < 2 && from < end) {
        if (*from++ != crlf[m_chunkCrlfChecked]) {
            m_errorStatus = 400;
            m_chunkCrlfChecked = 2;
            return false;
        }
        ++m_chunkCrlfChecked;
    }
    return true;
}

void HttpConnection::execute()
{
    m_execStart = m_in.constData() + m_inPos;
    const size_t available = size_t(m_inLen - m_inPos);
    if (m_chunkCrlfChecked < 2 && !checkChunkCrlf(m_execStart, m_execStart + available)) {
        failRequest(400);
        return;
    }
    const size_t n = http_parser_execute(&m_parser, &parserSettings(), m_execStart, available);
    if (n > 0)
        m_prevByte = m_execStart[n - 1];
    m_inPos += qsizetype(n);
    if (m_state == State::Closed)
        return;
    const http_errno err = HTTP_PARSER_ERRNO(&m_parser);
    if (err == HPE_PAUSED) {
        http_parser_pause(&m_parser, 0);
        return;
    }
    if (err != HPE_OK) {
        int status = m_errorStatus ? m_errorStatus : 400;
        if (err == HPE_HEADER_OVERFLOW)
            status = 431;
        qCDebug(lcHttp) << "refusing request from" << m_head.peerAddressText << status
                        << http_errno_name(err);
        failRequest(status);
        return;
    }
    if (m_parser.upgrade) {
        // Protocol upgrades are not proxied: the request is served as a plain one.
        m_parser.upgrade = 0;
    }
}

void HttpConnection::dispatch()
{
    m_dispatchPending = false;
    m_state = State::Dispatched;
    m_deadline = nowMs() + m_limits.bodyTimeoutMs;
    ++m_requests;
    if (!m_head.keepAlive || m_draining ||
        (m_limits.maxKeepaliveRequests > 0 && m_requests >= m_limits.maxKeepaliveRequests))
        m_closeAfter = true;
    m_handler->handleRequest(this);
}

void HttpConnection::pump()
{
    if (m_pumping)
        return;
    m_pumping = true;
    while (m_state != State::Closed) {
        if (m_dispatchPending) {
            dispatch();
            continue;
        }
        if (m_state == State::Dispatched && m_requestDone && m_responseDone) {
            startNextRequest();
            continue;
        }
        if (m_state == State::Dispatched && !m_requestDone && !m_bodyPaused && !m_continueSent &&
            m_head.expectContinue && !m_headSent && m_head.hasBody()) {
            writeRaw("HTTP/1.1 100 Continue\r\n\r\n");
            m_continueSent = true;
        }
        if (blocked())
            break;
        if (m_inPos == m_inLen && !fill())
            break;
        execute();
    }
    m_pumping = false;
}

void HttpConnection::startNextRequest()
{
    m_state = State::Idle;
    m_requestDone = false;
    m_responseDone = false;
    m_headSent = false;
    m_continueSent = false;
    m_bodyPaused = false;
    m_bufferBody = false;
    m_congested = false;
    m_outMode = OutMode::None;
    m_observer = nullptr;
    m_errorStatus = 0;
    m_deadline = nowMs() + m_limits.keepaliveTimeoutMs;
    if (m_draining && m_inPos == m_inLen && m_socket->bytesAvailable() == 0)
        close(true);
}

void HttpConnection::pauseRequestBody()
{
    m_bodyPaused = true;
    if (m_pumping)
        http_parser_pause(&m_parser, 1);
}

void HttpConnection::resumeRequestBody()
{
    if (!m_bodyPaused)
        return;
    m_bodyPaused = false;
    m_deadline = nowMs() + m_limits.bodyTimeoutMs;
    if (!m_pumping)
        pump();
}

// --- writing -------------------------------------------------------------------------------------

void HttpConnection::writeRaw(QByteArrayView data)
{
    if (m_holding) {
        if (m_held.size() + data.size() <= HoldLimit) {
            m_held.append(data.data(), data.size());
            return;
        }
        releaseOutput();
    }
    send(data);
}

void HttpConnection::send(QByteArrayView data)
{
    if (m_socket->bytesToWrite() == 0) {
        m_sendProgress = nowMs();
        if (m_socket->state() == QAbstractSocket::ConnectedState) {
            const qint64 sent = sendDirect(m_socket->socketDescriptor(), data.data(), data.size());
            if (sent >= data.size())
                return;
            data = data.sliced(sent);
        }
    }
    m_socket->write(data.data(), data.size());
}

void HttpConnection::holdOutput()
{
    if (m_state != State::Closed)
        m_holding = true;
}

void HttpConnection::releaseOutput()
{
    m_holding = false;
    if (m_held.isEmpty())
        return;
    if (m_state != State::Closed)
        send(m_held);
    m_held.resize(0);
}

qint64 HttpConnection::pendingOutput() const
{
    return m_socket->bytesToWrite() + m_held.size();
}

void HttpConnection::writeHead(int status, QByteArrayView reason, const HttpHeaders &headers,
                               qint64 contentLength)
{
    if (m_state == State::Closed || m_headSent)
        return;
    m_headSent = true;
    m_out.resize(0);
    m_out.append("HTTP/1.1 ");
    appendNumber(m_out, status);
    m_out.append(' ');
    m_out.append(reason.data(), reason.size());
    m_out.append("\r\n");
    headers.serialize(m_out);
    const bool http10 = m_head.versionMinor == 0;
    const bool bodyAllowed = status >= 200 && status != 204 && status != 304;
    if (!bodyAllowed) {
        m_outMode = OutMode::None;
    } else if (contentLength >= 0) {
        m_out.append("Content-Length: ");
        appendNumber(m_out, contentLength);
        m_out.append("\r\n");
        m_outMode = OutMode::Length;
    } else if (!http10) {
        m_out.append("Transfer-Encoding: chunked\r\n");
        m_outMode = OutMode::Chunked;
    } else {
        m_outMode = OutMode::CloseDelimited;
        if (!m_head.isHead)
            m_closeAfter = true;
    }
    if (m_head.isHead)
        m_outMode = OutMode::None;
    if (m_draining)
        m_closeAfter = true;
    if (m_closeAfter)
        m_out.append("Connection: close\r\n");
    else if (http10)
        m_out.append("Connection: keep-alive\r\n");
    m_out.append("\r\n");
    writeRaw(m_out);
}

void HttpConnection::writeBody(QByteArrayView data)
{
    if (m_state == State::Closed || data.isEmpty())
        return;
    switch (m_outMode) {
    case OutMode::None:
        return;
    case OutMode::Chunked: {
        char line[20];
        const int n =
            std::snprintf(line, sizeof line, "%llx\r\n", static_cast<unsigned long long>(data.size()));
        writeRaw(QByteArrayView(line, n));
        writeRaw(data);
        writeRaw("\r\n");
        break;
    }
    case OutMode::Length:
    case OutMode::CloseDelimited:
        writeRaw(data);
        break;
    }
    if (m_socket->bytesToWrite() > m_limits.outputHighWater)
        m_congested = true;
}

void HttpConnection::finish(const HttpHeaders *trailers)
{
    if (m_state == State::Closed || m_responseDone)
        return;
    // The exchange ends here for its handler: a client that goes away while the last bytes are written
    // must not call the handler back in the middle of its finish().
    m_observer = nullptr;
    if (!m_headSent)
        writeHead(500, reasonPhrase(500), HttpHeaders(), 0);
    if (m_outMode == OutMode::Chunked) {
        if (trailers && !trailers->isEmpty()) {
            m_out.resize(0);
            m_out.append("0\r\n");
            trailers->serialize(m_out);
            m_out.append("\r\n");
            writeRaw(m_out);
        } else {
            writeRaw("0\r\n\r\n");
        }
    }
    releaseOutput();
    // Out now rather than on the next turn of the event loop: one poll and notifier toggle less.
    m_socket->flush();
    if (m_state == State::Closed)
        return; // the flush found the client gone
    m_responseDone = true;
    m_congested = false;
    m_bodyPaused = false;
    // An unread request body hides where the next request starts.
    if (!m_requestDone && m_head.hasBody())
        m_closeAfter = true;
    if (m_closeAfter || m_outMode == OutMode::CloseDelimited) {
        close(true);
        return;
    }
    if (m_pumping)
        return; // the pump loop in progress takes the next request
    // Finish the parser's view of this request (its last byte may still be unread), then leave any
    // pipelined request for the event loop: the handler calling finish() must unwind first.
    if (!m_requestDone && m_inPos < m_inLen)
        execute();
    if (m_state == State::Closed)
        return;
    if (m_requestDone) {
        startNextRequest();
        if (m_state != State::Closed && (m_inPos < m_inLen || m_socket->bytesAvailable() > 0))
            QMetaObject::invokeMethod(this, &HttpConnection::pump, Qt::QueuedConnection);
    }
}

void HttpConnection::abort()
{
    m_observer = nullptr;
    if (m_state == State::Closed) {
        m_socket->abort();
        finalize();
        return;
    }
    close(false);
}

void HttpConnection::failRequest(int status)
{
    if (m_state == State::Closed)
        return;
    Observer *observer = std::exchange(m_observer, nullptr);
    if (observer)
        observer->exchangeAborted();
    if (m_state == State::Closed)
        return;
    if (m_headSent || m_responseDone) {
        close(false);
        return;
    }
    m_closeAfter = true;
    m_head.isHead = false;
    m_head.versionMinor = 1;
    m_state = State::Dispatched;
    respondError(status);
}

// --- life cycle ----------------------------------------------------------------------------------

void HttpConnection::onBytesWritten()
{
    m_sendProgress = nowMs();
    if (m_congested && m_socket->bytesToWrite() <= m_limits.outputLowWater) {
        m_congested = false;
        if (m_observer)
            m_observer->responseWritable();
    }
}

void HttpConnection::onDisconnected()
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
    if (graceful) {
        releaseOutput(); // queued ahead of the close
    } else {
        m_holding = false;
        m_held.resize(0);
    }
    m_state = State::Closed;
    Observer *observer = std::exchange(m_observer, nullptr);
    if (observer)
        observer->exchangeAborted();
    if (graceful && !m_peerGone && m_socket->state() == QAbstractSocket::ConnectedState) {
        m_closeStarted = nowMs();
        m_socket->disconnectFromHost(); // sends what is queued first
        if (m_socket->state() != QAbstractSocket::UnconnectedState)
            return; // finalized on disconnected(), or by checkTimeouts
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
    m_handler->connectionClosed();
    m_server->connectionFinished(this);
    deleteLater();
}

void HttpConnection::checkTimeouts(qint64 now)
{
    if (m_finalized)
        return;
    if (m_state == State::Closed) {
        if (now - m_closeStarted > m_limits.sendTimeoutMs) {
            m_socket->abort();
            finalize();
        }
        return;
    }
    if (m_socket->bytesToWrite() > 0 && now - m_sendProgress > m_limits.sendTimeoutMs) {
        qCDebug(lcHttp) << "client" << m_head.peerAddressText << "stopped reading: dropped";
        close(false);
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
        if (!m_requestDone && !m_bodyPaused && !m_responseDone)
            failRequest(408);
        break;
    case State::Closed:
        break;
    }
}

void HttpConnection::shutdown()
{
    m_draining = true;
    if (m_state == State::Idle && m_inPos == m_inLen && m_socket->bytesAvailable() == 0)
        close(true);
    else
        m_closeAfter = true;
}
