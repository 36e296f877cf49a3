#include "proxycall.h"

#include "connectionlist.h"
#include "hashkey.h"
#include "httpformat.h"
#include "upstreamhealth.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcProxy, "holdfast.proxy", QtInfoMsg)

namespace {

enum class Field
{
    Other,
    Hop, // hop-by-hop: never forwarded
    Host,
    ContentLength,
    Expect,
    XForwardedFor,
    XForwarded, // X-Forwarded-Proto, -Host, -Port, X-Real-IP: set by the proxy
};

// Classifies a field name by its length first, so most names cost one switch and no comparison.
Field classify(QByteArrayView name)
{
    const auto is = [&](QByteArrayView lower) { return HttpHeaders::equalsIgnoringCase(name, lower); };
    switch (name.size()) {
    case 2:
        return is("te") ? Field::Hop : Field::Other;
    case 4:
        return is("host") ? Field::Host : Field::Other;
    case 6:
        return is("expect") ? Field::Expect : Field::Other;
    case 7:
        return (is("trailer") || is("upgrade")) ? Field::Hop : Field::Other;
    case 9:
        return is("x-real-ip") ? Field::XForwarded : Field::Other;
    case 10:
        return (is("connection") || is("keep-alive")) ? Field::Hop : Field::Other;
    case 14:
        return is("content-length") ? Field::ContentLength : Field::Other;
    case 15:
        return is("x-forwarded-for") ? Field::XForwardedFor : Field::Other;
    case 16:
        if (is("proxy-connection"))
            return Field::Hop;
        return (is("x-forwarded-host") || is("x-forwarded-port")) ? Field::XForwarded : Field::Other;
    case 17:
        if (is("transfer-encoding"))
            return Field::Hop;
        return is("x-forwarded-proto") ? Field::XForwarded : Field::Other;
    default:
        return Field::Other;
    }
}

void appendField(QByteArray &out, QByteArrayView name, QByteArrayView value)
{
    out.append(name.data(), name.size());
    out.append(": ", 2);
    out.append(value.data(), value.size());
    out.append("\r\n", 2);
}

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

// "Upgrade: websocket" (a token of the list, in any case): the only protocol tunnelled.
bool asksForWebSocket(const HttpHeaders &headers)
{
    const QByteArrayView upgrade = headers.value("upgrade");
    qsizetype start = 0;
    while (start <= upgrade.size()) {
        qsizetype end = upgrade.indexOf(',', start);
        if (end < 0)
            end = upgrade.size();
        QByteArrayView token = upgrade.sliced(start, end - start).trimmed();
        if (HttpHeaders::equalsIgnoringCase(token, "websocket"))
            return true;
        start = end + 1;
    }
    return false;
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
                asksForWebSocket(asked.headers);
    m_replay.resize(0);
    m_upstreamAddrs.resize(0);
    m_upstreamStatuses.resize(0);
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

void ProxyCall::buildRequestHead(QByteArray &out)
{
    const HttpRequestHead &request = *m_request;
    const Upstream &upstream = *m_entry->upstream;
    const UpstreamNode &node = upstream.nodes[m_node];
    out.resize(0);
    out.append(request.method.data(), request.method.size());
    out.append(' ');
    out.append(m_forwardTarget.isEmpty() ? request.target : m_forwardTarget);
    out.append(" HTTP/1.1\r\nHost: ");
    switch (upstream.passHost) {
    case Upstream::PassHost::Pass:
        if (!request.authority.isEmpty()) {
            out.append(request.authority);
            break;
        }
        Q_FALLTHROUGH();
    case Upstream::PassHost::Node:
        if (node.host.contains(':')) {
            out.append('[');
            out.append(node.host);
            out.append(']');
        } else {
            out.append(node.host);
        }
        if (node.port != 80) {
            out.append(':');
            HttpFormat::appendNumber(out, node.port);
        }
        break;
    case Upstream::PassHost::Rewrite:
        out.append(upstream.upstreamHost);
        break;
    }
    out.append("\r\n");

    const HttpHeaders &headers = request.headers;
    // Fields the Connection header names are hop-by-hop too ("Connection: close, X-Foo").
    const ConnectionList connection(headers.value("connection"));
    // Every X-Forwarded-For field of the client joins one list, the peer appended (nginx's
    // $proxy_add_x_forwarded_for): an upstream reading only the first or the last field sees the same.
    QByteArray &forwardedFor = m_forwardedFor;
    forwardedFor.resize(0);
    for (int i = 0; i < headers.size(); ++i) {
        const QByteArrayView name = headers.name(i);
        switch (classify(name)) {
        case Field::Other:
            if (connection.contains(name))
                break;
            appendField(out, name, headers.value(i));
            break;
        case Field::XForwardedFor:
            if (!headers.value(i).isEmpty()) {
                forwardedFor.append(headers.value(i).data(), headers.value(i).size());
                forwardedFor.append(", ", 2);
            }
            break;
        case Field::Hop:
        case Field::Host:
        case Field::ContentLength:
        case Field::Expect:
        case Field::XForwarded:
            break;
        }
    }
    out.append("X-Forwarded-For: ");
    out.append(forwardedFor);
    out.append(request.peerAddressText);
    out.append("\r\nX-Real-IP: ");
    out.append(m_clientAddress);
    out.append("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ");
    HttpFormat::appendNumber(out, request.localPort);
    out.append("\r\n");
    if (!request.authority.isEmpty())
        appendField(out, "X-Forwarded-Host", request.authority);
    if (m_upgrade) {
        // nginx's proxy_set_header Upgrade $http_upgrade; Connection "upgrade".
        appendField(out, "Upgrade", headers.value("upgrade"));
        out.append("Connection: upgrade\r\n");
    }
    if (request.chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    } else if (request.contentLength >= 0) {
        out.append("Content-Length: ");
        HttpFormat::appendNumber(out, request.contentLength);
        out.append("\r\n");
    }
    out.append("\r\n");
}

void ProxyCall::sendRequest()
{
    if (!m_exchange || !m_connection)
        return;
    const HttpRequestHead &request = m_exchange->request();
    buildRequestHead(m_head);
    m_connection->beginRequest(request.isHead);
    // Head and what is known of the body leave in one send.
    m_connection->holdOutput();
    m_connection->write(m_head);
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

    m_responseHeaders.clear();
    if (head.status == 101) {
        // Answered in upstreamResponseComplete(), which follows at once (a 101 has no body).
        for (int i = 0; i < head.headers.size(); ++i) {
            const QByteArrayView name = head.headers.name(i);
            const Field field = classify(name);
            if (field != Field::Hop && field != Field::ContentLength)
                m_responseHeaders.append(name, head.headers.value(i));
        }
        m_responseHeaders.append("Upgrade", head.headers.value("upgrade"));
        m_responseHeaders.append("Connection", "upgrade");
        return;
    }
    const ConnectionList connection(head.headers.value("connection"));
    for (int i = 0; i < head.headers.size(); ++i) {
        const QByteArrayView name = head.headers.name(i);
        const Field field = classify(name);
        if (field == Field::Hop || field == Field::ContentLength || connection.contains(name))
            continue;
        m_responseHeaders.append(name, head.headers.value(i));
    }
    qint64 length = -1;
    if (!head.chunked && head.contentLength >= 0)
        length = head.contentLength;
    const QByteArrayView reason =
        head.reason.isEmpty() ? HttpExchange::reasonPhrase(head.status) : QByteArrayView(head.reason);
    // The head waits for the body read with it: one send to the client. upstreamReadDone() or
    // finish() lets it go.
    m_exchange->holdOutput();
    m_exchange->writeHead(head.status, reason, m_responseHeaders, length);
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
