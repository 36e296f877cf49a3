// Limits and timeouts an HTTP listener applies to its clients.
#pragma once

#include <QtGlobal>

struct HttpLimits
{
    int maxHeaderBytes = 32 * 1024; // request line plus header fields: 431 beyond
    qint64 maxBodyBytes = 0;        // 0: unlimited; 413 beyond
    int headerTimeoutMs = 60000;    // a request head must arrive within this (408 after)
    int bodyTimeoutMs = 60000;      // between two reads of a request body
    // The whole request body must arrive within this from the end of its head (408 after), time spent
    // paused because the upstream does not take it excepted; 0: no total deadline.
    int bodyTotalTimeoutMs = 0;
    int keepaliveTimeoutMs = 75000;   // an idle keep-alive connection is closed after this
    int sendTimeoutMs = 60000;        // a client that reads nothing of its response for this long is dropped
    int maxKeepaliveRequests = 10000; // requests on one connection before it is closed (0: no limit)
    // What is read from or queued for one socket at most; beyond it the producer pauses, so that a slow
    // reader pushes back on a fast writer instead of growing memory.
    qint64 socketReadBuffer = 64 * 1024;
    qint64 outputHighWater = 256 * 1024;
    qint64 outputLowWater = 64 * 1024;
    // Header fields whose name holds '_' are dropped unless this is set (nginx's underscores_in_headers).
    bool keepUnderscoreHeaders = false;
    // Open connections at most (0: no limit). At the cap accepting pauses, so further clients wait in the
    // listen backlog; any accepted in the same burst are closed at once.
    int maxConnections = 0;
};
