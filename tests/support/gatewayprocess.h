// A real holdfastd for integration suites: bootstrap JSON in a temporary data dir, admin calls, proxy calls.
#pragma once

#include "testsupport.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <optional>

class GatewayProcess
{
public:
    struct Options
    {
        QStringList endpoints; // control_plane.endpoints; empty: the bootstrap default
        QString prefix = QStringLiteral("/apisix");
        int waitForControlPlaneMs = 3000;
        bool serveLocalFirst = false;
        // Short, so suites see reconnects and retries in seconds rather than the production defaults.
        int timeoutMs = 2000;
        int livenessMs = 2000;
        int backoffInitialMs = 100;
        int backoffMaxMs = 1000;
        int workers = 1;
        // Members merged into the bootstrap JSON last; object members merge one level deep
        // ({"control_plane": {"username": "u"}} keeps the endpoints).
        QJsonObject extra;
        QStringList environment; // "NAME=value" for the child
        // Not empty: holdfastd --standalone with this configuration file ({"routes":...,"upstreams":...})
        // and no control plane. The listeners open before the file is applied: wait for a route to serve.
        QByteArray standalone;
    };

    struct Response
    {
        int status = 0; // 0: no answer (see error)
        QList<QPair<QByteArray, QByteArray>> headers;
        QByteArray body;
        QString error;

        QByteArray header(const QByteArray &name) const;
        QJsonObject json() const;
    };

    GatewayProcess(); // a fresh temporary data dir
    ~GatewayProcess();
    GatewayProcess(const GatewayProcess &) = delete;
    GatewayProcess &operator=(const GatewayProcess &) = delete;

    QString dataDir() const { return m_dataDir.path(); }
    QString filePath(const QString &name) const; // inside the data dir
    // The file a standalone gateway serves (beside the data dir): rewrite it to change the configuration.
    QString standaloneFile() const;

    // Writes the bootstrap file, starts holdfastd --config and waits until the admin API answers. Ports
    // are chosen on the first start and kept by restarts, like the data dir.
    bool start(const Options &options);
    bool start() { return start(m_options); }
    void stop(); // SIGTERM, then SIGKILL
    void kill(); // SIGKILL
    // After stop(): holdfastd's exit code; -1 when a signal ended it (a crash, or the SIGKILL after the
    // grace).
    int exitCode();
    bool isRunning() const { return m_process.isRunning(); }
    QByteArray output() const { return m_process.output(); }
    qint64 pid() const { return m_process.pid(); }

    quint16 proxyPort() const { return m_proxyPort; }
    quint16 adminPort() const { return m_adminPort; }
    QByteArray token() const; // read from <data_dir>/admin.token

    // One HTTP/1.1 request on its own connection (Connection: close), blocking up to timeoutMs.
    static Response request(quint16 port, const QByteArray &method, const QByteArray &target,
                            const QList<QPair<QByteArray, QByteArray>> &headers = {},
                            const QByteArray &body = {}, int timeoutMs = 5000);
    Response proxyGet(const QByteArray &target, const QByteArray &host = "localhost") const;
    // An admin call with the bearer token.
    Response admin(const QByteArray &method, const QByteArray &target, const QByteArray &body = {}) const;

    // GET /v1/status; nullopt when the gateway does not answer.
    std::optional<QJsonObject> status() const;
    QString state() const; // status()["state"], "" when no answer

    // <data_dir>/config.json parsed as JSON (not validated); nullopt when missing or not JSON.
    std::optional<QJsonObject> persistedFile(const QString &name = QStringLiteral("config.json")) const;

    // The bootstrap JSON start() writes for these options.
    QJsonObject bootstrap(const Options &options) const;

private:
    QTemporaryDir m_dataDir;
    TestSupport::ManagedProcess m_process;
    Options m_options;
    quint16 m_proxyPort = 0;
    quint16 m_adminPort = 0;
};
