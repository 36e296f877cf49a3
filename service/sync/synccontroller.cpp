#include "synccontroller.h"

#include <QLoggingCategory>

#include <algorithm>
#include <vector>

Q_LOGGING_CATEGORY(lcSync, "holdfast.sync")

namespace {

// Adds to `ids` every id whose object differs between `was` and `is` (put, replaced or deleted): a walk
// of both maps in key order, objects compared by identity.
template<typename Map>
void differingIds(const Map &was, const Map &is, QSet<QString> *ids)
{
    auto a = was.cbegin();
    auto b = is.cbegin();
    while (a != was.cend() || b != is.cend()) {
        if (b == is.cend() || (a != was.cend() && a.key() < b.key())) {
            ids->insert(a.key());
            ++a;
        } else if (a == was.cend() || b.key() < a.key()) {
            ids->insert(b.key());
            ++b;
        } else {
            if (a.value() != b.value())
                ids->insert(a.key());
            ++a;
            ++b;
        }
    }
}

} // namespace

SyncController::SyncController(ConfigSource *source, Settings settings, QObject *parent)
    : QObject(parent)
    , m_source(source)
    , m_settings(std::move(settings))
    , m_store(m_settings.dataDir)
    , m_persister(std::make_unique<Persister>(m_settings.dataDir))
    , m_since(QDateTime::currentDateTimeUtc())
{
    m_persister->setRetryBackoff(m_settings.persistRetryInitialMs, m_settings.persistRetryMaxMs);
    connect(m_persister.get(), &Persister::finished, this, &SyncController::onPersisted,
            Qt::QueuedConnection);
    m_startupWait.setSingleShot(true);
    connect(&m_startupWait, &QTimer::timeout, this, &SyncController::onStartupWaitOver);
    // Zero: every batch already queued in the event loop is applied before the one rebuild.
    m_publishSoon.setSingleShot(true);
    m_publishSoon.setInterval(0);
    connect(&m_publishSoon, &QTimer::timeout, this, [this] { publishObjects(m_pendingCause); });
}

SyncController::~SyncController()
{
    if (m_publishSoon.isActive()) {
        m_publishSoon.stop();
        publishObjects(m_pendingCause); // an applied change must not miss the disk because we stop
    }
}

void SyncController::start()
{
    m_cause = QStringLiteral("waiting up to %1 ms for a full sync from %2")
                  .arg(m_settings.waitForControlPlaneMs)
                  .arg(m_source->describe());
    qCInfo(lcSync).noquote() << "state starting:" << m_cause;

    const ConfigStore::LoadResult loaded = m_store.load();
    m_persister->recogniseCurrentFile(m_store.knownGoodFileDigest());
    m_loadAttempts = loaded.attempts;
    m_persisted = loaded.config;
    if (m_persisted) {
        m_loadedAtStart = m_persisted->file;
        if (m_persisted->edited)
            m_persister->keepEditedBeforeNextSave(m_persisted->file);
    }

    connect(m_source, &ConfigSource::snapshotStarted, this, &SyncController::onSnapshotStarted);
    connect(m_source, &ConfigSource::snapshotPart, this, &SyncController::onSnapshotPart);
    connect(m_source, &ConfigSource::snapshotLoaded, this, &SyncController::onSnapshotLoaded);
    connect(m_source, &ConfigSource::changesArrived, this, &SyncController::onChangesArrived);
    connect(m_source, &ConfigSource::statusChanged, this, &SyncController::onSourceStatus);

    if (m_settings.serveLocalFirst && m_persisted)
        serveLocalCopy(QStringLiteral("startup.serve_local_first: serving %1 until the full sync completes")
                           .arg(m_persisted->file));
    m_source->start();
    if (!m_liveFromControlPlane)
        m_startupWait.start(qMax(0, m_settings.waitForControlPlaneMs));
}

SourceStatus SyncController::sourceStatus() const
{
    SourceStatus status = m_source->status();
    if (!status.lastOk.isValid())
        status.lastOk = m_lastContact;
    return status;
}

GatewayStatus::Origin SyncController::liveOrigin() const
{
    if (!m_live)
        return GatewayStatus::Origin::None;
    return m_liveFromControlPlane ? GatewayStatus::Origin::ControlPlane : GatewayStatus::Origin::LocalCopy;
}

bool SyncController::putObject(Objects *objects, const QString &key, const Parsed &parsed, qint64 revision)
{
    if (!parsed.rejection.isEmpty()) {
        reject(key, parsed.rejection, revision);
        return false;
    }
    objects->put(parsed);
    if (m_rejected.remove(key) > 0)
        qCInfo(lcSync).noquote() << key << "is valid again at revision" << revision;
    return true;
}

void SyncController::reject(const QString &key, const QString &reason, qint64 revision)
{
    const auto previous = m_rejected.constFind(key);
    const bool known =
        previous != m_rejected.constEnd() && previous->reason == reason && previous->revision == revision;
    m_rejected.insert(key, Rejection{key, reason, revision});
    if (known)
        return; // the same version seen again (a resync): reported once
    ++m_figures.rejections;
    qCWarning(lcSync).noquote() << "rejected" << key << "at revision" << revision << ":" << reason
                                << "(its last good version, if any, stays live)";
    emit objectRejected(Rejection{key, reason, revision});
}

void SyncController::onSnapshotStarted()
{
    m_syncParts.clear();
    m_syncPartsRevision = 0;
}

void SyncController::onSnapshotPart(qint64 revision, const QList<SourceObject> &objects)
{
    if (revision != m_syncPartsRevision && !m_syncParts.empty()) {
        qCWarning(lcSync) << "full sync part at revision" << revision << "after parts at"
                          << m_syncPartsRevision << ": the earlier parts are dropped";
        m_syncParts.clear();
    }
    m_syncPartsRevision = revision;
    parseParts(objects);
}

void SyncController::parseParts(const QList<SourceObject> &objects)
{
    // Parsed and validated on every core (m_objects is only read meanwhile); stored in order when the
    // snapshot is complete. Only the parsed objects are kept: each page's text goes with the page.
    // One vector a part: the parts never move once parsed (a growing single vector of 100k objects
    // held its old and new storage at once, ~9 MB more at the peak).
    std::vector<PendingObject> &part = m_syncParts.emplace_back(std::size_t(objects.size()));
    // What an object may turn out to be already: the objects held (served or from the last sync), or,
    // before anything is served, the local copy loaded at start (which a restart would otherwise hold
    // beside a second copy of the same configuration).
    Objects local;
    const Objects *known = &m_objects;
    if (m_objects.routes.isEmpty() && m_objects.upstreams.isEmpty() && m_objects.services.isEmpty() &&
        m_persisted) {
        local.routes = m_persisted->snapshot->routes();
        local.upstreams = m_persisted->snapshot->upstreams();
        local.services = m_persisted->snapshot->services();
        known = &local;
    }
    SyncObjects::parallelFor(objects.size(), [&](qsizetype i) {
        const SourceObject &object = objects.at(i);
        PendingObject &pending = part[std::size_t(i)];
        pending.key = object.key;
        pending.modRevision = object.modRevision;
        QString id;
        if (const std::optional<ObjectKind> kind = SyncObjects::classify(object.key, &id))
            pending.parsed = SyncObjects::parse(*kind, id, object.value, known);
    });
}

void SyncController::onSnapshotLoaded(qint64 revision, const QList<SourceObject> &objects)
{
    m_startupWait.stop();
    m_publishSoon.stop(); // whatever the batches before said, this set replaces it
    if (m_source->status().lastOk.isValid())
        m_lastContact = m_source->status().lastOk;
    else
        m_lastContact = QDateTime::currentDateTimeUtc();

    if (revision != m_syncPartsRevision && !m_syncParts.empty()) {
        qCWarning(lcSync) << "full sync at revision" << revision << "after parts at" << m_syncPartsRevision
                          << ": the earlier parts are dropped";
        m_syncParts.clear();
    }
    parseParts(objects);
    std::vector<std::vector<PendingObject>> parts = std::exchange(m_syncParts, {});
    m_syncPartsRevision = 0;

    const QMap<QString, Rejection> before = m_rejected;
    m_rejected.clear();
    Objects next;
    QSet<QString> ignored;
    qsizetype total = 0;
    for (std::vector<PendingObject> &part : parts) {
        total += qsizetype(part.size());
        for (PendingObject &object : part) {
            std::optional<Parsed> &one = object.parsed;
            if (!one) {
                ignored.insert(object.key);
                continue;
            }
            // The rejection bookkeeping compares with what was reported before, so a resync that sees
            // the same bad version again does not report it twice.
            const auto was = before.constFind(object.key);
            if (was != before.constEnd())
                m_rejected.insert(object.key, was.value());
            if (!putObject(&next, object.key, *one, object.modRevision))
                next.copyFrom(m_objects, one->kind, one->id); // its last good version stays
        }
        part = {}; // what only the parse held (keys, rejections) goes now, not after the whole set
    }
    parts = {};
    // Objects the sync found unchanged are the very objects served (shared through `known`): a sync
    // after a restart from the local copy, or a resync, then derives the new generation from what is
    // served, and the router is updated for what differs instead of a second one being built beside
    // the first (the peak memory of a restart). A mostly new set is built anew.
    ConfigSnapshot::Changes changes;
    bool derive = m_live && m_live->extra().isEmpty();
    if (derive) {
        differingIds(m_live->routes(), next.routes, &changes.routes);
        differingIds(m_live->upstreams(), next.upstreams, &changes.upstreams);
        differingIds(m_live->services(), next.services, &changes.services);
        const qsizetype changed = changes.routes.size() + changes.upstreams.size() + changes.services.size();
        derive = changed <= (next.routes.size() + next.upstreams.size() + next.services.size()) / 2;
    }
    m_objects = std::move(next);
    m_wholesale = !derive;
    m_changed = derive ? std::move(changes) : ConfigSnapshot::Changes();
    m_ignored = std::move(ignored);
    m_liveFromControlPlane = true;
    ++m_figures.fullSyncs;
    m_figures.changesApplied += quint64(total - m_ignored.size());
    m_pendingRevision = revision;
    const QString cause =
        QStringLiteral("full sync at revision %1: %2 objects, %3 rejected, %4 other keys ignored")
            .arg(revision)
            .arg(total - m_ignored.size())
            .arg(m_rejected.size())
            .arg(m_ignored.size());
    publishObjects(cause);
    setState(State::InSync, cause);
}

void SyncController::onChangesArrived(qint64 revision, const QList<SourceEvent> &events)
{
    m_lastContact = QDateTime::currentDateTimeUtc();
    if (!m_liveFromControlPlane) {
        // Without the full set these would be mixed into the local copy; the source sends a snapshot
        // first, so this is a source that lost its place: it must resync.
        qCWarning(lcSync) << "changes up to revision" << revision << "before a full sync: asking for one";
        m_source->requestResync();
        return;
    }
    if (m_state != State::InSync)
        setState(State::InSync, QStringLiteral("changes arrive again (revision %1)").arg(revision));
    int applied = 0;
    for (const SourceEvent &event : events) {
        QString id;
        const std::optional<ObjectKind> kind = SyncObjects::classify(event.key, &id);
        if (!kind) {
            if (event.type == SourceEvent::Type::Put)
                m_ignored.insert(event.key);
            else
                m_ignored.remove(event.key);
            continue;
        }
        (*kind == ObjectKind::Route      ? m_changed.routes
         : *kind == ObjectKind::Upstream ? m_changed.upstreams
                                         : m_changed.services)
            .insert(id);
        if (event.type == SourceEvent::Type::Delete) {
            m_objects.remove(*kind, id);
            m_rejected.remove(event.key);
            ++applied;
        } else if (putObject(&m_objects, event.key, SyncObjects::parse(*kind, id, event.value),
                             event.modRevision)) {
            ++applied;
        }
    }
    m_figures.changesApplied += quint64(applied);
    m_pendingRevision = qMax(m_pendingRevision, revision);
    m_pendingCause = QStringLiteral("changes up to revision %1").arg(m_pendingRevision);
    m_publishSoon.start();
}

void SyncController::publishObjects(const QString &cause)
{
    const bool derived = m_live && !m_wholesale;
    const SnapshotPtr snapshot =
        derived ? ConfigSnapshot::derive(m_live, m_objects.routes, m_objects.upstreams, m_objects.services,
                                         m_changed)
                : ConfigSnapshot::fromObjects(m_objects.routes, m_objects.upstreams, m_objects.services);
    m_changed = {};
    m_wholesale = false;
    // Objects are shared between snapshots, so comparing them by identity tells a change without the
    // digest of the whole configuration, which is then computed off the path to the proxy; a derived
    // snapshot is compared only where it changed.
    const auto differs = [&](const auto &was, const auto &is, const QSet<QString> &ids) {
        return std::any_of(ids.cbegin(), ids.cend(),
                           [&](const QString &id) { return was.value(id) != is.value(id); });
    };
    const bool changed =
        !m_live ||
        (derived ? differs(m_live->routes(), snapshot->routes(), snapshot->changes().routes) ||
                       differs(m_live->upstreams(), snapshot->upstreams(), snapshot->changes().upstreams) ||
                       differs(m_live->services(), snapshot->services(), snapshot->changes().services)
                 : m_live->routes() != snapshot->routes() || m_live->upstreams() != snapshot->upstreams() ||
                       m_live->services() != snapshot->services());
    if (changed)
        m_live = snapshot;
    m_liveRevision = m_pendingRevision;
    if (changed) {
        emit publish(m_live, m_liveRevision, cause);
    } else {
        qCDebug(lcSync).noquote() << "revision" << m_liveRevision << "changes nothing that is served";
        emit revisionAdvanced(m_liveRevision);
    }

    // A generation already on disk with this revision and content is not written again (a restart, a
    // reconnect); a file loaded from config.prev.json or edited by hand is replaced.
    const bool onDisk = m_persisted && m_persisted->revision == m_liveRevision &&
                        m_persisted->snapshot->sha256() == m_live->sha256() && !m_persisted->edited &&
                        m_persisted->file == QLatin1String(ConfigStore::CurrentFile);
    if (!onDisk)
        m_persister->submit(m_live, m_liveRevision, m_settings.sourceDescription);
}

bool SyncController::serveLocalCopy(const QString &why)
{
    if (!m_persisted)
        return false;
    const PersistedConfig &local = *m_persisted;
    m_objects.routes = local.snapshot->routes();
    m_objects.upstreams = local.snapshot->upstreams();
    m_objects.services = local.snapshot->services();
    m_wholesale = true;
    m_live = local.snapshot;
    m_liveRevision = local.revision;
    m_liveFromControlPlane = false;
    emit publish(m_live, m_liveRevision,
                 QStringLiteral("local copy %1 (revision %2%3)")
                     .arg(local.file)
                     .arg(local.revision)
                     .arg(local.edited ? QStringLiteral(", edited by hand") : QString()));
    setState(m_connected ? State::Syncing : State::OfflineLocal, why);
    return true;
}

void SyncController::onStartupWaitOver()
{
    if (m_liveFromControlPlane || serving())
        return;
    const QString why = QStringLiteral("no full sync from the control plane within %1 ms")
                            .arg(m_settings.waitForControlPlaneMs);
    if (!serveLocalCopy(QStringLiteral("%1; serving the local copy %2")
                            .arg(why, m_persisted ? m_persisted->file : QString()))) {
        qCWarning(lcSync).noquote() << QStringLiteral(
                                           "%1 and no local copy in %2 (%3): every request gets 404 "
                                           "and /readyz 503 until the control plane answers")
                                           .arg(why, m_settings.dataDir,
                                                m_loadAttempts.join(QLatin1String("; ")));
    }
}

void SyncController::onSourceStatus(const SourceStatus &status)
{
    const bool wasConnected = m_connected;
    m_connected = status.connected;
    if (status.lastOk.isValid())
        m_lastContact = status.lastOk;
    if (status.connected) {
        // With what is live from the control plane, a reconnect resumes the watch where it stopped; a
        // source that cannot trust that history sends a full snapshot next, which replaces everything.
        if (m_liveFromControlPlane && m_state != State::InSync)
            setState(State::InSync, QStringLiteral("reconnected to %1; watching from revision %2")
                                        .arg(status.endpoint)
                                        .arg(m_liveRevision + 1));
        else if (!m_liveFromControlPlane && m_state != State::Syncing)
            setState(
                State::Syncing,
                QStringLiteral("connected to %1; reading everything under the prefix").arg(status.endpoint));
        return;
    }
    const QString error = status.lastError.isEmpty() ? QStringLiteral("connection lost") : status.lastError;
    if (m_state == State::InSync || (wasConnected && m_state == State::Syncing))
        setState(offlineState(), QStringLiteral("control plane lost (%1); serving %2")
                                     .arg(error, m_liveFromControlPlane ? QStringLiteral("from memory")
                                                 : serving()            ? QStringLiteral("the local copy")
                                                                        : QStringLiteral("nothing")));
    // A retry scheduled means every endpoint was tried and none answered: waiting longer for the
    // control plane only delays serving the local copy.
    if (!m_liveFromControlPlane && !serving() && status.retryInMs > 0 && !status.lastError.isEmpty() &&
        m_persisted) {
        m_startupWait.stop();
        serveLocalCopy(QStringLiteral("every control-plane endpoint failed (%1); serving the local copy %2")
                           .arg(status.lastError, m_persisted->file));
    }
}

SyncController::State SyncController::offlineState() const
{
    if (m_liveFromControlPlane)
        return State::Reconnecting;
    return serving() ? State::OfflineLocal : State::Starting;
}

void SyncController::setState(State state, const QString &cause)
{
    if (state == m_state)
        return;
    qCInfo(lcSync).noquote() << "state" << GatewayStatus::stateName(m_state) << "->"
                             << GatewayStatus::stateName(state) << ":" << cause;
    m_state = state;
    m_since = QDateTime::currentDateTimeUtc();
    m_cause = cause;
    emit stateChanged(state, cause);
}

void SyncController::onPersisted(const Persister::Result &result)
{
    GatewayEvent::Persisted event;
    event.ok = result.ok;
    event.revision = result.revision;
    // A failed save computed no digest: the snapshot's own then (a failure is not on the hot path).
    event.sha256 = QString::fromLatin1(result.ok ? result.sha256 : result.snapshot->sha256());
    event.latencyMs = result.latencyMs;
    if (result.ok) {
        PersistedConfig saved;
        saved.file = QLatin1String(ConfigStore::CurrentFile);
        saved.revision = result.revision;
        saved.source = result.source;
        saved.savedAt = result.savedAt;
        saved.recordedSha256 = result.sha256;
        saved.snapshot = result.snapshot;
        m_persisted = std::move(saved);
        if (!m_persistError.isEmpty())
            qCInfo(lcSync).noquote() << "persisting works again: revision" << result.revision << "saved after"
                                     << m_figures.persistFailures << "failed attempts so far";
        m_persistError.clear();
        m_persistErrorSince = QDateTime();
        m_persistRetryInMs = -1;
        if (!result.editedKeptAs.isEmpty()) {
            m_editedKeptAs = result.editedKeptAs;
            event.editedKeptAs = m_editedKeptAs;
        }
        ++m_figures.persistSaves;
        m_figures.lastPersistLatencyMs = result.latencyMs;
        m_figures.persistLatencySumSeconds += double(result.latencyMs) / 1000.0;
        event.savedAt = result.savedAt;
    } else {
        if (m_persistError.isEmpty())
            m_persistErrorSince = QDateTime::currentDateTimeUtc();
        m_persistError = result.error;
        m_persistRetryInMs = result.retryInMs;
        ++m_figures.persistFailures;
        event.error = result.error;
        event.retryInMs = result.retryInMs;
    }
    emit persistFinished(event);
}

GatewayStatus::Persisted SyncController::persistedStatus() const
{
    GatewayStatus::Persisted out;
    if (m_persisted) {
        out.file = m_persisted->file;
        out.revision = m_persisted->revision;
        out.sha256 = QString::fromLatin1(m_persisted->snapshot->sha256());
        out.savedAt = m_persisted->savedAt;
        out.edited = m_persisted->edited;
    }
    out.loadedAtStart = m_loadedAtStart;
    out.attempts = m_loadAttempts;
    out.editedKeptAs = m_editedKeptAs;
    out.error = m_persistError;
    out.errorSince = m_persistErrorSince;
    out.retryInMs = m_persistError.isEmpty() ? -1 : m_persistRetryInMs;
    return out;
}

ResyncAnswer SyncController::reloadLocal()
{
    if (m_state == State::InSync)
        return {false,
                QStringLiteral("in sync with the control plane at revision %1: the local file is applied "
                               "only while offline; use POST /v1/resync to read the control plane again")
                    .arg(m_liveRevision)};
    const ConfigStore::LoadResult loaded = m_store.load();
    if (!loaded.config)
        return {false, QStringLiteral("no valid local copy in %1: %2")
                           .arg(m_settings.dataDir, loaded.attempts.join(QLatin1String("; ")))};
    m_publishSoon.stop();
    m_persister->recogniseCurrentFile(m_store.knownGoodFileDigest());
    m_persisted = loaded.config;
    if (m_persisted->edited)
        m_persister->keepEditedBeforeNextSave(m_persisted->file);
    m_startupWait.stop();
    const QString message = QStringLiteral("serving %1 (revision %2%3) as an operator asked")
                                .arg(m_persisted->file)
                                .arg(m_persisted->revision)
                                .arg(m_persisted->edited ? QStringLiteral(", edited by hand") : QString());
    // The state may not change (already offline_local): log the reload itself.
    qCInfo(lcSync).noquote() << message;
    serveLocalCopy(message);
    return {true, message};
}

bool SyncController::waitPersisted(int timeoutMs)
{
    if (m_publishSoon.isActive()) {
        m_publishSoon.stop();
        publishObjects(m_pendingCause);
    }
    return m_persister->waitIdle(timeoutMs);
}
