// EtcdSource settings for the suites: short timeouts and backoff, so outages are seen in seconds.
#pragma once

#include "etcdsettings.h"

#include <QStringList>

inline EtcdSettings fastEtcdSettings(const QStringList &endpoints)
{
    EtcdSettings s;
    s.endpoints = endpoints;
    s.prefix = QStringLiteral("/apisix");
    s.requestTimeoutMs = 1000;
    s.livenessMs = 1000;
    s.backoffInitialMs = 100;
    s.backoffMaxMs = 400;
    return s;
}
