// holdfastd as a whole: settings, proxy workers, admin API, configuration source, local store and state.
#pragma once

#include "adminbackend.h"
#include "bootstrapsettings.h"
#include "configsnapshot.h"
#include "configstore.h"
#include "gatewayevent.h"
#include "gatewaystatus.h"
#include "synccontroller.h"

#include <QDateTime>
#include <QObject>
#include <QStringList>
#include <QThreadPool>

#include <memory>
#include <optional>

class AdminHandler;
class ConfigSource;
class HttpServer;
class MetricsRegistry;
class PlatformHost;
class ProxyServer;

class Gateway : public QObject, public AdminBackend
{
    Q_OBJECT

public:
    using State = GatewayStatus::State;

    // `standaloneFile` empty: configuration from the control plane, with the local copy as fallback.
    Gateway(BootstrapSettings settings, QString standaloneFile, QObject *parent = nullptr);
    ~Gateway() override;

    // The --config file, read again on SIGHUP; empty when the defaults are in use.
    void setSettingsFile(const QString &path) { m_settingsFile = path; }

    // Opens listeners and starts serving; false with *error when the gateway cannot run at all
    // (a port in use, an unreadable data dir, an invalid standalone file).
    bool start(QString *error);

    State state() const { return m_state; }
    // What /v1/status shows, in both modes.
    GatewayStatus gatewayStatus() const;

    // AdminBackend
    QJsonObject status() const override;
    bool ready() const override;
    QJsonObject liveConfig() const override;
    std::optional<QJsonObject> persistedConfig() const override;
    QJsonObject upstreams() const override;
    QByteArray metrics() override;
    QJsonObject resync() override;
    QJsonObject reloadLocal() override;

private:
    void apply(const SnapshotPtr &snapshot, qint64 revision, const QString &cause);
    void setState(State state, const QString &cause);
    void publishEvent(const GatewayEvent &event);
    // Without --standalone: the control plane through a SyncController, the local copy as fallback.
    bool startSync(QString *error);
    void stop();

    void reloadSettings();

    BootstrapSettings m_settings;
    QString m_settingsFile;
    QString m_standaloneFile;
    std::unique_ptr<PlatformHost> m_host;
    std::unique_ptr<ProxyServer> m_proxy;
    std::unique_ptr<AdminHandler> m_admin;
    std::unique_ptr<HttpServer> m_adminServer;
    std::unique_ptr<ConfigSource> m_source;
    std::unique_ptr<SyncController> m_sync; // after m_source: it must go first
    std::unique_ptr<MetricsRegistry> m_metrics;

    // The gateway's state, whichever mode: the controller's transitions (synced), or standalone.
    State m_state = State::Starting;
    QDateTime m_since;
    QString m_cause;
    SnapshotPtr m_live;
    qint64 m_liveRevision = 0;
    GatewayStatus::ControlPlane m_controlPlane;       // type, endpoints, prefix: what the source is
    QList<GatewayStatus::Rejection> m_fileRejections; // standalone: why the file cannot be served
    // The "applied" event carries the digest, computed on a thread of its own; a burst of changes is
    // reported by the newest generation only, as the persister writes only the newest.
    struct Applied
    {
        SnapshotPtr snapshot;
        qint64 revision = 0;
        QString cause;
    };
    void reportApplied();
    QThreadPool m_digests;
    std::optional<Applied> m_appliedPending;
    bool m_digesting = false;
    bool m_stopping = false;
};
