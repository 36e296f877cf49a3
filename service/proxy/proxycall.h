// One proxied request: the client exchange on one side, tries against upstream nodes on the other.
#pragma once

#include "bytebuffer.h"
#include "httpexchange.h"
#include "proxyhandler.h"
#include "upstreamconnection.h"

#include <QByteArray>

// Streams the request body to the upstream and the response body back, each side pausing the other
// when its output backs up. Retries go to the next node on a connect failure or timeout while nothing
// of the response has reached the client, replaying the part of the body sent so far when it was small
// enough to keep (ReplayLimit); past that a request is not retried. A non-idempotent request (POST,
// PATCH, ...) is retried only when nothing of it was sent, unless its upstream sets
// retry_non_idempotent. A body up to ProxyPolicy::requestBufferBytes is read whole before a node is
// picked. A WebSocket handshake on a route with enable_websocket is forwarded with its Upgrade field; a
// 101 from the node turns the client connection and that upstream connection (never pooled again) into a
// SocketTunnel, counted in the metrics and logged when it ends. Recycled by ProxyHandler.
class ProxyCall : public HttpExchange::Observer, public UpstreamConnection::Observer
{
public:
    static constexpr qsizetype ReplayLimit = 64 * 1024;

    explicit ProxyCall(ProxyHandler *handler);

    // What ProxyHandler worked out before choosing the route; only read during start().
    struct Routed
    {
        QByteArrayView path;          // normalized: what the route matched
        QByteArrayView forwardPath;   // its encoded form for the request line; empty: the target as sent
        QByteArrayView clientAddress; // the peer, or the address a trusted proxy forwarded for it
    };

    void start(HttpExchange *exchange, ProxyHandler::Generation *generation, const RouteTarget *target,
               ProxyHandler::UpstreamEntry *entry, qint64 startMicros, const Routed &routed);

    // HttpExchange::Observer
    void requestBody(QByteArrayView data) override;
    void requestComplete() override;
    void responseWritable() override;
    void exchangeAborted() override;

    // UpstreamConnection::Observer
    void upstreamConnected() override;
    void upstreamWritable() override;
    void upstreamResponseHead(const HttpResponseHead &head) override;
    void upstreamResponseBody(QByteArrayView data) override;
    void upstreamResponseComplete(const HttpHeaders &trailers) override;
    void upstreamFailed(UpstreamConnection::Failure failure) override;
    void upstreamReadDone() override;

private:
    void tryNext();
    void stopBuffering();
    void sendRequest();
    void writeUpstreamBody(QByteArrayView data);
    void endUpstreamBody();
    void releaseNode();
    void failClient(int status);
    void startTunnel();
    // `record`: count the request and log it now (a tunnel does so when it ends instead).
    void complete(int status, bool record = true);

    ProxyHandler *m_handler;
    HttpExchange *m_exchange = nullptr;
    const HttpRequestHead *m_request = nullptr; // stays valid until complete(), whatever the exchange does
    ProxyHandler::Generation *m_generation = nullptr;
    const RouteTarget *m_target = nullptr;
    ProxyHandler::UpstreamEntry *m_entry = nullptr;
    UpstreamConnection *m_connection = nullptr;

    QByteArrayView m_hashKey;
    QByteArray m_hashScratch;
    ByteBuffer m_head;          // reused for the upstream request head
    QByteArray m_forwardTarget; // normalized path and the query as sent; empty: the target as sent
    QByteArray m_forwardedFor;  // reused: the client's X-Forwarded-For fields joined
    QByteArray m_clientAddress; // the peer's text, or a trusted proxy's X-Forwarded-For entry
    QByteArray m_replay;        // the body sent so far, while it may still be replayed
    HttpHeaders m_responseHeaders;
    QByteArray m_upstreamAddrs; // for the access log: "a:1, b:2"
    QByteArray m_upstreamStatuses;

    quint64 m_triedMask = 0;
    int m_tries = 0;
    int m_maxTries = 1;
    int m_node = -1;
    int m_status = 0;
    qint64 m_startMicros = 0;
    qint64 m_upstreamStartMicros = -1;
    qint64 m_requestBytes = 0;
    qint64 m_responseBytes = 0;
    // Between start() and complete(). A client or upstream that goes away inside a call into the other
    // side ends the call there; the caller up the stack must then touch nothing.
    bool m_active = false;
    bool m_nodeActive = false;
    bool m_connectionReused = false;
    bool m_requestSent = false;  // the head went out on the current connection
    bool m_clientDone = false;   // the client's request body is complete
    bool m_upstreamDone = false; // the whole request went out on the current connection
    bool m_replayable = true;
    bool m_buffering = false; // reading a small body whole before taking an upstream connection
    bool m_responseStarted = false;
    bool m_upgrade = false; // a WebSocket handshake on a route that allows it: a 101 opens a tunnel
};
