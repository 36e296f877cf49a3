#include "upstreamconnection.h"

#include "directsend.h"
#include "httpconnection.h"

#include <QLoggingCategory>
#include <QTcpSocket>

#include <utility>

Q_LOGGING_CATEGORY(lcUpstream, "holdfast.proxy.upstream", QtInfoMsg)

namespace {

constexpr qsizetype ReadChunk = 16 * 1024;
constexpr qint64 ReadBuffer = 64 * 1024;
constexpr qint64 OutputHighWater = 256 * 1024;
constexpr qint64 OutputLowWater = 64 * 1024;
constexpr qsizetype HoldLimit = 16 * 1024; // held output beyond this goes out at once

inline UpstreamConnection *self(http_parser *p)
{
    return static_cast<UpstreamConnection *>(p->data);
}

} // namespace

const http_parser_settings &UpstreamConnection::parserSettings()
{
    static const http_parser_settings settings = [] {
        http_parser_settings s;
        http_parser_settings_init(&s);
        s.on_message_begin = &UpstreamConnection::onMessageBegin;
        s.on_status = &UpstreamConnection::onStatus;
        s.on_header_field = &UpstreamConnection::onHeaderField;
        s.on_header_value = &UpstreamConnection::onHeaderValue;
        s.on_headers_complete = &UpstreamConnection::onHeadersComplete;
        s.on_body = &UpstreamConnection::onBody;
        s.on_message_complete = &UpstreamConnection::onMessageComplete;
        return s;
    }();
    return settings;
}

UpstreamConnection::UpstreamConnection(QByteArray nodeKey, QByteArray host, quint16 port, QObject *parent)
    : QObject(parent)
    , m_nodeKey(std::move(nodeKey))
    , m_host(std::move(host))
    , m_port(port)
{
    http_parser_init(&m_parser, HTTP_RESPONSE);
    m_parser.data = this;
    m_in.resize(ReadChunk);
    m_socket = new QTcpSocket(this);
    m_socket->setReadBufferSize(ReadBuffer);
    connect(m_socket, &QTcpSocket::connected, this, &UpstreamConnection::onConnected);
    connect(m_socket, &QTcpSocket::readyRead, this, &UpstreamConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &UpstreamConnection::onBytesWritten);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &UpstreamConnection::onError);
    connect(m_socket, &QTcpSocket::disconnected, this, &UpstreamConnection::onDisconnected);
}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::connectToNode()
{
    m_connecting = true;
    m_connectDeadline = HttpConnection::nowMs() + m_timeouts.connectMs;
    m_socket->connectToHost(QString::fromLatin1(m_host), m_port);
}

bool UpstreamConnection::isConnected() const
{
    return !m_failed && !m_eof && m_socket->state() == QAbstractSocket::ConnectedState;
}

void UpstreamConnection::onConnected()
{
    m_connecting = false;
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_sendProgress = HttpConnection::nowMs();
    if (m_observer)
        m_observer->upstreamConnected();
}

void UpstreamConnection::beginRequest(bool headRequest)
{
    http_parser_init(&m_parser, HTTP_RESPONSE);
    m_parser.data = this;
    m_headRequest = headRequest;
    m_busy = true;
    m_complete = false;
    m_headDelivered = false;
    m_readPaused = false;
    m_congested = false;
    m_readDeadline = 0;
    m_inPos = m_inLen = 0;
    ++m_requests;
}

void UpstreamConnection::write(QByteArrayView data)
{
    if (m_failed)
        return;
    if (m_holding) {
        if (m_held.size() + data.size() <= HoldLimit) {
            m_held.append(data.data(), data.size());
            return;
        }
        releaseOutput();
        if (m_failed)
            return;
    }
    send(data);
}

void UpstreamConnection::send(QByteArrayView data)
{
    if (m_socket->bytesToWrite() == 0) {
        m_sendProgress = HttpConnection::nowMs();
        if (!m_connecting && m_socket->state() == QAbstractSocket::ConnectedState) {
            const qint64 sent = sendDirect(m_socket->socketDescriptor(), data.data(), data.size());
            if (sent >= data.size())
                return;
            data = data.sliced(sent);
        }
    }
    m_socket->write(data.data(), data.size());
    if (m_socket->bytesToWrite() > OutputHighWater)
        m_congested = true;
}

void UpstreamConnection::releaseOutput()
{
    m_holding = false;
    if (m_held.isEmpty())
        return;
    if (!m_failed)
        send(m_held);
    m_held.resize(0);
}

void UpstreamConnection::requestSent()
{
    releaseOutput();
    if (m_failed)
        return;
    m_socket->flush(); // the request is whole: send it now, not on the next turn of the event loop
    if (m_readDeadline == 0)
        m_readDeadline = HttpConnection::nowMs() + m_timeouts.readMs;
}

qint64 UpstreamConnection::pendingOutput() const
{
    return m_socket->bytesToWrite() + m_held.size();
}

void UpstreamConnection::onBytesWritten()
{
    m_sendProgress = HttpConnection::nowMs();
    if (m_congested && m_socket->bytesToWrite() <= OutputLowWater) {
        m_congested = false;
        if (m_observer)
            m_observer->upstreamWritable();
    }
}

void UpstreamConnection::pauseReading()
{
    m_readPaused = true;
    if (m_processing)
        http_parser_pause(&m_parser, 1);
}

void UpstreamConnection::resumeReading()
{
    if (!m_readPaused)
        return;
    m_readPaused = false;
    if (m_readDeadline)
        m_readDeadline = HttpConnection::nowMs() + m_timeouts.readMs;
    process();
    if (m_eof && m_busy && !m_complete && !m_failed)
        handleEof();
}

bool UpstreamConnection::reusable() const
{
    return m_complete && m_keepAlive && !m_failed && !m_eof && m_inPos == m_inLen &&
           m_socket->state() == QAbstractSocket::ConnectedState && m_socket->bytesAvailable() == 0;
}

void UpstreamConnection::markIdle(qint64 nowMs)
{
    m_busy = false;
    m_observer = nullptr;
    m_idleSince = nowMs;
    m_readDeadline = 0;
}

void UpstreamConnection::close()
{
    m_holding = false;
    m_held.resize(0);
    m_failed = true;
    m_busy = false;
    m_observer = nullptr;
    m_socket->abort();
    deleteLater();
}

void UpstreamConnection::onReadyRead()
{
    if (!m_busy) {
        // Idle in the pool: an upstream has nothing to say between requests.
        if (!m_failed) {
            m_failed = true;
            emit idleConnectionLost(this);
        }
        return;
    }
    process();
}

// Parses what is buffered; false when the connection failed.
bool UpstreamConnection::execute(const char *data, qsizetype length)
{
    const size_t n = http_parser_execute(&m_parser, &parserSettings(), data, size_t(length));
    m_inPos += qsizetype(n);
    if (m_failed)
        return false;
    const http_errno err = HTTP_PARSER_ERRNO(&m_parser);
    if (err == HPE_PAUSED) {
        http_parser_pause(&m_parser, 0);
        return true;
    }
    if (err != HPE_OK) {
        qCDebug(lcUpstream) << "bad response from" << m_nodeKey << http_errno_name(err);
        fail(UpstreamConnection::Failure::BadResponse);
        return false;
    }
    return true;
}

void UpstreamConnection::process()
{
    if (m_processing)
        return;
    m_processing = true;
    while (m_busy && !m_complete && !m_failed) {
        if (m_readPaused && !m_eof)
            break;
        if (m_inPos == m_inLen) {
            const qint64 n = m_socket->read(m_in.data(), m_in.size());
            if (n <= 0)
                break;
            m_inPos = 0;
            m_inLen = n;
            if (m_readDeadline || m_headDelivered)
                m_readDeadline = HttpConnection::nowMs() + m_timeouts.readMs;
        }
        if (!execute(m_in.constData() + m_inPos, m_inLen - m_inPos))
            break;
    }
    m_processing = false;
    if (m_complete && m_busy && !m_failed)
        deliverComplete();
    else if (m_observer && !m_failed)
        m_observer->upstreamReadDone();
}

void UpstreamConnection::deliverComplete()
{
    m_busy = false;
    if (m_observer)
        m_observer->upstreamResponseComplete(m_trailers);
}

void UpstreamConnection::handleEof()
{
    m_eof = true;
    if (m_failed)
        return;
    if (!m_busy) {
        m_failed = true;
        emit idleConnectionLost(this);
        return;
    }
    process(); // what was read before the close
    if (!m_busy || m_failed || m_complete)
        return;
    if (m_readPaused)
        return; // resumeReading() comes back here
    // End of stream: completes a close-delimited body, or is a failure.
    m_processing = true;
    execute(nullptr, 0);
    m_processing = false;
    if (m_failed)
        return;
    if (m_complete)
        deliverComplete();
    else
        fail(Failure::Reset);
}

void UpstreamConnection::onError(QAbstractSocket::SocketError error)
{
    switch (error) {
    case QAbstractSocket::RemoteHostClosedError:
        if (m_connecting)
            fail(Failure::Reset);
        else
            handleEof();
        break;
    case QAbstractSocket::ConnectionRefusedError:
        fail(Failure::Refused);
        break;
    case QAbstractSocket::HostNotFoundError:
        fail(Failure::HostNotFound);
        break;
    default:
        fail(m_connecting ? Failure::Refused : Failure::Reset);
        break;
    }
}

void UpstreamConnection::onDisconnected()
{
    if (!m_failed && !m_eof)
        handleEof();
}

void UpstreamConnection::fail(Failure failure)
{
    if (m_failed)
        return;
    m_failed = true;
    m_connecting = false;
    m_holding = false;
    m_held.resize(0);
    const bool wasBusy = m_busy;
    m_busy = false;
    m_socket->abort();
    Observer *observer = std::exchange(m_observer, nullptr);
    if (observer)
        observer->upstreamFailed(failure);
    else if (!wasBusy)
        emit idleConnectionLost(this);
}

void UpstreamConnection::checkTimeouts(qint64 now)
{
    if (m_failed)
        return;
    if (m_connecting) {
        if (now > m_connectDeadline)
            fail(Failure::ConnectTimeout);
        return;
    }
    if (!m_busy)
        return;
    if (m_socket->bytesToWrite() > 0 && now - m_sendProgress > m_timeouts.sendMs) {
        fail(Failure::SendTimeout);
        return;
    }
    if (m_readDeadline && !m_readPaused && now > m_readDeadline)
        fail(Failure::ReadTimeout);
}

// --- parser callbacks ---------------------------------------------------------------------------

int UpstreamConnection::onMessageBegin(http_parser *p)
{
    UpstreamConnection *c = self(p);
    c->m_head.headers.clear();
    c->m_head.reason.resize(0);
    c->m_trailers.clear();
    c->m_lastWasValue = false;
    c->m_inBody = false;
    c->m_interim = false;
    return 0;
}

int UpstreamConnection::onStatus(http_parser *p, const char *at, size_t length)
{
    self(p)->m_head.reason.append(at, qsizetype(length));
    return 0;
}

int UpstreamConnection::onHeaderField(http_parser *p, const char *at, size_t length)
{
    UpstreamConnection *c = self(p);
    HttpHeaders &headers = c->m_inBody ? c->m_trailers : c->m_head.headers;
    if (c->m_lastWasValue || headers.isEmpty()) {
        if (c->m_lastWasValue)
            headers.finishField();
        headers.beginField();
        c->m_lastWasValue = false;
    }
    headers.appendNameFragment(QByteArrayView(at, qsizetype(length)));
    return 0;
}

int UpstreamConnection::onHeaderValue(http_parser *p, const char *at, size_t length)
{
    UpstreamConnection *c = self(p);
    HttpHeaders &headers = c->m_inBody ? c->m_trailers : c->m_head.headers;
    if (headers.isEmpty())
        return -1;
    headers.appendValueFragment(QByteArrayView(at, qsizetype(length)));
    c->m_lastWasValue = true;
    return 0;
}

int UpstreamConnection::onHeadersComplete(http_parser *p)
{
    UpstreamConnection *c = self(p);
    HttpResponseHead &h = c->m_head;
    if (c->m_lastWasValue)
        h.headers.finishField();
    c->m_lastWasValue = false;
    h.status = int(p->status_code);
    h.versionMinor = p->http_minor;
    if (h.status / 100 == 1 && h.status != 101) {
        c->m_interim = true; // 100 Continue, 103 Early Hints: not forwarded, the final response follows
        return 1;
    }
    h.hasBody = !(c->m_headRequest || h.status / 100 == 1 || h.status == 204 || h.status == 304);
    h.chunked = (p->flags & F_CHUNKED) != 0;
    h.contentLength = (p->flags & F_CONTENTLENGTH) ? qint64(p->content_length) : -1;
    h.keepAlive = http_should_keep_alive(p) != 0;
    c->m_inBody = true;
    c->m_headDelivered = true;
    if (c->m_readDeadline == 0)
        c->m_readDeadline = HttpConnection::nowMs() + c->m_timeouts.readMs;
    if (c->m_observer)
        c->m_observer->upstreamResponseHead(h);
    if (c->m_failed)
        return -1;
    return h.hasBody ? 0 : 1;
}

int UpstreamConnection::onBody(http_parser *p, const char *at, size_t length)
{
    UpstreamConnection *c = self(p);
    if (c->m_observer)
        c->m_observer->upstreamResponseBody(QByteArrayView(at, qsizetype(length)));
    if (c->m_failed)
        return -1;
    if (c->m_readPaused && !c->m_eof)
        http_parser_pause(p, 1);
    return 0;
}

int UpstreamConnection::onMessageComplete(http_parser *p)
{
    UpstreamConnection *c = self(p);
    if (c->m_interim) {
        c->m_interim = false;
        return 0;
    }
    if (c->m_lastWasValue)
        c->m_trailers.finishField();
    c->m_complete = true;
    c->m_keepAlive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}
