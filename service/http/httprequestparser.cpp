#include "httprequestparser.h"

#include "httpauthority.h"
#include "httpformat.h"
#include "llhttpsettings.h"

#include <cstring>

namespace {

inline HttpRequestParser *self(llhttp_t *p)
{
    return static_cast<HttpRequestParser *>(p->data);
}

bool isTransferCodingChunked(QByteArrayView value)
{
    while (!value.isEmpty() && (value.front() == ' ' || value.front() == '\t'))
        value = value.sliced(1);
    while (!value.isEmpty() && (value.back() == ' ' || value.back() == '\t'))
        value.chop(1);
    return HttpHeaders::equalsIgnoringCase(value, "chunked");
}

} // namespace

HttpRequestParser::HttpRequestParser(const HttpLimits &limits)
    : m_limits(limits)
{
    m_fields.setDropUnderscoreNames(!m_limits.keepUnderscoreHeaders);
    llhttpStart(&m_parser, this);
}

qsizetype HttpRequestParser::parse(const char *data, qsizetype size)
{
    if (m_status == Status::Failed)
        return 0;
    if (llhttp_get_errno(&m_parser) == HPE_PAUSED)
        llhttp_resume(&m_parser);
    m_status = Status::NeedMore;
    m_pauseRequested = false;
    m_headDone = false;
    m_messageDone = false;

    // A head is cut off at the limit before llhttp sees more of it: however long the client goes on,
    // no more than the limit is ever read into one.
    const bool headPhase = !m_inBody;
    qsizetype feed = size;
    if (headPhase)
        feed = qMin<qsizetype>(size, qsizetype(m_limits.maxHeaderBytes) - m_headBytes + 1);
    const llhttp_errno_t err = llhttp_execute(&m_parser, data, size_t(feed));
    qsizetype used = feed;
    if (err != HPE_OK && err != HPE_USER && llhttp_get_error_pos(&m_parser))
        used = qsizetype(llhttp_get_error_pos(&m_parser) - data);
    // Folding is looked for in every byte of a head llhttp consumed, whatever else it refused there:
    // the verdict must not depend on where TCP cut the bytes.
    if (headPhase && !scanForFolding(data, used))
        return used;
    if (m_status == Status::Failed)
        return used;

    if (headPhase) {
        const bool tooLarge = m_headBytes + used > m_limits.maxHeaderBytes;
        m_headBytes = (m_headDone || m_messageDone) ? 0 : m_headBytes + int(used);
        if (tooLarge) {
            setError(431, "request head too large");
            return used;
        }
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
        setError(400, llhttp_get_error_reason(&m_parser));
        return used;
    }
    if (m_messageDone)
        m_status = Status::MessageComplete;
    else if (m_headDone)
        m_status = Status::HeadComplete;
    else if (err == HPE_PAUSED)
        m_status = Status::Paused;
    return used;
}

void HttpRequestParser::fail(int status, const char *reason)
{
    setError(status, reason);
}

int HttpRequestParser::setError(int status, const char *reason)
{
    if (m_status != Status::Failed) {
        m_status = Status::Failed;
        m_errorStatus = status;
        m_errorReason = reason ? reason : "";
    }
    return -1;
}

bool HttpRequestParser::reject(int status, const char *reason)
{
    setError(status, reason);
    return false;
}

// Obsolete line folding (a field line that starts with white space) is accepted by llhttp, and other
// parsers join or split such lines differently, which is what smuggling feeds on: refused in the head.
bool HttpRequestParser::scanForFolding(const char *data, qsizetype size)
{
    if (size <= 0)
        return true;
    const auto folded = [this] {
        m_status = Status::Failed; // overrides what llhttp or a check said about the same bytes
        m_errorStatus = 400;
        m_errorReason = "obsolete line folding";
        return false;
    };
    if (m_prevHeadByte == '\n' && (data[0] == ' ' || data[0] == '\t'))
        return folded();
    const char *p = data;
    const char *end = data + size;
    while ((p = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)))) != nullptr) {
        ++p;
        if (p < end && (*p == ' ' || *p == '\t'))
            return folded();
    }
    // The head of the next message starts afresh.
    m_prevHeadByte = (m_messageDone || m_headDone) ? '\0' : end[-1];
    return true;
}

// --- llhttp callbacks ------------------------------------------------------------------------------

void HttpRequestParser::beginMessage()
{
    HttpRequestHead &h = m_head;
    h.method = {};
    h.headers.clear();
    h.target.resize(0);
    h.authority.resize(0);
    h.path = {};
    h.query = {};
    h.host = {};
    h.contentLength = -1;
    h.chunked = false;
    h.keepAlive = true;
    h.expectContinue = false;
    h.isHead = false;
    h.upgrade = false;
    m_fields.reset();
    m_inBody = false;
    m_bodyBytes = 0;
}

int HttpRequestParser::onMessageBegin(llhttp_t *p)
{
    self(p)->beginMessage();
    return 0;
}

int HttpRequestParser::onUrl(llhttp_t *p, const char *at, size_t length)
{
    HttpFormat::append(self(p)->m_head.target, QByteArrayView(at, qsizetype(length)));
    return 0;
}

int HttpRequestParser::onHeadersComplete(llhttp_t *p)
{
    HttpRequestParser *c = self(p);
    if (!c->validateHead())
        return -1;
    c->m_inBody = true;
    c->m_headDone = true;
    // The parser treats every request as a plain one: llhttp would otherwise stop for good after an
    // upgrade request (HPE_PAUSED_UPGRADE). A handler that switches protocols does so once the message is
    // complete, and takes the bytes after it, which this parser has not consumed (it pauses at the end of
    // each message); one that does not answers the plain request, and the next bytes are the next request.
    c->m_head.upgrade = p->upgrade != 0;
    p->upgrade = 0;
    // The caller acts on the head (dispatch, 100 Continue, buffering) before the body is read or the
    // message completes; a bodyless message completes on the next parse(), with or without bytes.
    return HPE_PAUSED;
}

int HttpRequestParser::onBody(llhttp_t *p, const char *at, size_t length)
{
    HttpRequestParser *c = self(p);
    c->m_bodyBytes += qint64(length);
    if (c->m_limits.maxBodyBytes > 0 && c->m_bodyBytes > c->m_limits.maxBodyBytes)
        return c->setError(413, "request body too large");
    if (c->m_sink)
        c->m_sink->parsedBody(QByteArrayView(at, qsizetype(length)));
    if (c->m_status == Status::Failed)
        return -1;
    return c->m_pauseRequested ? HPE_PAUSED : 0;
}

int HttpRequestParser::onMessageComplete(llhttp_t *p)
{
    HttpRequestParser *c = self(p);
    c->m_inBody = false;
    c->m_messageDone = true;
    // The next pipelined request waits until the caller has answered this one.
    return HPE_PAUSED;
}

// --- head validation ---------------------------------------------------------------------------------

bool HttpRequestParser::validateHead()
{
    int hostCount = 0;
    if (!checkVersionAndMethod() || !checkFields(&hostCount) || !checkFraming() || !resolveTarget(hostCount))
        return false;
    const QByteArrayView expect = m_head.headers.value("expect");
    m_head.expectContinue =
        m_head.versionMinor >= 1 && HttpHeaders::equalsIgnoringCase(expect, "100-continue");
    return true;
}

bool HttpRequestParser::checkVersionAndMethod()
{
    HttpRequestHead &h = m_head;
    if (m_parser.http_major != 1)
        return reject(505, "HTTP version not supported");
    h.versionMajor = m_parser.http_major;
    h.versionMinor = m_parser.http_minor;
    const auto method = llhttp_method_t(m_parser.method);
    h.method = QByteArrayView(llhttp_method_name(method));
    if (method == HTTP_CONNECT)
        return reject(405, "CONNECT is not proxied");
    h.isHead = method == HTTP_HEAD;
    h.keepAlive = llhttp_should_keep_alive(&m_parser) != 0;
    return true;
}

// llhttp has checked that names are tokens and values hold no control characters.
bool HttpRequestParser::checkFields(int *hostCount)
{
    const HttpHeaders &headers = m_head.headers;
    int transferEncodings = 0;
    for (int i = 0; i < headers.size(); ++i) {
        const QByteArrayView name = headers.name(i);
        if (HttpHeaders::equalsIgnoringCase(name, "host")) {
            ++*hostCount;
        } else if (HttpHeaders::equalsIgnoringCase(name, "transfer-encoding")) {
            ++transferEncodings;
            if (!isTransferCodingChunked(headers.value(i)) && m_head.versionMinor >= 1)
                return reject(501, "transfer coding other than chunked");
        }
    }
    if (*hostCount > 1)
        return reject(400, "more than one Host field");
    if (transferEncodings > 1)
        return reject(400, "more than one Transfer-Encoding field");
    if (transferEncodings > 0 && m_head.versionMinor == 0)
        return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
    return true;
}

bool HttpRequestParser::checkFraming()
{
    HttpRequestHead &h = m_head;
    h.chunked = (m_parser.flags & F_CHUNKED) != 0;
    const bool hasLength = (m_parser.flags & F_CONTENT_LENGTH) != 0;
    if (h.chunked && hasLength)
        return reject(400, "Content-Length with Transfer-Encoding");
    h.contentLength = hasLength ? qint64(m_parser.content_length) : -1;
    if (h.contentLength >= 0 && m_limits.maxBodyBytes > 0 && h.contentLength > m_limits.maxBodyBytes)
        return reject(413, "request body too large");
    return true;
}

// Origin form, "*", or absolute form whose authority overrides Host (RFC 9112 section 3.2.2).
bool HttpRequestParser::resolveTarget(int hostCount)
{
    HttpRequestHead &h = m_head;
    if (h.target.isEmpty())
        return reject(400, "empty request target");
    if (h.target.front() != '/' && h.target != "*") {
        const QByteArrayView target(h.target);
        const qsizetype schemeEnd = target.indexOf("://");
        const QByteArrayView scheme = schemeEnd > 0 ? target.first(schemeEnd) : QByteArrayView();
        if (!HttpHeaders::equalsIgnoringCase(scheme, "http") &&
            !HttpHeaders::equalsIgnoringCase(scheme, "https"))
            return reject(400, "request target is neither origin nor absolute form");
        const QByteArrayView rest = target.sliced(schemeEnd + 3);
        qsizetype end = 0;
        while (end < rest.size() && rest[end] != '/' && rest[end] != '?')
            ++end;
        QByteArray origin;
        if (end == rest.size() || rest[end] == '?')
            origin.append('/');
        origin.append(rest.sliced(end));
        h.authority.append(rest.first(end));
        h.target = origin;
    } else if (hostCount == 1) {
        HttpFormat::append(h.authority, h.headers.value("host"));
    } else if (h.versionMinor >= 1) {
        return reject(400, "no Host field");
    }
    const qsizetype q = h.target.indexOf('?');
    h.path = q < 0 ? QByteArrayView(h.target) : QByteArrayView(h.target).first(q);
    h.query = q < 0 ? QByteArrayView() : QByteArrayView(h.target).sliced(q + 1);
    if (h.authority.isEmpty() && hostCount == 0)
        return true; // HTTP/1.0 without Host
    QByteArrayView host;
    QByteArrayView port;
    const char *why = "";
    if (!HttpAuthority::split(h.authority, &host, &port, &why))
        return reject(400, why);
    h.host = host;
    return true;
}
