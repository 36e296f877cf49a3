// The seam between the HTTP/1.1 server machinery and what answers requests (the proxy, the admin API).
#pragma once

#include <QtGlobal>

class HttpExchange;

// One handler serves every connection of an HttpServer, in the server's thread. See HttpExchange for
// how to answer, stream and learn that the client went away.
class IRequestHandler
{
public:
    virtual ~IRequestHandler() = default;

    // A request head arrived. Answer through `exchange` now or later; the pointer stays valid until the
    // handler calls finish() or abort() on it, or the exchange's observer hears exchangeAborted().
    virtual void handleRequest(HttpExchange *exchange) = 0;

    // 0 (the default): the body is streamed to the exchange's observer after handleRequest(). Above 0:
    // the server reads the whole body first, up to this many bytes (413 beyond), and hands it over in
    // HttpExchange::bufferedBody() - for small API requests.
    virtual qint64 bufferedBodyLimit() const { return 0; }

    // For a handler that buffers bodies, called once the head is parsed and before any of the body is
    // read or `100 Continue` is sent: return false after answering through `exchange` (e.g. a 401) to
    // refuse the request; the connection then closes without reading the body.
    virtual bool admitRequest(HttpExchange *exchange)
    {
        Q_UNUSED(exchange)
        return true;
    }

    virtual void connectionOpened() {}
    virtual void connectionClosed() {}
};
