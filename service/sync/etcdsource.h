// ConfigSource for an etcd v3 control plane: a full sync at one revision, then a watch, across outages.
#pragma once

#include "configsource.h"
#include "etcdclient.h"
#include "etcdsettings.h"

#include <QElapsedTimer>
#include <QSet>
#include <QTimer>

class EtcdSource : public ConfigSource
{
    Q_OBJECT

public:
    explicit EtcdSource(EtcdSettings settings, QObject *parent = nullptr);
    ~EtcdSource() override;

    // Connects to the first endpoint; later calls after stop() resume the watch where it stopped.
    void start() override;
    // Drops the connection and any retry; the revision and cluster seen so far are kept.
    void stop();
    QString describe() const override;
    ResyncAnswer requestResync() override;
    SourceStatus status() const override { return m_status; }

    const EtcdSettings &settings() const { return m_settings; }
    qint64 revision() const { return m_revision; } // last revision handed to the caller
    bool isWatching() const { return m_phase == Phase::Watching; }

signals:
    // After each page of a full sync has arrived (the next one is already asked for), before it is handed
    // on.
    void fullSyncProgress(qint64 revision, int pages, int objects);

private:
    enum class Phase
    {
        Idle,
        Syncing,
        Watching,
        Waiting
    };

    void connectNow();
    void beginFullSync(const QString &why);
    void requestPage(const QByteArray &fromKey);
    // The same page through the JSON gateway; `grpcError` set when it stands in for a failed gRPC read.
    void requestJsonPage(const EtcdRangeRequest &request, const QString &grpcError);
    void onPage(const EtcdClient::Response &r, const EtcdRangePage &page, quint64 generation);
    // How full syncs from the current endpoint read their pages. It changes only before a first page is
    // handed on (the switch to the JSON gateway), so it also says how a finished sync's pages came.
    bool readsOverGrpc() const;
    void startWatch();
    void onWatchMessage(const QJsonObject &message);
    void probe();
    void fail(const QString &error);
    // Whether a response header still describes the history the source has applied.
    bool headerTrusted(const QJsonObject &header, QString *why) const;
    void markOk();
    void setConnected(bool connected);
    void publishStatus();
    int backoffDelay(int round) const;
    QByteArray rangeEnd() const;
    QString relativeKey(const QByteArray &key) const;

    EtcdSettings m_settings;
    QByteArray m_keyPrefix; // "<prefix>/"
    EtcdClient *m_client;
    Phase m_phase = Phase::Idle;
    int m_endpointIndex = 0;
    int m_failures = 0; // consecutive, across endpoints
    QTimer m_retryTimer;
    QTimer m_livenessTimer;
    bool m_probing = false;
    bool m_forceFullSync = true;
    // Bumped whenever the connection is torn down or replaced, so late answers are recognised.
    quint64 m_generation = 0;

    // State of the full sync in progress.
    qint64 m_syncRevision = 0;
    QString m_syncClusterId;
    qsizetype m_syncObjectCount = 0;
    int m_syncPages = 0;
    QElapsedTimer m_syncClock;
    int m_compactedRestarts = 0;
    // Endpoints where a gRPC read failed while the JSON gateway answered: Auto reads them as JSON.
    QSet<QString> m_jsonOnlyEndpoints;
    QSet<QString> m_grpcEndpoints; // where a gRPC read has succeeded

    qint64 m_revision = 0; // everything up to here has been handed to the caller
    QString m_clusterId;
    SourceStatus m_status;
    SourceStatus m_published;
};
