#include "upstreamconnection.h"

#include "httpclock.h"
#include "httpformat.h"
#include "llhttpsettings.h"
#include "streamsockets.h"

#include <QLoggingCategory>

#include <utility>

Q_LOGGING_CATEGORY(lcUpstream, "holdfast.proxy.upstream", QtInfoMsg)

namespace {

constexpr qsizetype ReadChunk = 16 * 1024;
constexpr qint64 ReadBuffer = 64 * 1024;
constexpr qint64 OutputHighWater = 256 * 1024;
constexpr qint64 OutputLowWater = 64 * 1024;
inline UpstreamConnection *self(llhttp_t *p)
{
    return static_cast<UpstreamConnection *>(p->data);
}

} // namespace

UpstreamConnection::UpstreamConnection(QByteArray nodeKey, QByteArray host, quint16 port,
                                       StreamSockets *sockets, QObject *parent)
    : QObject(parent)
    , m_nodeKey(std::move(nodeKey))
    , m_host(std::move(host))
    , m_port(port)
    , m_sockets(sockets)
    , m_output(nullptr)
{
    llhttpStart(&m_parser, this);
    m_in.resize(ReadChunk);
}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::connectToNode()
{
    m_connecting = true;
    m_connectDeadline = HttpClock::nowMs() + m_timeouts.connectMs;
    StreamSocket::ConnectError failure = StreamSocket::ConnectError::None;
    // A Qt socket may report its failure from within connectTo(): fail() copes with m_stream still null.
    std::unique_ptr<StreamSocket> stream = m_sockets->connectTo(m_host, m_port, ReadBuffer, this, &failure);
    if (!stream) {
        fail(failure == StreamSocket::ConnectError::Reset ? Failure::Reset : Failure::Refused);
        return;
    }
    m_stream = std::move(stream);
    m_output = SocketOutput(m_stream.get());
    if (m_failed)
        m_stream->abort();
}

bool UpstreamConnection::isConnected() const
{
    return !m_failed && !m_eof && !m_connecting && m_stream && m_stream->isOpen();
}

void UpstreamConnection::setReading(bool on)
{
    if (m_stream)
        m_stream->setReading(on);
}

void UpstreamConnection::socketConnected()
{
    if (m_failed)
        return;
    m_connecting = false;
    m_output.noteProgress();
    if (m_observer)
        m_observer->upstreamConnected();
}

void UpstreamConnection::beginRequest(bool headRequest)
{
    llhttpStart(&m_parser, this);
    m_headRequest = headRequest;
    m_busy = true;
    m_complete = false;
    m_headDelivered = false;
    if (m_readPaused)
        setReading(true);
    m_readPaused = false;
    m_congested = false;
    m_readDeadline = 0;
    m_inPos = m_inLen = 0;
    m_drained = false;
    ++m_requests;
}

void UpstreamConnection::write(QByteArrayView data)
{
    if (m_failed)
        return;
    m_output.write(data);
    if (m_stream->bytesToWrite() > OutputHighWater)
        m_congested = true;
}

void UpstreamConnection::releaseOutput()
{
    if (m_failed) {
        m_output.discard();
        return;
    }
    m_output.release();
    if (m_stream->bytesToWrite() > OutputHighWater)
        m_congested = true;
}

void UpstreamConnection::requestSent()
{
    releaseOutput();
    if (m_failed)
        return;
    if (m_readDeadline == 0)
        m_readDeadline = HttpClock::nowMs() + m_timeouts.readMs;
}

qint64 UpstreamConnection::pendingOutput() const
{
    return m_output.pending();
}

void UpstreamConnection::socketWritten()
{
    if (m_failed)
        return;
    m_output.noteProgress();
    if (m_congested && m_stream->bytesToWrite() <= OutputLowWater) {
        m_congested = false;
        if (m_observer)
            m_observer->upstreamWritable();
    }
}

void UpstreamConnection::pauseReading()
{
    if (m_readPaused)
        return;
    m_readPaused = true;
    setReading(false); // the bytes wait in the kernel, which pushes back on the upstream
}

void UpstreamConnection::resumeReading()
{
    if (!m_readPaused)
        return;
    m_readPaused = false;
    setReading(true);
    if (m_readDeadline)
        m_readDeadline = HttpClock::nowMs() + m_timeouts.readMs;
    process();
    if (m_eof && m_busy && !m_complete && !m_failed)
        handleEof();
}

bool UpstreamConnection::reusable() const
{
    // Bytes after the response (read with it, or still in the socket) would be taken for the next
    // request's answer. A read shorter than the buffer emptied the socket, so only after a full one is
    // the socket asked (a system call per request otherwise).
    return m_complete && m_keepAlive && !m_failed && !m_eof && m_inPos == m_inLen && m_stream &&
           m_stream->isOpen() && (m_drained || m_stream->bytesAvailable() == 0);
}

void UpstreamConnection::markIdle(qint64 nowMs)
{
    m_busy = false;
    m_observer = nullptr;
    m_idleSince = nowMs;
    m_readDeadline = 0;
    if (m_readPaused) {
        m_readPaused = false;
        setReading(true); // whatever the upstream sends or does while idle is heard
    }
}

void UpstreamConnection::close()
{
    m_output.discard();
    m_failed = true;
    m_busy = false;
    m_observer = nullptr;
    if (m_stream)
        m_stream->abort();
    deleteLater();
}

std::unique_ptr<StreamSocket> UpstreamConnection::takeSocket(QByteArray *unread)
{
    *unread = QByteArray(m_in.constData() + m_inPos, m_inLen - m_inPos);
    m_inPos = m_inLen = 0;
    m_output.release();
    m_failed = true;
    m_busy = false;
    m_observer = nullptr;
    m_output = SocketOutput(nullptr); // nothing writes any more: m_failed
    m_stream->setHandler(nullptr);
    if (m_readPaused)
        m_stream->setReading(true); // the tunnel reads as it pleases
    return std::move(m_stream);
}

void UpstreamConnection::socketReadable()
{
    if (!m_busy) {
        // Idle in the pool: an upstream has nothing to say between requests. Not read, so not heard again
        // (the descriptor is level-triggered) until the pool closes the connection.
        setReading(false);
        if (!m_failed) {
            m_failed = true;
            emit idleConnectionLost(this);
        }
        return;
    }
    process();
}

// Parses what is buffered (all of it, or up to a pause); false when the connection failed. A null
// `data` tells the parser the upstream closed.
bool UpstreamConnection::execute(const char *data, qsizetype length)
{
    const llhttp_errno_t err =
        data ? llhttp_execute(&m_parser, data, size_t(length)) : llhttp_finish(&m_parser);
    if (data) {
        const char *stop = llhttp_get_error_pos(&m_parser);
        m_inPos += (err == HPE_PAUSED && stop) ? qsizetype(stop - data) : length;
    }
    if (m_failed)
        return false;
    if (err == HPE_PAUSED) {
        llhttp_resume(&m_parser);
        return true;
    }
    if (err != HPE_OK) {
        qCDebug(lcUpstream) << "bad response from" << m_nodeKey << llhttp_errno_name(err)
                            << llhttp_get_error_reason(&m_parser);
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
    bool ended = false;
    while (m_busy && !m_complete && !m_failed) {
        if (m_readPaused && !m_eof)
            break;
        if (m_inPos == m_inLen) {
            const qint64 n = m_stream->read(m_in.data(), m_in.size());
            ended = n < 0;
            if (n <= 0)
                break;
            m_inPos = 0;
            m_inLen = n;
            m_drained = n < m_in.size();
            if (m_readDeadline || m_headDelivered)
                m_readDeadline = HttpClock::nowMs() + m_timeouts.readMs;
        }
        if (!execute(m_in.constData() + m_inPos, m_inLen - m_inPos))
            break;
    }
    m_processing = false;
    if (ended && !m_eof) {
        handleEof(); // read() saw the end before (or instead of) socketClosed()
        return;
    }
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

void UpstreamConnection::socketClosed()
{
    if (m_failed)
        return;
    if (m_connecting) {
        // m_stream is null when a Qt socket fails within connectTo(): it says why on its own.
        switch (m_stream ? m_stream->connectError() : StreamSocket::ConnectError::Refused) {
        case StreamSocket::ConnectError::HostNotFound:
            fail(Failure::HostNotFound);
            break;
        case StreamSocket::ConnectError::Reset:
            fail(Failure::Reset);
            break;
        default:
            fail(Failure::Refused);
            break;
        }
        return;
    }
    if (!m_eof)
        handleEof();
}

void UpstreamConnection::fail(Failure failure)
{
    if (m_failed)
        return;
    m_failed = true;
    m_connecting = false;
    m_output.discard();
    const bool wasBusy = m_busy;
    m_busy = false;
    if (m_stream)
        m_stream->abort();
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
    if (m_stream->bytesToWrite() > 0 && now - m_output.lastProgress() > m_timeouts.sendMs) {
        fail(Failure::SendTimeout);
        return;
    }
    if (m_readDeadline && !m_readPaused && now > m_readDeadline)
        fail(Failure::ReadTimeout);
}

// --- parser callbacks ---------------------------------------------------------------------------

int UpstreamConnection::onMessageBegin(llhttp_t *p)
{
    UpstreamConnection *c = self(p);
    c->m_head.headers.clear();
    c->m_head.reason.resize(0);
    c->m_trailers.clear();
    c->m_fields.reset();
    c->m_inBody = false;
    c->m_interim = false;
    return 0;
}

int UpstreamConnection::onStatus(llhttp_t *p, const char *at, size_t length)
{
    HttpFormat::append(self(p)->m_head.reason, QByteArrayView(at, qsizetype(length)));
    return 0;
}

int UpstreamConnection::onHeadersComplete(llhttp_t *p)
{
    UpstreamConnection *c = self(p);
    HttpResponseHead &h = c->m_head;
    h.status = int(p->status_code);
    h.versionMinor = p->http_minor;
    if (h.status / 100 == 1 && h.status != 101) {
        c->m_interim = true; // 100 Continue, 103 Early Hints: not forwarded, the final response follows
        return 1;
    }
    h.hasBody = !(c->m_headRequest || h.status / 100 == 1 || h.status == 204 || h.status == 304);
    h.chunked = (p->flags & F_CHUNKED) != 0;
    h.contentLength = (p->flags & F_CONTENT_LENGTH) ? qint64(p->content_length) : -1;
    h.keepAlive = llhttp_should_keep_alive(p) != 0;
    c->m_inBody = true;
    c->m_headDelivered = true;
    if (c->m_readDeadline == 0)
        c->m_readDeadline = HttpClock::nowMs() + c->m_timeouts.readMs;
    if (c->m_observer)
        c->m_observer->upstreamResponseHead(h);
    if (c->m_failed)
        return -1;
    if (!h.hasBody)
        return 1;
    return (c->m_readPaused && !c->m_eof) ? HPE_PAUSED : 0;
}

int UpstreamConnection::onBody(llhttp_t *p, const char *at, size_t length)
{
    UpstreamConnection *c = self(p);
    if (c->m_observer)
        c->m_observer->upstreamResponseBody(QByteArrayView(at, qsizetype(length)));
    if (c->m_failed)
        return -1;
    return (c->m_readPaused && !c->m_eof) ? HPE_PAUSED : 0;
}

int UpstreamConnection::onMessageComplete(llhttp_t *p)
{
    UpstreamConnection *c = self(p);
    if (c->m_interim) {
        c->m_interim = false;
        return 0;
    }
    c->m_complete = true;
    c->m_keepAlive = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;
}
