// The head of one HTTP response as parsed from an upstream: status, reason, framing and header fields.
#pragma once

#include "httpheaders.h"

#include <QByteArray>

struct HttpResponseHead
{
    int status = 0;
    QByteArray reason;
    int versionMinor = 1;
    HttpHeaders headers;
    qint64 contentLength = -1; // -1: none (chunked, close-delimited, or no body)
    bool chunked = false;
    bool keepAlive = true;
    bool hasBody = true; // false for HEAD requests, 1xx, 204 and 304
};
