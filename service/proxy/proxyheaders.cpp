#include "proxyheaders.h"

#include "configobjects.h"
#include "connectionlist.h"
#include "httpformat.h"
#include "httprequesthead.h"
#include "httpresponsehead.h"

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

} // namespace

void ProxyHeaders::writeRequestHead(ByteBuffer &out, QByteArray &forwardedFor, const HttpRequestHead &request,
                                    const Upstream &upstream, const UpstreamNode &node,
                                    const Forwarding &forwarding)
{
    out.clear();
    out.append(request.method);
    out.append(' ');
    out.append(forwarding.target.isEmpty() ? QByteArrayView(request.target) : forwarding.target);
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
            out.appendNumber(node.port);
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
    forwardedFor.resize(0);
    for (int i = 0; i < headers.size(); ++i) {
        const QByteArrayView name = headers.name(i);
        switch (classify(name)) {
        case Field::Other:
            if (connection.contains(name))
                break;
            HttpHeaders::serializeField(out, name, headers.value(i));
            break;
        case Field::XForwardedFor:
            if (!headers.value(i).isEmpty()) {
                HttpFormat::append(forwardedFor, headers.value(i));
                HttpFormat::append(forwardedFor, ", ");
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
    out.append(forwarding.clientAddress);
    out.append("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ");
    out.appendNumber(request.localPort);
    out.append("\r\n");
    if (!request.authority.isEmpty())
        HttpHeaders::serializeField(out, "X-Forwarded-Host", request.authority);
    if (forwarding.upgrade) {
        // nginx's proxy_set_header Upgrade $http_upgrade; Connection "upgrade".
        HttpHeaders::serializeField(out, "Upgrade", headers.value("upgrade"));
        out.append("Connection: upgrade\r\n");
    }
    if (request.chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    } else if (request.contentLength >= 0) {
        out.append("Content-Length: ");
        out.appendNumber(request.contentLength);
        out.append("\r\n");
    }
    out.append("\r\n");
}

void ProxyHeaders::copyResponseFields(const HttpResponseHead &head, HttpHeaders *out)
{
    // A 101 keeps the fields its Connection names (the tunnel's peers may need them) and says
    // "Connection: upgrade" itself.
    const bool upgrade = head.status == 101;
    const HttpHeaders &in = head.headers;
    const ConnectionList connection(upgrade ? QByteArrayView() : in.value("connection"));
    out->assignFields(in, [&](int i) {
        const QByteArrayView name = in.name(i);
        const Field field = classify(name);
        return field != Field::Hop && field != Field::ContentLength && !connection.contains(name);
    });
    if (upgrade) {
        out->append("Upgrade", in.value("upgrade"));
        out->append("Connection", "upgrade");
    }
}

bool ProxyHeaders::asksForWebSocket(const HttpHeaders &headers)
{
    return HttpHeaders::listContains(headers.value("upgrade"), "websocket");
}
