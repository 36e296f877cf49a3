// holdfastd's own settings (listeners, data_dir, admin, control plane, start-up policy) from a JSON file.
#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

#include <optional>

struct ListenAddress
{
    QHostAddress address;
    quint16 port = 0;
    bool operator==(const ListenAddress &o) const { return address == o.address && port == o.port; }
    bool operator!=(const ListenAddress &o) const { return !(*this == o); }
};

struct BootstrapSettings
{
    QList<ListenAddress> listen{{QHostAddress(QHostAddress::AnyIPv4), 9080}};
    int workers = 0; // 0: one per core
    QString router = QStringLiteral("radixtree_host_uri");
    QString dataDir = defaultDataDir();

    struct Admin
    {
        QHostAddress address{QHostAddress::LocalHost};
        quint16 port = 9180;
        QString tokenFile = QStringLiteral("admin.token");
        int maxConnections = 64;
        int maxEventStreams = 16;
        bool operator==(const Admin &o) const;
    } admin;

    struct ControlPlane
    {
        QString type = QStringLiteral("etcd");
        QStringList endpoints{QStringLiteral("http://127.0.0.1:2379")};
        QString prefix = QStringLiteral("/apisix");
        QString username;
        QString password;
        QString tlsCa;
        QString tlsCert;
        QString tlsKey;
        int timeoutMs = 5000; // one request to the control plane
        int livenessMs =
            8000; // silence on the watch before a probe; with timeoutMs, a hang shows within 13 s
        int backoffInitialMs = 200; // reconnect backoff, doubled up to the maximum, with jitter
        int backoffMaxMs = 10000;
        qint64 maxResponseBytes = 64 * 1024 * 1024; // one range page or watch message at most
        int pageSize = 10000; // keys per range request of a full sync (EtcdSettings::pageLimit)
        // How a full sync reads: "auto" (gRPC, the JSON gateway where gRPC is not served), "grpc", "json".
        QString fullSync = QStringLiteral("auto");
        bool operator==(const ControlPlane &o) const;
    } controlPlane;

    struct Startup
    {
        int waitForControlPlaneMs = 3000;
        bool serveLocalFirst = false;
        bool operator==(const Startup &o) const;
    } startup;

    struct Limits
    {
        int maxHeaderBytes = 32 * 1024;
        qint64 maxBodyBytes = 0; // 0: unlimited
        int clientHeaderTimeoutMs = 60000;
        int clientKeepaliveTimeoutMs = 75000;
        qint64 requestBufferBytes = 64 * 1024; // bodies read whole before an upstream is taken; 0: off
        bool underscoresInHeaders = false; // keep request fields whose name holds '_' (nginx's default: drop)
        int maxConnections = 0;      // open client connections on the proxy listeners at most; 0: no cap
        int clientBodyTimeoutMs = 0; // a request body must arrive whole within this; 0: no total deadline
        bool operator==(const Limits &o) const;
    } limits;

    // "real_ip_from": proxies (CIDR or address) whose X-Forwarded-For names the client; empty: none.
    QList<QPair<QHostAddress, int>> realIpFrom;

    QString accessLog;       // path, "-" for stdout, empty: off
    QString accessLogFormat; // empty: the default format

    // Member by member: a field added to a section must be added to its operator== (bootstrapsettings.cpp,
    // next to the parser that reads it); tst_bootstrapsettings changes every key and checks it is seen.
    bool operator==(const BootstrapSettings &o) const;
    bool operator!=(const BootstrapSettings &o) const { return !(*this == o); }

    // Paths from the file are relative to data_dir; absolute ones are kept.
    QString resolve(const QString &path) const;

    // Every key has a default; an unknown key or a wrong type is an error naming its JSON pointer.
    static std::optional<BootstrapSettings> fromJson(const QByteArray &json, QStringList *errors);
    static std::optional<BootstrapSettings> fromFile(const QString &path, QStringList *errors);

    static QString defaultDataDir();
};
