// The sync state machine: start-up policy, per-object validation, the live configuration, rejections
// and persisting every change.
#pragma once

#include "configsource.h"
#include "configstore.h"
#include "gatewayevent.h"
#include "gatewaystatus.h"
#include "persister.h"
#include "syncobjects.h"
#include "validationerror.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QSet>
#include <QTimer>

#include <memory>
#include <optional>
#include <vector>

// Owns what the three high-availability phases decide: which configuration is served (none, the
// local copy, the control plane's), how each object the source offers is validated (alone: an invalid
// one is rejected and its last good version stays), and that every applied change reaches disk. It
// never touches the proxy: `publish` hands each new snapshot to whoever serves it.
class SyncController : public QObject
{
    Q_OBJECT

public:
    // The gateway's states; the controller enters all but Standalone, which is the gateway without one.
    using State = GatewayStatus::State;

    struct Settings
    {
        QString dataDir;
        int waitForControlPlaneMs = 3000;
        bool serveLocalFirst = false;
        // Written into each persisted envelope: {"type": "etcd", "endpoints": [...], "prefix": "..."}.
        QJsonObject sourceDescription;
        int persistRetryInitialMs = 250;
        int persistRetryMaxMs = 5000;
    };

    using Rejection = GatewayStatus::Rejection;

    // Counters since start, for /metrics.
    struct Figures
    {
        quint64 changesApplied = 0; // puts and deletes applied, objects taken from full syncs
        quint64 fullSyncs = 0;
        quint64 rejections = 0;
        quint64 persistFailures = 0;
        quint64 persistSaves = 0;
        qint64 lastPersistLatencyMs = -1;
        double persistLatencySumSeconds = 0;
    };

    // The source is not owned; it must outlive the controller.
    SyncController(ConfigSource *source, Settings settings, QObject *parent = nullptr);
    ~SyncController() override;

    // Loads the local copy, starts the source and applies the start-up policy.
    void start();

    State state() const { return m_state; }
    QDateTime since() const { return m_since; }
    QString stateCause() const { return m_cause; }

    SnapshotPtr live() const { return m_live; }
    qint64 liveRevision() const { return m_liveRevision; }
    bool serving() const { return m_live != nullptr; }
    // ControlPlane while what is live came from a full sync (and the changes after it), else LocalCopy.
    GatewayStatus::Origin liveOrigin() const;
    // Keys under the prefix that are not routes, upstreams or services (consumers/, ssls/, ...).
    int ignoredKeys() const { return int(m_ignored.size()); }
    QList<Rejection> rejections() const { return m_rejected.values(); }
    const Figures &figures() const { return m_figures; }
    // The source's status, with the last contact this controller saw when the source has none.
    SourceStatus sourceStatus() const;

    // The persisted generation: the one loaded at start, then each one saved.
    const std::optional<PersistedConfig> &persisted() const { return m_persisted; }
    QString persistError() const { return m_persistError; }

    // The `persisted` member of /v1/status.
    GatewayStatus::Persisted persistedStatus() const;

    // POST /v1/reload-local: serve the local copy, unless in sync with the control plane.
    ResyncAnswer reloadLocal();

    // Blocks until every applied change is on disk (or failed); for shutdown and tests.
    bool waitPersisted(int timeoutMs);

signals:
    // A new configuration to serve.
    void publish(const SnapshotPtr &snapshot, qint64 revision, const QString &cause);
    // What is live is now at `revision` without a change to what is served (a change to ignored keys,
    // an object set back as it was).
    void revisionAdvanced(qint64 revision);
    void stateChanged(SyncController::State state, const QString &cause);
    void objectRejected(const GatewayEvent::Rejected &rejection);
    void persistFinished(const GatewayEvent::Persisted &result);

private:
    using Parsed = SyncObjects::Parsed;
    using Objects = SyncObjects;

    void onSnapshotStarted();
    void onSnapshotPart(qint64 revision, const QList<SourceObject> &objects);
    void onSnapshotLoaded(qint64 revision, const QList<SourceObject> &objects);
    // Parses `objects` of the full sync in progress onto m_syncParts.
    void parseParts(const QList<SourceObject> &objects);
    void onChangesArrived(qint64 revision, const QList<SourceEvent> &events);
    void onSourceStatus(const SourceStatus &status);
    void onStartupWaitOver();
    void onPersisted(const Persister::Result &result);

    // Stores a parsed value in `objects`; false (with the rejection recorded) when it is invalid.
    bool putObject(Objects *objects, const QString &key, const Parsed &parsed, qint64 revision);
    void reject(const QString &key, const QString &reason, qint64 revision);
    void publishObjects(const QString &cause);
    bool serveLocalCopy(const QString &why);
    void setState(State state, const QString &cause);
    State offlineState() const;

    ConfigSource *m_source;
    Settings m_settings;
    ConfigStore m_store; // loads only; saves go through the persister's own store
    std::unique_ptr<Persister> m_persister;
    QTimer m_startupWait;
    QTimer m_publishSoon; // a burst of watch batches becomes one snapshot

    State m_state = State::Starting;
    QDateTime m_since;
    QString m_cause;
    bool m_liveFromControlPlane = false; // what is live came from a full sync (and changes after it)
    bool m_connected = false;

    // A full sync in progress: every object of its parts so far, parsed, in the source's order.
    struct PendingObject
    {
        QString key;
        qint64 modRevision = 0;
        std::optional<Parsed> parsed; // nullopt for a key the gateway ignores
    };
    std::vector<std::vector<PendingObject>> m_syncParts;
    qint64 m_syncPartsRevision = 0;

    Objects m_objects; // the control plane's valid objects, or the local copy's
    // Ids changed since m_live, when m_objects is m_live's plus those changes (not after a full sync):
    // the next snapshot is derived from m_live and the router updated, not rebuilt.
    ConfigSnapshot::Changes m_changed;
    bool m_wholesale = true;
    SnapshotPtr m_live;
    qint64 m_liveRevision = 0;
    qint64 m_pendingRevision = 0;
    QString m_pendingCause;
    QSet<QString> m_ignored;
    QMap<QString, Rejection> m_rejected;
    Figures m_figures;
    QDateTime m_lastContact;

    std::optional<PersistedConfig> m_persisted;
    QString m_loadedAtStart;
    QStringList m_loadAttempts;
    QString m_persistError;
    QString m_editedKeptAs;
    QDateTime m_persistErrorSince;
    int m_persistRetryInMs = -1;
};
