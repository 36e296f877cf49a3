// Which header fields the proxy passes on each way, and the request head it writes upstream: nginx's
// proxy module's rules (hop-by-hop fields dropped, the X-Forwarded-* fields and X-Real-IP set).
#pragma once

#include "bytebuffer.h"
#include "httpheaders.h"

#include <QByteArray>
#include <QByteArrayView>

struct HttpRequestHead;
struct HttpResponseHead;
struct Upstream;
struct UpstreamNode;

class ProxyHeaders
{
public:
    struct Forwarding
    {
        QByteArrayView target;        // the normalized path and the query as sent; empty: the target as sent
        QByteArrayView clientAddress; // the peer, or the address a trusted proxy forwarded for it
        bool upgrade = false;         // a WebSocket handshake passed on ("Connection: upgrade")
    };

    // The head of `request` for `node` of `upstream`, into `out` (cleared first); `forwardedFor`
    // is scratch space for the client's X-Forwarded-For fields joined.
    static void writeRequestHead(ByteBuffer &out, QByteArray &forwardedFor, const HttpRequestHead &request,
                                 const Upstream &upstream, const UpstreamNode &node,
                                 const Forwarding &forwarding);
    // The fields of an upstream's response that go to the client, into `out` (replaced; it shares the
    // response's bytes until cleared): Content-Length is the response writer's to set.
    static void copyResponseFields(const HttpResponseHead &head, HttpHeaders *out);
    // "Upgrade: websocket" (a token of the list, in any case): the only protocol tunnelled.
    static bool asksForWebSocket(const HttpHeaders &headers);
};
