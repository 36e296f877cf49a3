// Settings of the etcd v3 control-plane client: where etcd is, how to authenticate, how patient to be.
#pragma once

#include <QString>
#include <QStringList>

struct EtcdSettings
{
    QStringList endpoints = {QStringLiteral("http://127.0.0.1:2379")}; // tried in turn
    QString prefix = QStringLiteral("/apisix");                        // keys are <prefix>/<collection>/<id>
    QString username;                                                  // empty: no authentication
    QString password;
    QString caFile;   // PEM; when set, only this CA is trusted for https endpoints
    QString certFile; // PEM client certificate, with keyFile, for mutual TLS
    QString keyFile;
    int requestTimeoutMs = 5000; // each unary request (range, auth, probe)
    // A watch stream may be silent for hours; after this long without a message the source probes
    // the endpoint, and drops it when the probe gets no answer within requestTimeoutMs.
    int livenessMs = 5000;
    int backoffInitialMs = 500;
    int backoffMaxMs = 30000;
    // Keys per range page during a full sync. etcd 3.4 walks its index over the rest of the range for
    // every page and its JSON gateway has a cost per answer: at 100k keys pages of 1000 cost etcd 2-2.5x
    // the CPU of pages of 10000.
    int pageLimit = 10000;
    // How a full sync reads its pages. Auto: over etcd's gRPC API, and through the JSON gateway from then
    // on for an endpoint where gRPC fails while the gateway answers (an HTTP/1.1-only proxy in front of
    // etcd). Grpc and Json: only that way. Watches and probes always use the JSON gateway.
    enum class FullSyncTransport
    {
        Auto,
        Grpc,
        Json
    };
    FullSyncTransport fullSyncTransport = FullSyncTransport::Auto;
    // Largest unary answer (a range page) or single watch message accepted; beyond it the call fails.
    qint64 maxResponseBytes = 64 * 1024 * 1024;
};
