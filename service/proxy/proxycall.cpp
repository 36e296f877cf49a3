#include "proxycall.h"

#include "hashkey.h"
#include "httpformat.h"
#include "proxyheaders.h"
#include "upstreamhealth.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcProxy, "holdfast.proxy", QtInfoMsg)

namespace {

// RFC 9110's idempotent methods: sending one twice means no more than sending it once.
bool isIdempotent(QByteArrayView method)
{
    switch (method.size()) {
    case 3:
        return method == "GET" || method == "PUT";
    case 4:
        return method == "HEAD";
    case 5:
        return method == "TRACE";
    case 6:
        return method == "DELETE";
    case 7:
        return method == "OPTIONS";
    default:
        return false;
    }
}

int statusFor(UpstreamConnection::Failure failure)
{
    return UpstreamConnection::isTimeout(failure) ? 504 : 502;
}

int msFromSeconds(double seconds)
{
    if (seconds <= 0)
        return 60000;
    return int(qMin(seconds * 1000.0, 24.0 * 3600 * 1000));
}

} // namespace

ProxyCall::ProxyCall(ProxyHandler *handler)
    : m_handler(handler)
{}

void ProxyCall::start(HttpExchange *exchange, ProxyHandler::Generation *generation, const RouteTarget *target,
                      ProxyHandler::UpstreamEntry *entry, qint64 startMicros, const Routed &routed)
{
    m_exchange = exchange;
    m_request = &exchange->request();
    m_generation = generation;
    m_target = target;
    m_entry = entry;
    m_connection = nullptr;
    m_active = true;
    m_triedMask = 0;
    m_tries = 0;
    m_node = -1;
    m_status = 0;
    m_startMicros = startMicros;
    m_upstreamStartMicros = -1;
    m_requestBytes = 0;
    m_responseBytes = 0;
    m_nodeActive = false;
    m_connectionReused = false;
    m_requestSent = false;
    m_clientDone = false;
    m_upstreamDone = false;
    m_replayable = true;
    m_buffering = false;
    m_responseStarted = false;
    // Only a bodyless GET can be a WebSocket handshake (RFC 6455 section 4.1).
    const HttpRequestHead &asked = exchange->request();
    m_upgrade = target->websocket && asked.upgrade && asked.method == "GET" && !asked.hasBody() &&
                ProxyHeaders::asksForWebSocket(asked.headers);
    // Emptied keeping their storage, each only when it holds something (a resize is a call into Qt);
    // the node list usually shares the one node's key.
    if (!m_replay.isEmpty())
        m_replay.resize(0);
    m_upstreamAddrs = QByteArray();
    if (!m_upstreamStatuses.isEmpty())
        m_upstreamStatuses.resize(0);
    if (!m_forwardTarget.isEmpty())
        m_forwardTarget.resize(0);
    if (!routed.forwardPath.isEmpty()) {
        m_forwardTarget.append(routed.forwardPath.data(), routed.forwardPath.size());
        const qsizetype query = exchange->request().target.indexOf('?');
        if (query >= 0)
            m_forwardTarget.append(QByteArrayView(exchange->request().target).sliced(query));
    }
    // Shared with the request's own text unless a trusted proxy named another client.
    const HttpRequestHead &head = exchange->request();
    if (routed.clientAddress.data() == head.peerAddressText.constData())
        m_clientAddress = head.peerAddressText;
    else
        m_clientAddress = routed.clientAddress.toByteArray();

    const Upstream &upstream = *entry->upstream;
    m_maxTries = upstream.retries < 0 ? int(upstream.nodes.size()) : upstream.retries + 1;
    if (m_maxTries < 1)
        m_maxTries = 1;

    const HttpRequestHead &request = exchange->request();
    m_hashKey = {};
    if (upstream.type == Upstream::Type::ConsistentHash) {
        HashKeyRequest keyRequest;
        keyRequest.remoteAddr = m_clientAddress;
        keyRequest.host = request.host;
        keyRequest.serverName = request.host;
        keyRequest.requestUri = request.target;
        keyRequest.path = routed.path;
        keyRequest.method = request.method;
        const HttpHeaders *headers = &request.headers;
        keyRequest.headerLookup = [headers](QByteArrayView name) { return headers->value(name); };
        m_hashKey = HashKey::compute(upstream, keyRequest, &m_hashScratch);
    }

    exchange->setObserver(this);
    const qint64 bufferLimit = m_handler->policy().requestBufferBytes;
    if (bufferLimit > 0 && request.hasBody() && (request.chunked || request.contentLength <= bufferLimit)) {
        // A slow sender must not hold an upstream connection: its body comes first, whole.
        m_buffering = true;
        exchange->resumeRequestBody(); // may deliver body and completion before it returns
        return;
    }
    // Nothing of the body is read until an upstream connection can take it.
    exchange->pauseRequestBody();
    tryNext();
}

void ProxyCall::stopBuffering()
{
    m_buffering = false;
    m_exchange->pauseRequestBody();
    tryNext();
}

void ProxyCall::tryNext()
{
    const Upstream &upstream = *m_entry->upstream;
    const int node = m_entry->balancer->pick(m_hashKey, m_triedMask);
    if (node < 0 || node >= int(upstream.nodes.size())) {
        failClient(503);
        return;
    }
    if (m_tries > 0)
        m_handler->metrics().upstreamRetried(m_entry->key);
    ++m_tries;
    m_node = node;
    if (node < 64)
        m_triedMask |= quint64(1) << node;
    m_entry->balancer->requestStarted(node);
    m_nodeActive = true;
    m_requestSent = false;
    m_upstreamDone = false;
    if (m_upstreamStartMicros < 0)
        m_upstreamStartMicros = ProxyHandler::nowMicros();
    if (!m_upstreamAddrs.isEmpty())
        m_upstreamAddrs.append(", ");
    m_upstreamAddrs.append(m_entry->nodeKeys[size_t(node)]);

    UpstreamConnection::Timeouts timeouts;
    timeouts.connectMs = msFromSeconds(upstream.timeout.connect);
    timeouts.sendMs = msFromSeconds(upstream.timeout.send);
    timeouts.readMs = msFromSeconds(upstream.timeout.read);
    bool reused = false;
    m_connection = m_handler->pool().acquire(m_entry->nodeKeys[size_t(node)], upstream.nodes[node], &reused);
    m_connectionReused = reused;
    m_connection->setObserver(this);
    m_connection->setTimeouts(timeouts);
    if (reused)
        sendRequest();
    else
        m_connection->connectToNode(); // may report a failure before it returns: nothing may follow
}

void ProxyCall::upstreamConnected()
{
    sendRequest();
}

void ProxyCall::sendRequest()
{
    if (!m_exchange || !m_connection)
        return;
    const HttpRequestHead &request = m_exchange->request();
    ProxyHeaders::writeRequestHead(m_head, m_forwardedFor, *m_request, *m_entry->upstream,
                                   m_entry->upstream->nodes[m_node],
                                   {m_forwardTarget, m_clientAddress, m_upgrade});
    m_connection->beginRequest(request.isHead);
    // Head and what is known of the body leave in one send.
    m_connection->holdOutput();
    m_connection->write(m_head.view());
    m_requestSent = true;
    if (!m_replay.isEmpty())
        writeUpstreamBody(m_replay);
    if (m_clientDone) {
        endUpstreamBody(); // releases the held output
        return;
    }
    m_connection->releaseOutput();
    if (!m_exchange || !m_connection)
        return;
    m_exchange->resumeRequestBody(); // may deliver body and completion before it returns
}

void ProxyCall::writeUpstreamBody(QByteArrayView data)
{
    if (m_request->chunked) {
        char line[20];
        m_connection->write(HttpFormat::chunkSizeLine(line, data.size()));
        m_connection->write(data);
        m_connection->write("\r\n");
    } else {
        m_connection->write(data);
    }
}

void ProxyCall::endUpstreamBody()
{
    if (m_upstreamDone)
        return;
    if (m_request->chunked)
        m_connection->write("0\r\n\r\n");
    m_upstreamDone = true;
    m_connection->requestSent();
}

void ProxyCall::requestBody(QByteArrayView data)
{
    m_requestBytes += data.size();
    if (m_buffering) {
        // Kept whole: nothing of it has gone anywhere yet.
        m_replay.append(data.data(), data.size());
        if (m_replay.size() > ReplayLimit)
            m_replayable = false;
        if (m_replay.size() > m_handler->policy().requestBufferBytes)
            stopBuffering(); // a chunked body past the limit streams from here on
        return;
    }
    if (m_replayable) {
        if (m_replay.size() + data.size() <= ReplayLimit)
            m_replay.append(data.data(), data.size());
        else
            m_replayable = false;
    }
    if (!m_connection || !m_requestSent)
        return; // kept in the replay buffer for the next try
    // A chunk's size line, data and CRLF leave in one send.
    m_connection->holdOutput();
    writeUpstreamBody(data);
    m_connection->releaseOutput();
    if (!m_connection || !m_exchange)
        return;
    if (m_connection->outputCongested())
        m_exchange->pauseRequestBody();
}

void ProxyCall::requestComplete()
{
    m_clientDone = true;
    if (m_buffering) {
        m_buffering = false;
        tryNext();
        return;
    }
    if (m_connection && m_requestSent)
        endUpstreamBody();
}

void ProxyCall::upstreamWritable()
{
    if (m_exchange && !m_clientDone)
        m_exchange->resumeRequestBody();
}

void ProxyCall::upstreamResponseHead(const HttpResponseHead &head)
{
    if (!m_exchange)
        return;
    m_responseStarted = true;
    m_status = head.status;
    if (!m_upstreamStatuses.isEmpty())
        m_upstreamStatuses.append(", ");
    HttpFormat::appendNumber(m_upstreamStatuses, head.status);
    if (m_entry->health)
        m_entry->health->report(m_node, UpstreamHealth::Outcome::httpStatus(head.status));

    ProxyHeaders::copyResponseFields(head, &m_responseHeaders);
    if (head.status == 101)
        return; // answered in upstreamResponseComplete(), which follows at once (a 101 has no body)
    qint64 length = -1;
    if (!head.chunked && head.contentLength >= 0)
        length = head.contentLength;
    const QByteArrayView reason =
        head.reason.isEmpty() ? HttpExchange::reasonPhrase(head.status) : QByteArrayView(head.reason);
    // The head waits for the body read with it: one send to the client. upstreamReadDone() or
    // finish() lets it go.
    m_exchange->holdOutput();
    m_exchange->writeHead(head.status, reason, m_responseHeaders, length);
    // Written: the upstream connection's bytes are let go before it parses its next response into them.
    m_responseHeaders.clear();
}

void ProxyCall::upstreamResponseBody(QByteArrayView data)
{
    if (!m_exchange)
        return;
    m_responseBytes += data.size();
    m_exchange->writeBody(data);
    if (m_exchange && m_connection && m_exchange->outputCongested())
        m_connection->pauseReading();
}

void ProxyCall::responseWritable()
{
    if (m_connection)
        m_connection->resumeReading();
}

void ProxyCall::upstreamResponseComplete(const HttpHeaders &trailers)
{
    if (m_status == 101) {
        startTunnel();
        return;
    }
    UpstreamConnection *connection = std::exchange(m_connection, nullptr);
    if (m_upstreamDone)
        m_handler->pool().release(connection, m_entry->upstream->keepalive);
    else
        m_handler->pool().discard(connection); // the upstream answered before taking the whole body
    releaseNode();
    const int status = m_status;
    if (HttpExchange *exchange = std::exchange(m_exchange, nullptr)) {
        // Finishing may find the client gone; this call is over either way, so it hears nothing of it.
        exchange->setObserver(nullptr);
        exchange->finish(trailers.isEmpty() ? nullptr : &trailers);
    }
    complete(status);
}

void ProxyCall::startTunnel()
{
    UpstreamConnection *connection = std::exchange(m_connection, nullptr);
    releaseNode();
    if (!m_upgrade || !m_exchange) {
        // A switch nobody asked for (the Upgrade field was not forwarded): the node broke the protocol.
        m_handler->pool().discard(connection);
        qCDebug(lcProxy) << "upstream" << m_entry->key << "answered 101 to a request that was not upgraded";
        m_responseStarted = false;
        failClient(502);
        return;
    }
    QByteArray fromUpstream;
    std::unique_ptr<StreamSocket> socket = connection->takeSocket(&fromUpstream);
    m_handler->pool().discard(connection);

    SocketTunnel::Settings settings;
    // As nginx's proxy_read_timeout for an upgraded connection: the upstream's read timeout is the most
    // a tunnel may stay silent both ways.
    settings.idleTimeoutMs = msFromSeconds(m_entry->upstream->timeout.read);
    const QString routeId = m_target->route ? m_target->route->id : QString();
    AccessLog::Entry entry = ProxyHandler::logEntry(*m_request, m_clientAddress, routeId, 101, 0);
    entry.upstreamAddr = m_upstreamAddrs;
    entry.upstreamStatus = m_upstreamStatuses;
    const QString upstreamKey = m_entry->key;
    const qint64 startMicros = m_startMicros;
    const qint64 upstreamStartMicros = m_upstreamStartMicros;

    HttpExchange *exchange = std::exchange(m_exchange, nullptr);
    exchange->setObserver(nullptr);
    SocketTunnel *tunnel =
        exchange->switchProtocols(m_responseHeaders, std::move(socket), fromUpstream, settings);
    if (!tunnel) {
        complete(499); // the client went away meanwhile
        return;
    }
    ProxyHandler *handler = m_handler;
    handler->metrics().tunnelOpened();
    QObject::connect(tunnel, &SocketTunnel::finished, tunnel, [=]() mutable {
        const SocketTunnel::Totals &totals = tunnel->totals();
        const qint64 now = ProxyHandler::nowMicros();
        handler->metrics().tunnelClosed();
        handler->metrics().recordRequest(routeId, upstreamKey, 101, now - startMicros,
                                         now - upstreamStartMicros, totals.clientToUpstream,
                                         totals.upstreamToClient);
        AccessLog::Buffer *log = handler->accessLog();
        if (log && log->isEnabled()) {
            entry.timeMsecs = 0;
            entry.requestTimeMicros = now - startMicros;
            entry.upstreamResponseTimeMicros = now - upstreamStartMicros;
            entry.requestLength = totals.clientToUpstream;
            entry.bodyBytesSent = totals.upstreamToClient;
            entry.bytesSent = totals.upstreamToClient;
            log->append(entry);
        }
    });
    complete(101, false);
}

void ProxyCall::upstreamFailed(UpstreamConnection::Failure failure)
{
    UpstreamConnection *connection = std::exchange(m_connection, nullptr);
    if (connection)
        m_handler->pool().discard(connection);
    const bool stale =
        m_connectionReused && failure == UpstreamConnection::Failure::Reset && !m_responseStarted;
    if (m_entry->health && !stale) {
        m_entry->health->report(m_node, UpstreamConnection::isTimeout(failure)
                                            ? UpstreamHealth::Outcome::timeout()
                                            : UpstreamHealth::Outcome::tcpFailure());
    }
    if (failure == UpstreamConnection::Failure::Refused ||
        failure == UpstreamConnection::Failure::ConnectTimeout ||
        failure == UpstreamConnection::Failure::HostNotFound)
        m_handler->metrics().upstreamConnectFailed(m_entry->key);
    releaseNode();
    const int status = statusFor(failure);
    qCDebug(lcProxy) << "upstream" << m_entry->key << m_entry->nodeKeys[size_t(m_node)]
                     << "failed:" << int(failure);
    if (!m_exchange) {
        complete(status);
        return;
    }
    if (m_responseStarted) {
        // Part of the response is with the client: all that is left is to cut it short.
        HttpExchange *exchange = std::exchange(m_exchange, nullptr);
        exchange->setObserver(nullptr);
        exchange->abort();
        complete(status);
        return;
    }
    if (!m_upstreamStatuses.isEmpty())
        m_upstreamStatuses.append(", ");
    HttpFormat::appendNumber(m_upstreamStatuses, status);

    const double retryTimeout = m_entry->upstream->retryTimeout;
    const bool inTime =
        retryTimeout <= 0 || (ProxyHandler::nowMicros() - m_startMicros) < qint64(retryTimeout * 1e6);
    // A request the node may have acted on is sent again only when that is harmless (README: retries).
    const bool mayRepeat =
        !m_requestSent || isIdempotent(m_request->method) || m_entry->upstream->retryNonIdempotent;
    if (m_replayable && inTime && mayRepeat && (stale || m_tries < m_maxTries)) {
        if (stale) {
            // A pooled connection the upstream had closed meanwhile: not the node's fault, not a try.
            --m_tries;
            if (m_node < 64)
                m_triedMask &= ~(quint64(1) << m_node);
        }
        m_exchange->pauseRequestBody();
        tryNext();
        return;
    }
    failClient(status);
}

void ProxyCall::upstreamReadDone()
{
    if (m_exchange)
        m_exchange->releaseOutput();
}

void ProxyCall::exchangeAborted()
{
    if (!m_active)
        return;
    m_exchange = nullptr;
    if (UpstreamConnection *connection = std::exchange(m_connection, nullptr))
        m_handler->pool().discard(connection);
    releaseNode();
    complete(m_responseStarted ? m_status : 499); // nginx's "client closed request"
}

void ProxyCall::releaseNode()
{
    if (m_nodeActive) {
        m_nodeActive = false;
        m_entry->balancer->requestFinished(m_node);
    }
}

void ProxyCall::failClient(int status)
{
    m_status = status;
    HttpExchange *exchange = std::exchange(m_exchange, nullptr);
    if (exchange) {
        exchange->setObserver(nullptr);
        if (exchange->headWritten())
            exchange->abort();
        else
            exchange->respondError(status);
    }
    complete(status);
}

void ProxyCall::complete(int status, bool record)
{
    if (!std::exchange(m_active, false))
        return; // ended already, by a callback from deeper in the same stack
    ProxyHandler *handler = m_handler;
    const qint64 now = ProxyHandler::nowMicros();
    const QString &routeId = m_target->route ? m_target->route->id : QString();
    if (record) {
        handler->metrics().recordRequest(routeId, m_entry->key, status, now - m_startMicros,
                                         m_upstreamStartMicros < 0 ? -1 : now - m_upstreamStartMicros,
                                         m_requestBytes, m_responseBytes);
        AccessLog::Buffer *log = handler->accessLog();
        if (log && log->isEnabled()) {
            AccessLog::Entry entry =
                ProxyHandler::logEntry(*m_request, m_clientAddress, routeId, status, now - m_startMicros);
            entry.bodyBytesSent = m_responseBytes;
            entry.requestLength = m_requestBytes;
            entry.upstreamAddr = m_upstreamAddrs;
            entry.upstreamStatus = m_upstreamStatuses;
            entry.upstreamResponseTimeMicros = m_upstreamStartMicros < 0 ? -1 : now - m_upstreamStartMicros;
            log->append(entry);
        }
    }
    m_entry = nullptr;
    m_request = nullptr;
    m_target = nullptr;
    handler->callFinished(this, std::exchange(m_generation, nullptr));
}
