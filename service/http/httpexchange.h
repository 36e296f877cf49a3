// One request and its response on a client connection: what a request handler reads and answers through.
#pragma once

#include "httpheaders.h"
#include "httprequesthead.h"
#include "sockettunnel.h"
#include "streamsocket.h"

#include <QByteArray>
#include <QByteArrayView>

#include <memory>

// Implemented by HttpConnection. Everything runs in the connection's thread.
//
// A small complete answer:        exchange->respond(200, "application/json", body);
// A streamed answer (also SSE):   exchange->writeHead(200, "OK", headers, -1);   // -1: chunked (HTTP/1.1)
//                                 exchange->writeBody(bytes); ... later ... exchange->finish();
// Learning that the client left:  exchange->setObserver(obs); obs->exchangeAborted() is called once,
//                                 after which the exchange pointer must not be used again.
class HttpExchange
{
public:
    class Observer
    {
    public:
        virtual ~Observer() = default;
        // Request body bytes (de-chunked). The view is valid only during the call.
        virtual void requestBody(QByteArrayView data) { Q_UNUSED(data); }
        // The request body (if any) has been read completely.
        virtual void requestComplete() {}
        // The response output fell below the low-water mark after having been above the high-water mark.
        virtual void responseWritable() {}
        // The client went away, timed out or sent something invalid: stop; the exchange is gone.
        virtual void exchangeAborted() {}
    };

    virtual const HttpRequestHead &request() const = 0;
    // The body read for the handler when IRequestHandler::bufferedBodyLimit() is above 0.
    virtual const QByteArray &bufferedBody() const = 0;
    virtual void setObserver(Observer *observer) = 0;

    // Flow control of the request body: while paused nothing more is read from the client, so TCP
    // pushes back on it. A "100 Continue" goes out when the body is first wanted (not paused).
    virtual void pauseRequestBody() = 0;
    virtual void resumeRequestBody() = 0;
    virtual bool requestComplete() const = 0;

    // `contentLength` -1: chunked to an HTTP/1.1 client, close-delimited to HTTP/1.0. Framing and
    // Connection fields are the exchange's business: `headers` must not carry them.
    virtual void writeHead(int status, QByteArrayView reason, const HttpHeaders &headers,
                           qint64 contentLength) = 0;
    virtual void writeBody(QByteArrayView data) = 0;
    // Ends the response (with trailers when chunked). The exchange pointer is invalid afterwards.
    virtual void finish(const HttpHeaders *trailers = nullptr) = 0;
    // Drops the connection: the client sees a truncated response. The exchange pointer is invalid afterwards.
    virtual void abort() = 0;
    virtual bool headWritten() const = 0;
    // Close the connection once this response is complete, whatever keep-alive says.
    virtual void closeAfterResponse() = 0;

    // Bytes accepted but not yet sent to the client; a producer stops above the high-water mark and
    // waits for Observer::responseWritable().
    virtual qint64 pendingOutput() const = 0;
    virtual bool outputCongested() const = 0;

    // Coalescing: while held, response bytes collect (up to a small bound) and leave in one write on
    // releaseOutput() or finish(). A producer that delivers head and body in one go holds around it.
    virtual void holdOutput() {}
    virtual void releaseOutput() {}

    // Protocol switch (101): answers `status` with `headers` as given (Upgrade and Connection are the
    // caller's), then relays raw bytes between the client and `upstream` (a connected socket, taken over)
    // until either side closes. `fromUpstream`: bytes the upstream sent after its own 101 head. Only for a
    // request without a body, before anything else was written. The exchange (and its observer) ends here;
    // the tunnel returned lives until it emits finished(). Null when the client is already gone (the
    // upstream socket is then closed).
    virtual SocketTunnel *switchProtocols(const HttpHeaders &headers, std::unique_ptr<StreamSocket> upstream,
                                          const QByteArray &fromUpstream,
                                          const SocketTunnel::Settings &settings) = 0;

    // A complete response in one call; `extra` carries fields other than framing ones.
    void respond(int status, QByteArrayView contentType, QByteArrayView body,
                 const HttpHeaders *extra = nullptr);
    // {"error_msg":"<status> <reason>"}, as APISIX answers its own errors.
    void respondError(int status, QByteArrayView message = {});

    static QByteArrayView reasonPhrase(int status);

protected:
    ~HttpExchange() = default;
};
