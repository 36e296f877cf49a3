// The head of one HTTP request as parsed from a client: method, target, version and header fields.
#pragma once

#include "httpheaders.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QHostAddress>

struct HttpRequestHead
{
    QByteArrayView method; // "GET": a static string of the parser, never allocated
    QByteArray target;     // origin form ("/a/b?x=1"); an absolute-form target is reduced to it
    QByteArrayView path;   // target up to the '?'
    QByteArrayView query;  // after the '?', without it; empty when none
    int versionMajor = 1;
    int versionMinor = 1;
    HttpHeaders headers;
    QByteArray authority;      // Host (or the absolute-form target's authority), port included
    QByteArrayView host;       // authority without the port and IPv6 brackets, for routing
    qint64 contentLength = -1; // -1: no Content-Length
    bool chunked = false;
    bool keepAlive = true;
    bool expectContinue = false;
    bool isHead = false; // method HEAD: a response has no body
    // Upgrade sent with "Connection: upgrade": the handler may switch protocols
    // (HttpExchange::switchProtocols).
    bool upgrade = false;

    QHostAddress peerAddress;
    QByteArray peerAddressText; // "127.0.0.1", "::1": computed once per connection
    quint16 peerPort = 0;
    quint16 localPort = 0; // the listener's port the client connected to

    bool hasBody() const { return chunked || contentLength > 0; }
};
