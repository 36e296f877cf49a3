// How the proxy listens and treats its clients: the part of the bootstrap settings ProxyServer needs.
#pragma once

#include "httplimits.h"
#include "router.h"

#include <QHostAddress>
#include <QList>
#include <QPair>
#include <QString>

// What each worker's request handler applies to every request, beyond routing.
struct ProxyPolicy
{
    // Peers (address, prefix length) whose X-Forwarded-For is believed for the client's address, as
    // nginx's set_real_ip_from with real_ip_recursive; empty (the default): the peer is the client.
    QList<QPair<QHostAddress, int>> realIpFrom;
    // Request bodies up to this size are read whole before an upstream connection is taken, so a slow
    // sender holds no upstream connection (nginx's proxy_request_buffering); larger ones, and chunked
    // ones once they pass it, stream. 0: always stream.
    qint64 requestBufferBytes = 64 * 1024;
};

struct ProxySettings
{
    struct Listen
    {
        QHostAddress address{QHostAddress::AnyIPv4};
        quint16 port = 9080; // 0: any free port (see ProxyServer::serverPorts)
    };

    QList<Listen> listen{Listen{}};
    int workers = 0; // 0: one per core
    RouterKind routerKind = RouterKind::HostUri;
    HttpLimits limits;
    ProxyPolicy policy;
    QString accessLog;       // path, "-" for stdout, empty: off
    QString accessLogFormat; // empty: AccessLog::DefaultFormat
    // How often a router updated in place is compared with one built from scratch (0: never).
    int routerSelfCheckMs = 60000;
};
