#include "gateway.h"

#include "adminhandler.h"
#include "etcdsource.h"
#include "filesource.h"
#include "httpserver.h"
#include "metricsregistry.h"
#include "platformhost.h"
#include "proxyserver.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QThread>

Q_LOGGING_CATEGORY(lcGateway, "holdfast.gateway")

namespace {

QJsonValue optionalDate(const QDateTime &when)
{
    return when.isValid() ? QJsonValue(when.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
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
    p.accessLog = s.resolve(s.accessLog);
    p.accessLogFormat = s.accessLogFormat;
    return p;
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
    if (!QDir().mkpath(m_settings.dataDir)) {
        *error = QStringLiteral("cannot create data_dir %1").arg(m_settings.dataDir);
        return false;
    }
    QFile::setPermissions(m_settings.dataDir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);

    m_host = PlatformHost::create(this);
    connect(m_host.get(), &PlatformHost::stopRequested, this, &Gateway::stop);
    connect(m_host.get(), &PlatformHost::reloadRequested, this, [this] {
        m_host->notifyReloading();
        reloadSettings();
        if (auto *file = qobject_cast<FileSource *>(m_source.get()))
            file->reload();
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
                    m_rejected = {};
                    apply(snapshot, revision, QStringLiteral("%1 changed").arg(m_source->describe()));
                });
        connect(m_source.get(), &ConfigSource::configurationRejected, this,
                [this](const QStringList &errors) {
                    m_rejected = {};
                    for (const QString &e : errors)
                        m_rejected.append(QJsonObject{{QStringLiteral("key"), m_standaloneFile},
                                                      {QStringLiteral("reason"), e}});
                    m_admin->publishEvent("rejected", QJsonObject{{QStringLiteral("rejected"), m_rejected}});
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
    m_source = std::make_unique<EtcdSource>(etcd);

    SyncController::Settings sync;
    sync.dataDir = m_settings.dataDir;
    sync.waitForControlPlaneMs = m_settings.startup.waitForControlPlaneMs;
    sync.serveLocalFirst = m_settings.startup.serveLocalFirst;
    sync.sourceDescription =
        QJsonObject{{QStringLiteral("type"), cp.type},
                    {QStringLiteral("endpoints"), QJsonArray::fromStringList(cp.endpoints)},
                    {QStringLiteral("prefix"), cp.prefix}};
    m_sync = std::make_unique<SyncController>(m_source.get(), sync);
    connect(m_sync.get(), &SyncController::publish, this, &Gateway::apply);
    connect(m_sync.get(), &SyncController::stateChanged, this, &Gateway::setState);
    connect(m_sync.get(), &SyncController::objectRejected, this,
            [this](const QJsonObject &rejection) { m_admin->publishEvent("rejected", rejection); });
    connect(m_sync.get(), &SyncController::persistFinished, this,
            [this](const QJsonObject &result) { m_admin->publishEvent("persisted", result); });
    m_sync->start();
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
    qCInfo(lcGateway).noquote() << "serving revision" << revision << "sha256"
                                << QString::fromLatin1(snapshot->sha256().left(12)) << "from" << cause;
    m_admin->publishEvent("applied",
                          QJsonObject{{QStringLiteral("revision"), revision},
                                      {QStringLiteral("sha256"), QString::fromLatin1(snapshot->sha256())},
                                      {QStringLiteral("counts"), snapshot->counts()}});
}

void Gateway::setState(State state, const QString &cause)
{
    if (state == m_state && m_since.isValid() && state != State::Starting)
        return;
    if (!m_sync) // the controller logs its own transitions
        qCInfo(lcGateway).noquote() << "state" << stateName(m_state) << "->" << stateName(state) << ":"
                                    << cause;
    m_state = state;
    m_since = QDateTime::currentDateTimeUtc();
    m_host->notifyStatus(QStringLiteral("%1: %2").arg(stateName(state), cause));
    m_admin->publishEvent("state", QJsonObject{{QStringLiteral("state"), stateName(state)},
                                               {QStringLiteral("cause"), cause},
                                               {QStringLiteral("since"), optionalDate(m_since)}});
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

QJsonObject Gateway::status() const
{
    QJsonObject out{{QStringLiteral("state"), stateName(state())},
                    {QStringLiteral("ready"), ready()},
                    {QStringLiteral("version"), QCoreApplication::applicationVersion()}};
    if (m_sync) {
        out.insert(QStringLiteral("since"), optionalDate(m_sync->since()));
        out.insert(QStringLiteral("cause"), m_sync->stateCause());
        out.insert(QStringLiteral("control_plane"), m_sync->controlPlaneJson());
        out.insert(QStringLiteral("live"), m_sync->liveJson());
        out.insert(QStringLiteral("persisted"), m_sync->persistedJson());
        out.insert(QStringLiteral("rejected"), m_sync->rejectedJson());
        return out;
    }
    out.insert(QStringLiteral("since"), optionalDate(m_since));
    out.insert(QStringLiteral("control_plane"),
               QJsonObject{{QStringLiteral("type"), QStringLiteral("file")},
                           {QStringLiteral("endpoints"), QJsonArray{m_standaloneFile}},
                           {QStringLiteral("connected"), m_state == State::Standalone},
                           {QStringLiteral("last_ok"), QJsonValue()},
                           {QStringLiteral("last_error"), QJsonValue()},
                           {QStringLiteral("retry_in_ms"), QJsonValue()}});
    out.insert(QStringLiteral("live"),
               QJsonObject{{QStringLiteral("revision"), m_live ? QJsonValue(m_liveRevision) : QJsonValue()},
                           {QStringLiteral("sha256"),
                            m_live ? QJsonValue(QString::fromLatin1(m_live->sha256())) : QJsonValue()},
                           {QStringLiteral("counts"), m_live ? m_live->counts() : QJsonObject()}});
    out.insert(QStringLiteral("persisted"), QJsonObject{{QStringLiteral("file"), QJsonValue()},
                                                        {QStringLiteral("attempts"), QJsonArray()},
                                                        {QStringLiteral("revision"), QJsonValue()},
                                                        {QStringLiteral("sha256"), QJsonValue()},
                                                        {QStringLiteral("saved_at"), QJsonValue()},
                                                        {QStringLiteral("edited"), false},
                                                        {QStringLiteral("error"), QJsonValue()}});
    out.insert(QStringLiteral("rejected"), m_rejected);
    return out;
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
    return {{QStringLiteral("revision"), liveRevision()},
            {QStringLiteral("sha256"), QString::fromLatin1(m_live->sha256())},
            {QStringLiteral("config"), m_live->json()}};
}

std::optional<QJsonObject> Gateway::persistedConfig() const
{
    if (!m_sync || !m_sync->persisted())
        return std::nullopt;
    const PersistedConfig &p = *m_sync->persisted();
    return QJsonObject{{QStringLiteral("file"), p.file},
                       {QStringLiteral("revision"), p.revision},
                       {QStringLiteral("sha256"), QString::fromLatin1(p.snapshot->sha256())},
                       {QStringLiteral("recorded_sha256"), QString::fromLatin1(p.recordedSha256)},
                       {QStringLiteral("edited"), p.edited},
                       {QStringLiteral("saved_at"), optionalDate(p.savedAt)},
                       {QStringLiteral("source"), p.source},
                       {QStringLiteral("config"), p.snapshot->json()}};
}

QByteArray Gateway::metrics()
{
    MetricsRegistry &m = *m_metrics;
    m.setGauge("holdfast_config_live_revision", "Revision of the configuration being served.",
               double(liveRevision()));
    m.setGauge("holdfast_ready", "1 while a configuration is being served.", ready() ? 1 : 0);
    for (State s : {State::Starting, State::OfflineLocal, State::Syncing, State::InSync, State::Reconnecting,
                    State::Standalone})
        m.setGauge("holdfast_sync_state", "1 for the gateway's sync state, 0 for the others.",
                   state() == s ? 1 : 0, {{"state", stateName(s).toLatin1()}});
    if (!m_sync)
        return m.render(m_proxy->collectMetrics());

    const SyncController::Figures &f = m_sync->figures();
    const SourceStatus source = m_sync->sourceStatus();
    const auto &persisted = m_sync->persisted();
    m.setGauge("holdfast_config_persisted_revision", "Revision of the configuration on disk (-1: none).",
               persisted ? double(persisted->revision) : -1);
    m.setGauge("holdfast_control_plane_connected", "1 while connected to the control plane.",
               source.connected ? 1 : 0);
    m.setGauge("holdfast_control_plane_last_contact_seconds",
               "Seconds since the control plane last answered (-1: never since start).",
               source.lastOk.isValid()
                   ? double(source.lastOk.msecsTo(QDateTime::currentDateTimeUtc())) / 1000.0
                   : -1);
    m.setCounter("holdfast_sync_full_syncs_total", "Full syncs applied.", double(f.fullSyncs));
    m.setCounter("holdfast_sync_changes_applied_total", "Objects put or deleted from the control plane.",
                 double(f.changesApplied));
    m.setCounter("holdfast_sync_rejections_total", "Objects rejected by validation.", double(f.rejections));
    m.setGauge("holdfast_sync_rejected_objects",
               "Objects currently rejected (their last good version serves).",
               double(m_sync->rejections().size()));
    m.setGauge("holdfast_sync_ignored_keys",
               "Keys under the prefix that are not routes, upstreams or services.",
               double(m_sync->ignoredKeys()));
    m.setCounter("holdfast_persist_saves_total", "Generations written to the local copy.",
                 double(f.persistSaves));
    m.setCounter("holdfast_persist_failures_total", "Failed attempts to write the local copy.",
                 double(f.persistFailures));
    m.setGauge("holdfast_persist_error", "1 while the last attempt to write the local copy failed.",
               m_sync->persistError().isEmpty() ? 0 : 1);
    m.setGauge("holdfast_persist_latency_seconds",
               "From a change being applied to it being on disk, last save.",
               f.lastPersistLatencyMs >= 0 ? double(f.lastPersistLatencyMs) / 1000.0 : 0);
    m.setCounter("holdfast_persist_latency_seconds_total", "Sum of the apply-to-disk latency of every save.",
                 f.persistLatencySumSeconds);
    return m.render(m_proxy->collectMetrics());
}

QJsonObject Gateway::resync()
{
    if (m_sync)
        return m_sync->requestResync();
    const bool ok = static_cast<FileSource *>(m_source.get())->reload();
    return {{QStringLiteral("accepted"), ok},
            {QStringLiteral("message"),
             ok ? QStringLiteral("re-read %1").arg(m_standaloneFile)
                : QStringLiteral("%1 is not valid; see status.rejected").arg(m_standaloneFile)}};
}

QJsonObject Gateway::reloadLocal()
{
    if (m_sync)
        return m_sync->reloadLocal();
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

    QStringList later;
    const auto listenText = [](const QList<ListenAddress> &list) {
        QStringList out;
        for (const ListenAddress &l : list)
            out << QStringLiteral("%1:%2").arg(l.address.toString()).arg(l.port);
        return out;
    };
    if (listenText(s.listen) != listenText(m_settings.listen))
        later << QStringLiteral("listen");
    if (s.workers != m_settings.workers)
        later << QStringLiteral("workers");
    if (s.router != m_settings.router)
        later << QStringLiteral("router");
    if (s.admin.address != m_settings.admin.address || s.admin.port != m_settings.admin.port ||
        s.admin.tokenFile != m_settings.admin.tokenFile)
        later << QStringLiteral("admin");
    const BootstrapSettings::ControlPlane &a = s.controlPlane;
    const BootstrapSettings::ControlPlane &b = m_settings.controlPlane;
    if (a.endpoints != b.endpoints || a.prefix != b.prefix || a.username != b.username ||
        a.password != b.password || a.tlsCa != b.tlsCa || a.tlsCert != b.tlsCert || a.tlsKey != b.tlsKey ||
        a.timeoutMs != b.timeoutMs || a.livenessMs != b.livenessMs ||
        a.backoffInitialMs != b.backoffInitialMs || a.backoffMaxMs != b.backoffMaxMs)
        later << QStringLiteral("control_plane");
    if (s.limits.maxHeaderBytes != m_settings.limits.maxHeaderBytes ||
        s.limits.maxBodyBytes != m_settings.limits.maxBodyBytes ||
        s.limits.clientHeaderTimeoutMs != m_settings.limits.clientHeaderTimeoutMs ||
        s.limits.clientKeepaliveTimeoutMs != m_settings.limits.clientKeepaliveTimeoutMs ||
        s.limits.underscoresInHeaders != m_settings.limits.underscoresInHeaders)
        later << QStringLiteral("limits");
    if (!wasOn && !s.accessLog.isEmpty())
        later << QStringLiteral("access_log (off at start)");
    if (!later.isEmpty())
        qCWarning(lcGateway).noquote() << "SIGHUP: changed settings take effect at the next restart:"
                                       << later.join(QStringLiteral(", "));

    const QString keptAccessLog = wasOn ? s.accessLog : m_settings.accessLog;
    const QString keptFormat = wasOn ? s.accessLogFormat : m_settings.accessLogFormat;
    m_settings.accessLog = keptAccessLog;
    m_settings.accessLogFormat = keptFormat;
    m_settings.startup = s.startup;
}
