// holdfastd as a whole: settings, proxy workers, admin API, configuration source, local store and state.
#pragma once

#include "adminbackend.h"
#include "bootstrapsettings.h"
#include "configsnapshot.h"
#include "configstore.h"

#include <QDateTime>
#include <QJsonArray>
#include <QObject>
#include <QStringList>

#include <memory>

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
    enum class State { Starting, OfflineLocal, Syncing, InSync, Reconnecting, Standalone };

    // `standaloneFile` empty: configuration from the control plane, with the local copy as fallback.
    Gateway(BootstrapSettings settings, QString standaloneFile, QObject *parent = nullptr);
    ~Gateway() override;

    // Opens listeners and starts serving; false with *error when the gateway cannot run at all
    // (a port in use, an unreadable data dir, an invalid standalone file).
    bool start(QString *error);

    State state() const { return m_state; }
    static QString stateName(State state);

    // AdminBackend
    QJsonObject status() const override;
    bool ready() const override;
    QJsonObject liveConfig() const override;
    std::optional<QJsonObject> persistedConfig() const override;
    QByteArray metrics() override;
    QJsonObject resync() override;
    QJsonObject reloadLocal() override;

private:
    void apply(const SnapshotPtr &snapshot, qint64 revision, const QString &cause);
    void setState(State state, const QString &cause);
    void loadLocalCopy();
    void stop();

    BootstrapSettings m_settings;
    QString m_standaloneFile;
    std::unique_ptr<PlatformHost> m_host;
    std::unique_ptr<ProxyServer> m_proxy;
    std::unique_ptr<AdminHandler> m_admin;
    std::unique_ptr<HttpServer> m_adminServer;
    std::unique_ptr<ConfigSource> m_source;
    std::unique_ptr<MetricsRegistry> m_metrics;
    ConfigStore m_store;

    State m_state = State::Starting;
    QDateTime m_since;
    SnapshotPtr m_live;
    qint64 m_liveRevision = 0;
    std::optional<PersistedConfig> m_persisted; // the generation loaded from data_dir at start
    QStringList m_persistedAttempts;
    QJsonArray m_rejected; // [{key, reason}] of what the source offered and could not be served
    bool m_stopping = false;
};
