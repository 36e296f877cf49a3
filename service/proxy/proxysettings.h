// How the proxy listens and treats its clients: the part of the bootstrap settings ProxyServer needs.
#pragma once

#include "httplimits.h"
#include "router.h"

#include <QHostAddress>
#include <QList>
#include <QString>

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
    QString accessLog;       // path, "-" for stdout, empty: off
    QString accessLogFormat; // empty: AccessLog::DefaultFormat
    // How often a router updated in place is compared with one built from scratch (0: never).
    int routerSelfCheckMs = 60000;
};
