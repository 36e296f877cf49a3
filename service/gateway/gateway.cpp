#include "gateway.h"

#include "adminhandler.h"
#include "etcdclient.h"
#include "etcdsource.h"
#include "filesource.h"
#include "httpserver.h"
#include "jsonreader.h"
#include "metricsregistry.h"
#include "platformhost.h"
#include "proxyserver.h"
#include "syncmetrics.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QPointer>
#include <QThread>

#include <utility>

Q_LOGGING_CATEGORY(lcGateway, "holdfast.gateway")

namespace {

GatewayStatus::Counts countsOf(const ConfigSnapshot &snapshot)
{
    return {snapshot.routes().size(), snapshot.upstreams().size(), snapshot.services().size()};
}

ProxySettings proxySettings(const BootstrapSettings &s)
{
    ProxySettings p;
    p.listen.clear();
    for (const ListenAddress &l : s.listen)
        p.listen.append(ProxySettings::Listen{l.address, l.port});
    p.workers = s.workers;
    Router::kindFromName(s.router, &p.routerKind);
    p.limits.maxHeaderBytes = s.limits.maxHeaderBytes;
    p.limits.maxBodyBytes = s.limits.maxBodyBytes;
    p.limits.headerTimeoutMs = s.limits.clientHeaderTimeoutMs;
    p.limits.keepaliveTimeoutMs = s.limits.clientKeepaliveTimeoutMs;
    p.limits.keepUnderscoreHeaders = s.limits.underscoresInHeaders;
    p.limits.maxConnections = s.limits.maxConnections;
    p.limits.bodyTotalTimeoutMs = s.limits.clientBodyTimeoutMs;
    p.policy.realIpFrom = s.realIpFrom;
    p.policy.requestBufferBytes = s.limits.requestBufferBytes;
    p.accessLog = s.resolve(s.accessLog);
    p.accessLogFormat = s.accessLogFormat;
    return p;
}

QJsonObject answerJson(const ResyncAnswer &answer)
{
    return {{QStringLiteral("accepted"), answer.accepted}, {QStringLiteral("message"), answer.message}};
}

} // namespace

Gateway::Gateway(BootstrapSettings settings, QString standaloneFile, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_standaloneFile(std::move(standaloneFile))
    , m_since(QDateTime::currentDateTimeUtc())
{}

Gateway::~Gateway()
{
    // The controller writes what is still waiting as it goes; the proxy it would publish to may be
    // gone by then, so it talks to nobody any more.
    if (m_sync) {
        m_sync->disconnect(this);
        m_sync.reset();
    }
}

bool Gateway::start(QString *error)
{
    m_host = PlatformHost::create(this);
    if (!m_host->prepareDataDir(m_settings.dataDir, error))
        return false;
    connect(m_host.get(), &PlatformHost::stopRequested, this, &Gateway::stop);
    connect(m_host.get(), &PlatformHost::reloadRequested, this, [this] {
        m_host->notifyReloading();
        reloadSettings();
        if (!m_sync) // standalone: SIGHUP re-reads the file too
            m_source->requestResync();
        m_host->notifyReady();
    });

    // The standalone file is read before anything listens, so a bad file is a clear start-up error.
    SnapshotPtr initial;
    qint64 initialRevision = 0;
    if (!m_standaloneFile.isEmpty()) {
        auto source = std::make_unique<FileSource>(m_standaloneFile);
        QStringList fileErrors;
        connect(source.get(), &ConfigSource::configurationRejected, this,
                [&fileErrors](const QStringList &errors) { fileErrors = errors; });
        connect(source.get(), &ConfigSource::configurationReady, this,
                [&initial, &initialRevision](const SnapshotPtr &snapshot, qint64 revision) {
                    initial = snapshot;
                    initialRevision = revision;
                });
        if (!source->reload()) {
            *error = QStringLiteral("%1 cannot be served:\n  %2")
                         .arg(m_standaloneFile, fileErrors.join(QStringLiteral("\n  ")));
            return false;
        }
        source->disconnect(this);
        m_source = std::move(source);
        m_controlPlane.type = QStringLiteral("file");
        m_controlPlane.endpoints = {m_standaloneFile};
    }

    AdminToken token;
    if (!token.loadOrCreate(m_settings.resolve(m_settings.admin.tokenFile), error))
        return false;

    m_metrics = std::make_unique<MetricsRegistry>();
    m_proxy = std::make_unique<ProxyServer>(proxySettings(m_settings));
    if (!m_proxy->start(error))
        return false;
    connect(m_proxy.get(), &ProxyServer::stopped, qApp, &QCoreApplication::quit);

    m_admin = std::make_unique<AdminHandler>(this, std::move(token), m_settings.admin.maxEventStreams);
    HttpLimits adminLimits;
    adminLimits.maxBodyBytes = 64 * 1024;
    adminLimits.maxConnections = m_settings.admin.maxConnections;
    m_adminServer = std::make_unique<HttpServer>(m_admin.get(), adminLimits);
    if (m_settings.admin.port != 0 &&
        !m_adminServer->listen(m_settings.admin.address, m_settings.admin.port, error)) {
        *error = QStringLiteral("admin API on %1:%2: %3")
                     .arg(m_settings.admin.address.toString())
                     .arg(m_settings.admin.port)
                     .arg(*error);
        return false;
    }
    qCInfo(lcGateway).noquote()
        << "holdfastd" << QCoreApplication::applicationVersion() << "serving on" << m_proxy->serverPorts()
        << "with" << m_proxy->workerCount() << "workers; admin API on"
        << QStringLiteral("%1:%2").arg(m_settings.admin.address.toString()).arg(m_adminServer->serverPort());

    if (m_source) {
        connect(m_source.get(), &ConfigSource::configurationReady, this,
                [this](const SnapshotPtr &snapshot, qint64 revision) {
                    m_fileRejections.clear();
                    apply(snapshot, revision, QStringLiteral("%1 changed").arg(m_source->describe()));
                });
        connect(m_source.get(), &ConfigSource::configurationRejected, this,
                [this](const QStringList &errors) {
                    m_fileRejections.clear();
                    for (const QString &e : errors)
                        m_fileRejections.append(GatewayStatus::Rejection{m_standaloneFile, e, 0});
                    for (const GatewayStatus::Rejection &r : std::as_const(m_fileRejections))
                        publishEvent(GatewayEvent(r));
                });
        apply(initial, initialRevision, m_source->describe());
        m_source->start(); // from now on, changes to the file
        setState(State::Standalone, m_source->describe());
    } else if (!startSync(error)) {
        return false;
    }
    m_host->notifyReady();
    return true;
}

bool Gateway::startSync(QString *error)
{
    const BootstrapSettings::ControlPlane &cp = m_settings.controlPlane;
    if (cp.type != QLatin1String("etcd")) {
        *error =
            QStringLiteral("control_plane.type: \"%1\" is not supported (expected \"etcd\")").arg(cp.type);
        return false;
    }
    EtcdSettings etcd;
    etcd.endpoints = cp.endpoints;
    etcd.prefix = cp.prefix;
    etcd.username = cp.username;
    etcd.password = cp.password;
    const auto resolved = [this](const QString &path) {
        return path.isEmpty() ? path : m_settings.resolve(path);
    };
    etcd.caFile = resolved(cp.tlsCa);
    etcd.certFile = resolved(cp.tlsCert);
    etcd.keyFile = resolved(cp.tlsKey);
    etcd.requestTimeoutMs = cp.timeoutMs;
    etcd.livenessMs = cp.livenessMs;
    etcd.backoffInitialMs = cp.backoffInitialMs;
    etcd.backoffMaxMs = cp.backoffMaxMs;
    etcd.maxResponseBytes = cp.maxResponseBytes;
    etcd.pageLimit = cp.pageSize;
    if (cp.fullSync == QLatin1String("grpc"))
        etcd.fullSyncTransport = EtcdSettings::FullSyncTransport::Grpc;
    else if (cp.fullSync == QLatin1String("json"))
        etcd.fullSyncTransport = EtcdSettings::FullSyncTransport::Json;
    // A TLS file that cannot be read would otherwise mean talking to etcd with other trust than meant.
    const QString tlsError = EtcdClient::checkTls(etcd);
    if (!tlsError.isEmpty()) {
        *error = QStringLiteral("control_plane.tls: %1").arg(tlsError);
        return false;
    }
    m_source = std::make_unique<EtcdSource>(etcd);

    SyncController::Settings sync;
    sync.dataDir = m_settings.dataDir;
    sync.waitForControlPlaneMs = m_settings.startup.waitForControlPlaneMs;
    sync.serveLocalFirst = m_settings.startup.serveLocalFirst;
    sync.sourceDescription =
        QJsonObject{{QStringLiteral("type"), cp.type},
                    {QStringLiteral("endpoints"), QJsonArray::fromStringList(cp.endpoints)},
                    {QStringLiteral("prefix"), cp.prefix}};
    m_controlPlane.type = cp.type;
    m_controlPlane.endpoints = cp.endpoints;
    m_controlPlane.prefix = cp.prefix;
    m_sync = std::make_unique<SyncController>(m_source.get(), sync);
    connect(m_sync.get(), &SyncController::publish, this, &Gateway::apply);
    connect(m_sync.get(), &SyncController::revisionAdvanced, this,
            [this](qint64 revision) { m_liveRevision = revision; });
    connect(m_sync.get(), &SyncController::stateChanged, this, &Gateway::setState);
    connect(m_sync.get(), &SyncController::objectRejected, this,
            [this](const GatewayEvent::Rejected &rejection) { publishEvent(GatewayEvent(rejection)); });
    connect(m_sync.get(), &SyncController::persistFinished, this,
            [this](const GatewayEvent::Persisted &result) { publishEvent(GatewayEvent(result)); });
    m_sync->start();
    if (m_state == State::Starting) // no transition yet: the controller says what it waits for
        m_cause = m_sync->stateCause();
    if (!m_live)
        qCWarning(lcGateway).noquote() << "nothing to serve yet: every request gets 404 and /readyz 503 until"
                                       << "a full sync or the local copy";
    return true;
}

void Gateway::apply(const SnapshotPtr &snapshot, qint64 revision, const QString &cause)
{
    m_live = snapshot;
    m_liveRevision = revision;
    m_proxy->publish(snapshot);
    // The digest of a large configuration takes long (a second at 100k routes): it is computed on a
    // thread of its own, so that this thread goes on applying the next change meanwhile.
    m_appliedPending = Applied{snapshot, revision, cause};
    if (!m_digesting)
        reportApplied();
}

void Gateway::reportApplied()
{
    if (!m_appliedPending) {
        m_digesting = false;
        return;
    }
    m_digesting = true;
    const Applied applied = *std::exchange(m_appliedPending, std::nullopt);
    QPointer<Gateway> self(this);
    m_digests.start([self, applied] {
        applied.snapshot->sha256();
        QMetaObject::invokeMethod(
            self,
            [self, applied] {
                if (!self)
                    return;
                const QString sha256 = QString::fromLatin1(applied.snapshot->sha256());
                qCInfo(lcGateway).noquote() << "serving revision" << applied.revision << "sha256"
                                            << sha256.left(12) << "from" << applied.cause;
                self->publishEvent(GatewayEvent(
                    GatewayEvent::Applied{applied.revision, sha256, countsOf(*applied.snapshot)}));
                self->reportApplied();
            },
            Qt::QueuedConnection);
    });
}

void Gateway::publishEvent(const GatewayEvent &event)
{
    m_admin->publishEvent(event.name(), event.toJson());
}

void Gateway::setState(State state, const QString &cause)
{
    if (state == m_state && m_since.isValid() && state != State::Starting)
        return;
    if (!m_sync) // the controller logs its own transitions
        qCInfo(lcGateway).noquote() << "state" << GatewayStatus::stateName(m_state) << "->"
                                    << GatewayStatus::stateName(state) << ":" << cause;
    m_state = state;
    m_since = QDateTime::currentDateTimeUtc();
    m_cause = cause;
    m_host->notifyStatus(QStringLiteral("%1: %2").arg(GatewayStatus::stateName(state), cause));
    publishEvent(GatewayEvent(GatewayEvent::StateChange{state, cause, m_since}));
}

void Gateway::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_host->notifyStopping();
    m_adminServer->stopListening();
    m_proxy->stop();
}

GatewayStatus Gateway::gatewayStatus() const
{
    GatewayStatus s;
    s.state = m_state;
    s.since = m_since;
    s.cause = m_cause;
    s.ready = ready();
    s.version = QCoreApplication::applicationVersion();

    s.controlPlane = m_controlPlane;
    const SourceStatus source = m_sync ? m_sync->sourceStatus() : m_source->status();
    s.controlPlane.connected = source.connected;
    s.controlPlane.endpoint = source.endpoint;
    s.controlPlane.lastOk = source.lastOk;
    s.controlPlane.lastError = source.lastError;
    s.controlPlane.retryInMs = source.retryInMs;
    s.controlPlane.clusterId = source.clusterId;

    if (m_live) {
        s.live.revision = m_liveRevision;
        s.live.sha256 = QString::fromLatin1(m_live->sha256());
        s.live.counts = countsOf(*m_live);
        s.live.from = m_sync ? m_sync->liveOrigin() : GatewayStatus::Origin::File;
    }
    if (m_sync) {
        s.controlPlane.ignoredKeys = m_sync->ignoredKeys();
        s.persisted = m_sync->persistedStatus();
        s.rejected = m_sync->rejections();
    } else {
        s.rejected = m_fileRejections;
    }
    return s;
}

QJsonObject Gateway::status() const
{
    return gatewayStatus().toJson();
}

bool Gateway::ready() const
{
    return m_live != nullptr && !m_stopping;
}

QJsonObject Gateway::liveConfig() const
{
    if (!m_live)
        return {{QStringLiteral("revision"), QJsonValue()},
                {QStringLiteral("sha256"), QJsonValue()},
                {QStringLiteral("config"), QJsonObject()}};
    return {{QStringLiteral("revision"), m_liveRevision},
            {QStringLiteral("sha256"), QString::fromLatin1(m_live->sha256())},
            {QStringLiteral("config"), m_live->json()}};
}

std::optional<QJsonObject> Gateway::persistedConfig() const
{
    if (!m_sync)
        return std::nullopt;
    // Read from the data dir at each call rather than from memory: a hand edit made while the gateway
    // runs then shows in /v1/config/diff at once, which is when an operator wants to see it.
    ConfigStore store(m_settings.dataDir);
    const ConfigStore::LoadResult loaded = store.load();
    if (!loaded.config)
        return std::nullopt;
    const PersistedConfig &p = *loaded.config;
    return QJsonObject{{QStringLiteral("file"), p.file},
                       {QStringLiteral("revision"), p.revision},
                       {QStringLiteral("sha256"), QString::fromLatin1(p.snapshot->sha256())},
                       {QStringLiteral("recorded_sha256"), QString::fromLatin1(p.recordedSha256)},
                       {QStringLiteral("edited"), p.edited},
                       {QStringLiteral("saved_at"), JsonReader::dateValue(p.savedAt)},
                       {QStringLiteral("source"), p.source},
                       {QStringLiteral("config"), p.snapshot->json()}};
}

QJsonObject Gateway::upstreams() const
{
    QJsonArray out;
    const ProxySnapshotPtr current = m_proxy->currentSnapshot();
    if (!current)
        return {{QStringLiteral("upstreams"), out}};
    const QHash<QByteArray, UpstreamPool::NodeConnections> connections = m_proxy->upstreamConnectionsByNode();
    const QHash<QString, UpstreamPtr> byKey = ProxySnapshot::upstreamsByKey(*current->config());
    QStringList keys = byKey.keys();
    keys.sort();
    static const char *const typeNames[] = {"roundrobin", "chash", "least_conn"};
    for (const QString &key : keys) {
        const Upstream &upstream = *byKey.value(key);
        const std::shared_ptr<UpstreamHealth> health =
            current->health() ? current->health()->value(key) : std::shared_ptr<UpstreamHealth>();
        QJsonArray nodes;
        for (int i = 0; i < upstream.nodes.size(); ++i) {
            const QByteArray name = UpstreamHealth::nodeName(upstream.nodes.at(i));
            const UpstreamPool::NodeConnections c = connections.value(name);
            nodes.append(QJsonObject{
                {QStringLiteral("node"), QString::fromLatin1(name)},
                {QStringLiteral("weight"), upstream.nodes.at(i).weight},
                {QStringLiteral("healthy"), health ? QJsonValue(health->isHealthy(i)) : QJsonValue()},
                {QStringLiteral("connections"),
                 QJsonObject{{QStringLiteral("open"), c.open}, {QStringLiteral("idle"), c.idle}}}});
        }
        out.append(QJsonObject{
            {QStringLiteral("key"), key},
            {QStringLiteral("type"), QLatin1String(typeNames[int(upstream.type)])},
            {QStringLiteral("checks"), QJsonObject{{QStringLiteral("active"), upstream.active.enabled},
                                                   {QStringLiteral("passive"), upstream.passive.enabled}}},
            {QStringLiteral("nodes"), nodes}});
    }
    return {{QStringLiteral("upstreams"), out}};
}

QByteArray Gateway::metrics()
{
    SyncMetrics::collectGateway(m_metrics.get(), m_state, ready(), m_liveRevision);
    MetricsRegistry &m = *m_metrics;
    const ProxyServer::RouterFigures &r = m_proxy->routerFigures();
    m.setCounter("holdfast_router_updates_total", "Routers updated in place from the previous generation.",
                 double(r.updates));
    m.setCounter("holdfast_router_rebuilds_total", "Routers built from scratch.", double(r.rebuilds));
    m.setCounter("holdfast_router_self_checks_total",
                 "Updated routers compared with one built from their configuration.", double(r.selfChecks));
    m.setCounter("holdfast_router_self_check_failures_total",
                 "Self-checks that found the updated router different (it was replaced by the rebuilt one).",
                 double(r.selfCheckFailures));
    if (m_sync)
        SyncMetrics::collectSync(m_metrics.get(), *m_sync);
    return m_metrics->render(m_proxy->collectMetrics());
}

QJsonObject Gateway::resync()
{
    qCInfo(lcGateway).noquote() << "resync requested by an operator";
    return answerJson(m_source->requestResync());
}

QJsonObject Gateway::reloadLocal()
{
    if (m_sync)
        return answerJson(m_sync->reloadLocal());
    return resync(); // standalone: the local file is the configuration file
}

// SIGHUP: what can change in place does (the access log's path and format; the log file is reopened in
// any case, for logrotate); what needs new sockets, threads or a new control-plane session is named in
// the log as waiting for a restart. Invalid settings change nothing.
void Gateway::reloadSettings()
{
    AccessLog &log = m_proxy->accessLog();
    if (m_settingsFile.isEmpty()) {
        log.reopen();
        return;
    }
    QStringList errors;
    const std::optional<BootstrapSettings> next = BootstrapSettings::fromFile(m_settingsFile, &errors);
    if (!next) {
        qCWarning(lcGateway).noquote() << "SIGHUP: settings not reloaded, the running ones stay:";
        for (const QString &e : std::as_const(errors))
            qCWarning(lcGateway).noquote() << "  " << e;
        log.reopen();
        return;
    }
    BootstrapSettings s = *next;
    s.dataDir = m_settings.dataDir; // --data-dir, or the running one: moving it needs a restart

    const QString path = s.resolve(s.accessLog);
    const bool wasOn = !m_settings.accessLog.isEmpty();
    if (path != log.path() && wasOn) {
        QString error;
        if (log.open(path, &error))
            qCInfo(lcGateway).noquote()
                << "SIGHUP: access log now" << (path.isEmpty() ? QStringLiteral("off") : path);
        else
            qCWarning(lcGateway).noquote() << "SIGHUP: access log" << path << "not opened:" << error;
    } else {
        log.reopen();
    }
    if (s.accessLogFormat != m_settings.accessLogFormat && wasOn) {
        QString error;
        if (!log.setFormat(s.accessLogFormat.toUtf8(), &error))
            qCWarning(lcGateway).noquote() << "SIGHUP: access_log_format not applied:" << error;
    }

    // What changes in place: the access log (when it was on at start) and the start-up policy (read at the
    // next start-up of the sync). Everything else that differs waits for a restart, and is named.
    BootstrapSettings applied = m_settings;
    if (wasOn) {
        applied.accessLog = s.accessLog;
        applied.accessLogFormat = s.accessLogFormat;
    }
    applied.startup = s.startup;
    QStringList later;
    const std::pair<const char *, bool> sections[] = {
        {"listen", s.listen != applied.listen},
        {"workers", s.workers != applied.workers},
        {"router", s.router != applied.router},
        {"admin", !(s.admin == applied.admin)},
        {"control_plane", !(s.controlPlane == applied.controlPlane)},
        {"limits", !(s.limits == applied.limits)},
        {"access_log (off at start)", !wasOn && !s.accessLog.isEmpty()}};
    for (const auto &[name, changed] : sections)
        if (changed)
            later << QLatin1String(name);
    // A section added to the settings without a line above is still reported, not silently ignored.
    BootstrapSettings rest = s;
    rest.accessLog = applied.accessLog;
    rest.accessLogFormat = applied.accessLogFormat;
    if (later.isEmpty() && rest != applied)
        later << QStringLiteral("other settings");
    if (!later.isEmpty())
        qCWarning(lcGateway).noquote() << "SIGHUP: changed settings take effect at the next restart:"
                                       << later.join(QStringLiteral(", "));

    m_settings = applied;
}
