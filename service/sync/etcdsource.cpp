#include "etcdsource.h"

#include "etcdjson.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRandomGenerator>

#include <algorithm>

Q_LOGGING_CATEGORY(lcSyncEtcd, "holdfast.sync.etcd")

EtcdSource::EtcdSource(EtcdSettings settings, QObject *parent)
    : ConfigSource(parent)
    , m_settings(std::move(settings))
    , m_client(new EtcdClient(m_settings, this))
{
    for (QString &endpoint : m_settings.endpoints) {
        while (endpoint.endsWith(QLatin1Char('/')))
            endpoint.chop(1);
    }
    m_settings.endpoints.removeAll(QString());
    m_keyPrefix = m_settings.prefix.toUtf8();
    if (!m_keyPrefix.endsWith('/'))
        m_keyPrefix.append('/');
    m_settings.pageLimit = std::max(1, m_settings.pageLimit);
    m_settings.backoffInitialMs = std::max(1, m_settings.backoffInitialMs);
    m_settings.backoffMaxMs = std::max(m_settings.backoffInitialMs, m_settings.backoffMaxMs);

    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, &EtcdSource::connectNow);
    m_livenessTimer.setSingleShot(true);
    connect(&m_livenessTimer, &QTimer::timeout, this, &EtcdSource::probe);

    if (!m_settings.endpoints.isEmpty()) {
        m_client->setEndpoint(m_settings.endpoints.first());
        m_status.endpoint = m_settings.endpoints.first();
    }
    m_published = m_status;
}

EtcdSource::~EtcdSource()
{
    // Handlers of requests still in flight point at this object: drop them before it goes.
    m_client->abortAll();
}

QString EtcdSource::describe() const
{
    return QStringLiteral("etcd %1 prefix %2")
        .arg(m_settings.endpoints.join(QLatin1Char(',')), QString::fromUtf8(m_keyPrefix.chopped(1)));
}

void EtcdSource::start()
{
    if (m_phase != Phase::Idle)
        return;
    if (m_settings.endpoints.isEmpty()) {
        m_status.lastError = QStringLiteral("control_plane.endpoints: no endpoint configured");
        qCWarning(lcSyncEtcd).noquote() << m_status.lastError;
        publishStatus();
        return;
    }
    connectNow();
}

void EtcdSource::stop()
{
    ++m_generation;
    m_client->abortAll();
    m_retryTimer.stop();
    m_livenessTimer.stop();
    m_probing = false;
    m_phase = Phase::Idle;
    m_status.connected = false;
    m_status.retryInMs = -1;
    publishStatus();
}

ResyncAnswer EtcdSource::requestResync()
{
    qCInfo(lcSyncEtcd) << "full resync requested";
    m_forceFullSync = true;
    const ResyncAnswer answer{true, QStringLiteral("asked %1 for a full resync").arg(describe())};
    if (m_phase == Phase::Idle)
        return answer; // start() will sync in full
    if (m_phase == Phase::Waiting)
        connectNow();
    else
        beginFullSync(QStringLiteral("requested"));
    return answer;
}

void EtcdSource::connectNow()
{
    m_retryTimer.stop();
    const QString endpoint = m_settings.endpoints.at(m_endpointIndex);
    m_client->setEndpoint(endpoint);
    m_status.endpoint = endpoint;
    m_status.retryInMs = -1;
    publishStatus();
    if (m_forceFullSync || m_revision == 0) {
        beginFullSync(m_revision == 0 ? QStringLiteral("first connection")
                                      : QStringLiteral("history not trusted"));
    } else {
        // After an outage the watch resumes from the next revision; etcd then says whether that
        // history still exists (compaction) and whether it is the same cluster.
        startWatch();
    }
}

void EtcdSource::beginFullSync(const QString &why)
{
    ++m_generation;
    m_client->abortAll();
    m_livenessTimer.stop();
    m_probing = false;
    m_phase = Phase::Syncing;
    m_forceFullSync = true;
    m_syncRevision = 0;
    m_syncClusterId.clear();
    m_syncObjectCount = 0;
    m_syncPages = 0;
    m_syncClock.start();
    qCInfo(lcSyncEtcd).noquote() << "full sync from" << m_client->endpoint()
                                 << QStringLiteral("(%1)").arg(why);
    const quint64 generation = m_generation;
    emit snapshotStarted();
    if (generation == m_generation)
        requestPage(m_keyPrefix);
}

void EtcdSource::requestPage(const QByteArray &fromKey)
{
    EtcdRangeRequest request;
    request.key = fromKey;
    request.rangeEnd = rangeEnd();
    request.limit = m_settings.pageLimit;
    // Later pages read at the revision of the first, so the whole set is one consistent state.
    request.revision = m_syncRevision;
    if (!readsOverGrpc()) {
        requestJsonPage(request, {});
        return;
    }
    const quint64 generation = m_generation;
    m_client->grpcRange(
        request, [this, generation, request](const EtcdClient::Response &r, const EtcdRangePage &page) {
            if (generation != m_generation)
                return;
            const QString endpoint = m_client->endpoint();
            // Only an endpoint that never answered over gRPC is taken for one that cannot: a timeout or
            // a dropped connection where gRPC has worked is an ordinary failure, retried as any other.
            if (!r.ok && r.notGrpc && m_settings.fullSyncTransport == EtcdSettings::FullSyncTransport::Auto &&
                !m_grpcEndpoints.contains(endpoint)) {
                requestJsonPage(request, r.error);
                return;
            }
            if (r.ok)
                m_grpcEndpoints.insert(endpoint);
            onPage(r, page, generation);
        });
}

void EtcdSource::requestJsonPage(const EtcdRangeRequest &request, const QString &grpcError)
{
    const quint64 generation = m_generation;
    m_client->call(QByteArrayLiteral("/v3/kv/range"), EtcdRangeCodec::requestToJson(request),
                   [this, generation, grpcError](EtcdClient::Response r) {
                       if (generation != m_generation)
                           return;
                       const QString endpoint = m_client->endpoint();
                       if (!grpcError.isEmpty()) {
                           if (!r.ok) {
                               // Neither way works: the endpoint is down or broken, not merely gRPC-less.
                               r.error = QStringLiteral("%1 (over gRPC: %2)").arg(r.error, grpcError);
                           } else if (!m_jsonOnlyEndpoints.contains(endpoint)) {
                               m_jsonOnlyEndpoints.insert(endpoint);
                               qCWarning(lcSyncEtcd).noquote()
                                   << QStringLiteral("%1 does not serve etcd's gRPC API (%2) but its JSON "
                                                     "gateway answers: full syncs from it read through the "
                                                     "gateway from now on (control_plane.full_sync)")
                                          .arg(endpoint, grpcError);
                           }
                       }
                       onPage(r, r.ok ? EtcdRangeCodec::pageFromJson(r.body) : EtcdRangePage(), generation);
                   });
}

bool EtcdSource::readsOverGrpc() const
{
    switch (m_settings.fullSyncTransport) {
    case EtcdSettings::FullSyncTransport::Grpc:
        return true;
    case EtcdSettings::FullSyncTransport::Json:
        return false;
    case EtcdSettings::FullSyncTransport::Auto:
        break;
    }
    return !m_jsonOnlyEndpoints.contains(m_client->endpoint());
}

void EtcdSource::onPage(const EtcdClient::Response &r, const EtcdRangePage &range, quint64 generation)
{
    if (!r.ok) {
        if (r.compacted() && m_syncRevision > 0 && m_compactedRestarts < 5) {
            ++m_compactedRestarts;
            beginFullSync(QStringLiteral("revision %1 was compacted between pages").arg(m_syncRevision));
            return;
        }
        fail(QStringLiteral("full sync: %1").arg(r.error));
        return;
    }
    if (m_syncPages == 0) {
        m_syncRevision = range.revision;
        m_syncClusterId = range.clusterId;
        m_status.connected = true;
    }
    markOk();
    QList<SourceObject> page;
    page.reserve(range.kvs.size());
    for (const EtcdKeyValue &kv : range.kvs) {
        const QString key = relativeKey(kv.key);
        if (!key.isEmpty())
            page.append({key, kv.value, kv.modRevision});
    }
    const QByteArray lastKey = range.kvs.isEmpty() ? QByteArray() : range.kvs.constLast().key;
    const bool more = range.more && !lastKey.isEmpty();
    // The next page is asked for before this one is handed on: etcd reads and encodes it while the
    // caller parses this one.
    if (more)
        requestPage(lastKey + QByteArray(1, '\0'));
    ++m_syncPages;
    m_syncObjectCount += page.size();
    emit fullSyncProgress(m_syncRevision, m_syncPages, int(m_syncObjectCount));
    if (generation != m_generation)
        return;
    if (more) {
        emit snapshotPart(m_syncRevision, page);
        return;
    }

    m_compactedRestarts = 0;
    if (!m_clusterId.isEmpty() && m_clusterId != m_syncClusterId)
        qCWarning(lcSyncEtcd).noquote() << "cluster id changed from" << m_clusterId << "to" << m_syncClusterId
                                        << "- the control plane was rebuilt";
    m_clusterId = m_syncClusterId;
    m_status.clusterId = m_clusterId;
    m_revision = m_syncRevision;
    m_forceFullSync = false;
    qCInfo(lcSyncEtcd).noquote()
        << QStringLiteral("full sync: %1 objects at revision %2 in %3 page(s) from %4 %5 in %6 ms")
               .arg(m_syncObjectCount)
               .arg(m_revision)
               .arg(m_syncPages)
               .arg(m_client->endpoint(), readsOverGrpc() ? QStringLiteral("over gRPC")
                                                          : QStringLiteral("through the JSON gateway"))
               .arg(m_syncClock.elapsed());
    publishStatus();
    emit snapshotLoaded(m_revision, page);
    if (generation == m_generation)
        startWatch();
}

void EtcdSource::startWatch()
{
    ++m_generation;
    m_phase = Phase::Watching;
    m_probing = false;
    const QJsonObject create{{QStringLiteral("key"), EtcdJson::base64(m_keyPrefix)},
                             {QStringLiteral("range_end"), EtcdJson::base64(rangeEnd())},
                             {QStringLiteral("start_revision"), QString::number(m_revision + 1)},
                             {QStringLiteral("progress_notify"), true}};
    // Until the first message arrives the endpoint has not shown it is alive either.
    m_livenessTimer.start(m_settings.livenessMs);
    const quint64 generation = m_generation;
    m_client->watch(
        create,
        [this, generation](const QJsonObject &message) {
            if (generation == m_generation)
                onWatchMessage(message);
        },
        [this, generation](const EtcdClient::Response &r) {
            if (generation == m_generation)
                fail(QStringLiteral("watch: %1").arg(r.error));
        });
}

void EtcdSource::onWatchMessage(const QJsonObject &message)
{
    m_livenessTimer.start(m_settings.livenessMs);
    if (!message.contains(QLatin1String("result"))) {
        const QJsonValue error = message.value(QLatin1String("error"));
        const QString text = error.isObject() ? error.toObject().value(QLatin1String("message")).toString()
                                              : message.value(QLatin1String("message")).toString();
        fail(QStringLiteral("watch: %1").arg(text.isEmpty() ? QStringLiteral("unexpected message") : text));
        return;
    }
    const QJsonObject result = message.value(QLatin1String("result")).toObject();
    const QJsonObject header = result.value(QLatin1String("header")).toObject();
    QString why;
    if (!headerTrusted(header, &why)) {
        beginFullSync(why);
        return;
    }
    const qint64 compactRevision = EtcdJson::int64(result.value(QLatin1String("compact_revision")));
    if (compactRevision > 0) {
        beginFullSync(QStringLiteral("revision %1 was compacted (oldest kept: %2)")
                          .arg(m_revision + 1)
                          .arg(compactRevision));
        return;
    }
    if (result.value(QLatin1String("canceled")).toBool()) {
        fail(QStringLiteral("watch canceled: %1")
                 .arg(result.value(QLatin1String("cancel_reason")).toString()));
        return;
    }
    const bool created = result.value(QLatin1String("created")).toBool();
    if (created) {
        m_failures = 0;
        m_status.connected = true;
        if (m_clusterId.isEmpty()) {
            m_clusterId = header.value(QLatin1String("cluster_id")).toString();
            m_status.clusterId = m_clusterId;
        }
        qCInfo(lcSyncEtcd).noquote() << "watching" << m_client->endpoint() << "from revision"
                                     << m_revision + 1;
    }
    markOk();

    const QJsonArray events = result.value(QLatin1String("events")).toArray();
    if (events.isEmpty()) {
        // A progress notification: every change up to the header revision has been sent.
        if (!created)
            m_revision = std::max(m_revision, EtcdJson::int64(header.value(QLatin1String("revision"))));
        return;
    }
    QList<SourceEvent> changes;
    changes.reserve(events.size());
    qint64 revision = m_revision;
    for (const QJsonValue &value : events) {
        const QJsonObject event = value.toObject();
        const QJsonObject kv = event.value(QLatin1String("kv")).toObject();
        SourceEvent change;
        change.key = relativeKey(EtcdJson::bytes(kv.value(QLatin1String("key"))));
        if (change.key.isEmpty())
            continue;
        // proto3 JSON leaves out a field at its default value: no "type" is PUT.
        if (event.value(QLatin1String("type")).toString() == QLatin1String("DELETE"))
            change.type = SourceEvent::Type::Delete;
        else
            change.value = EtcdJson::bytes(kv.value(QLatin1String("value")));
        change.modRevision = EtcdJson::int64(kv.value(QLatin1String("mod_revision")));
        revision = std::max(revision, change.modRevision);
        changes.append(std::move(change));
    }
    // A response may carry the current store revision while older events are still to come, so the
    // resume point follows the events, not the header.
    m_revision = revision;
    if (!changes.isEmpty())
        emit changesArrived(m_revision, changes);
}

void EtcdSource::probe()
{
    if (m_phase != Phase::Watching || m_probing)
        return;
    m_probing = true;
    // A linearizable read of one key: cheap, yet it needs a leader and a working raft to answer.
    const QJsonObject body{{QStringLiteral("key"), EtcdJson::base64(m_keyPrefix)},
                           {QStringLiteral("keys_only"), true},
                           {QStringLiteral("limit"), QStringLiteral("1")}};
    const quint64 generation = m_generation;
    m_client->call(QByteArrayLiteral("/v3/kv/range"), body,
                   [this, generation](const EtcdClient::Response &r) {
                       if (generation != m_generation)
                           return;
                       m_probing = false;
                       if (!r.ok && r.transport) {
                           fail(QStringLiteral("watch silent for %1 ms and the liveness probe failed: %2")
                                    .arg(m_settings.livenessMs)
                                    .arg(r.error));
                           return;
                       }
                       if (r.ok) {
                           QString why;
                           if (!headerTrusted(r.body.value(QLatin1String("header")).toObject(), &why)) {
                               beginFullSync(why);
                               return;
                           }
                       }
                       markOk(); // an etcd error (permissions, say) still proves the endpoint answers
                       m_livenessTimer.start(m_settings.livenessMs);
                   });
}

void EtcdSource::fail(const QString &error)
{
    ++m_generation;
    m_client->abortAll();
    m_livenessTimer.stop();
    m_probing = false;
    const QString endpoint = m_client->endpoint();
    m_status.connected = false;
    m_status.lastError = QStringLiteral("%1: %2").arg(endpoint, error);

    ++m_failures;
    const int count = int(m_settings.endpoints.size());
    m_endpointIndex = (m_endpointIndex + 1) % count;
    // Each endpoint gets one immediate try; only a failed round over all of them waits.
    const int delay = m_failures % count == 0 ? backoffDelay(m_failures / count) : 0;
    m_phase = Phase::Waiting;
    m_status.retryInMs = delay;
    m_retryTimer.start(delay);
    qCWarning(lcSyncEtcd).noquote()
        << m_status.lastError
        << QStringLiteral("(next: %1 in %2 ms)").arg(m_settings.endpoints.at(m_endpointIndex)).arg(delay);
    publishStatus();
}

bool EtcdSource::headerTrusted(const QJsonObject &header, QString *why) const
{
    const QString clusterId = header.value(QLatin1String("cluster_id")).toString();
    if (!clusterId.isEmpty() && !m_clusterId.isEmpty() && clusterId != m_clusterId) {
        *why = QStringLiteral("cluster id changed from %1 to %2").arg(m_clusterId, clusterId);
        return false;
    }
    // A compaction notice carries no revision: 0 means "not said", not "went back".
    const qint64 revision = EtcdJson::int64(header.value(QLatin1String("revision")));
    if (revision > 0 && revision < m_revision) {
        *why = QStringLiteral("revision went back from %1 to %2").arg(m_revision).arg(revision);
        return false;
    }
    return true;
}

void EtcdSource::markOk()
{
    m_status.lastOk = QDateTime::currentDateTimeUtc();
    m_status.lastError.clear();
    publishStatus();
}

void EtcdSource::publishStatus()
{
    // lastOk moves with every answer; it rides along with the other fields instead of being an event.
    const bool changed =
        m_status.connected != m_published.connected || m_status.endpoint != m_published.endpoint ||
        m_status.lastError != m_published.lastError || m_status.retryInMs != m_published.retryInMs ||
        m_status.clusterId != m_published.clusterId;
    m_published = m_status;
    if (changed)
        emit statusChanged(m_status);
}

int EtcdSource::backoffDelay(int round) const
{
    int base = m_settings.backoffInitialMs;
    for (int i = 1; i < round && base < m_settings.backoffMaxMs; ++i)
        base = base > m_settings.backoffMaxMs / 2 ? m_settings.backoffMaxMs : base * 2;
    base = std::min(base, m_settings.backoffMaxMs);
    // Jitter over the upper half keeps gateways that lost etcd together from returning together.
    const int half = base / 2;
    return half + QRandomGenerator::global()->bounded(base - half + 1);
}

QByteArray EtcdSource::rangeEnd() const
{
    // The first key after every key that starts with the prefix.
    QByteArray end = m_keyPrefix;
    while (!end.isEmpty()) {
        if (static_cast<unsigned char>(end.back()) < 0xff) {
            end.back() = char(static_cast<unsigned char>(end.back()) + 1);
            return end;
        }
        end.chop(1);
    }
    return QByteArray(1, '\0'); // the whole key space
}

QString EtcdSource::relativeKey(const QByteArray &key) const
{
    if (!key.startsWith(m_keyPrefix) || key.size() == m_keyPrefix.size())
        return {};
    return QString::fromUtf8(key.mid(m_keyPrefix.size()));
}
