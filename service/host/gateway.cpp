#include "gateway.h"

#include "adminhandler.h"
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
    p.accessLog = s.resolve(s.accessLog);
    p.accessLogFormat = s.accessLogFormat;
    return p;
}

} // namespace

Gateway::Gateway(BootstrapSettings settings, QString standaloneFile, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_standaloneFile(std::move(standaloneFile))
    , m_store(m_settings.dataDir)
    , m_since(QDateTime::currentDateTimeUtc())
{
}

Gateway::~Gateway() = default;

QString Gateway::stateName(State state)
{
    switch (state) {
    case State::Starting:
        return QStringLiteral("starting");
    case State::OfflineLocal:
        return QStringLiteral("offline_local");
    case State::Syncing:
        return QStringLiteral("syncing");
    case State::InSync:
        return QStringLiteral("in_sync");
    case State::Reconnecting:
        return QStringLiteral("reconnecting");
    case State::Standalone:
        return QStringLiteral("standalone");
    }
    return QString();
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
        // Bootstrap settings that change listeners need a restart; what can change in place does.
        m_host->notifyReloading();
        m_proxy->accessLog().reopen();
        if (m_source)
            static_cast<FileSource *>(m_source.get())->reload();
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
            *error = QStringLiteral("%1 cannot be served:\n  %2").arg(m_standaloneFile, fileErrors.join(QStringLiteral("\n  ")));
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

    m_admin = std::make_unique<AdminHandler>(this, std::move(token));
    HttpLimits adminLimits;
    adminLimits.maxBodyBytes = 64 * 1024;
    m_adminServer = std::make_unique<HttpServer>(m_admin.get(), adminLimits);
    if (m_settings.admin.port != 0 &&
        !m_adminServer->listen(m_settings.admin.address, m_settings.admin.port, error)) {
        *error = QStringLiteral("admin API on %1:%2: %3")
                     .arg(m_settings.admin.address.toString())
                     .arg(m_settings.admin.port)
                     .arg(*error);
        return false;
    }
    qCInfo(lcGateway).noquote() << "holdfastd" << QCoreApplication::applicationVersion() << "serving on"
                                << m_proxy->serverPorts() << "with" << m_proxy->workerCount()
                                << "workers; admin API on"
                                << QStringLiteral("%1:%2").arg(m_settings.admin.address.toString()).arg(m_adminServer->serverPort());

    if (m_source) {
        connect(m_source.get(), &ConfigSource::configurationReady, this,
                [this](const SnapshotPtr &snapshot, qint64 revision) {
                    m_rejected = {};
                    apply(snapshot, revision, QStringLiteral("%1 changed").arg(m_source->describe()));
                });
        connect(m_source.get(), &ConfigSource::configurationRejected, this, [this](const QStringList &errors) {
            m_rejected = {};
            for (const QString &e : errors)
                m_rejected.append(QJsonObject{{QStringLiteral("key"), m_standaloneFile}, {QStringLiteral("reason"), e}});
            m_admin->publishEvent("rejected", QJsonObject{{QStringLiteral("rejected"), m_rejected}});
        });
        apply(initial, initialRevision, m_source->describe());
        m_source->start(); // from now on, changes to the file
        setState(State::Standalone, m_source->describe());
    } else {
        // Sync with the control plane is not built yet (issue 5): serve the local copy.
        loadLocalCopy();
    }
    m_host->notifyReady();
    return true;
}

void Gateway::loadLocalCopy()
{
    const ConfigStore::LoadResult result = m_store.load();
    m_persistedAttempts = result.attempts;
    for (const QString &line : result.attempts)
        qCInfo(lcGateway).noquote() << "local copy:" << line;
    m_persisted = result.config;
    if (m_persisted) {
        apply(m_persisted->snapshot, m_persisted->revision,
              QStringLiteral("local copy %1 (revision %2%3)")
                  .arg(m_persisted->file)
                  .arg(m_persisted->revision)
                  .arg(m_persisted->edited ? QStringLiteral(", edited by hand") : QString()));
        setState(State::OfflineLocal, QStringLiteral("serving the local copy %1").arg(m_persisted->file));
    } else {
        qCWarning(lcGateway).noquote() << "no local copy in" << m_settings.dataDir
                                       << "and no control plane: every request gets 404 and /readyz 503";
        setState(State::Starting, QStringLiteral("no configuration to serve yet"));
    }
}

void Gateway::apply(const SnapshotPtr &snapshot, qint64 revision, const QString &cause)
{
    m_live = snapshot;
    m_liveRevision = revision;
    m_proxy->publish(snapshot);
    qCInfo(lcGateway).noquote() << "serving revision" << revision << "sha256"
                                << QString::fromLatin1(snapshot->sha256().left(12)) << "from" << cause;
    m_admin->publishEvent("applied", QJsonObject{{QStringLiteral("revision"), revision},
                                                 {QStringLiteral("sha256"), QString::fromLatin1(snapshot->sha256())},
                                                 {QStringLiteral("counts"), snapshot->counts()}});
}

void Gateway::setState(State state, const QString &cause)
{
    if (state == m_state && m_since.isValid() && state != State::Starting)
        return;
    qCInfo(lcGateway).noquote() << "state" << stateName(m_state) << "->" << stateName(state) << ":" << cause;
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
    QJsonObject live{{QStringLiteral("revision"), m_live ? QJsonValue(m_liveRevision) : QJsonValue()},
                     {QStringLiteral("sha256"), m_live ? QJsonValue(QString::fromLatin1(m_live->sha256())) : QJsonValue()},
                     {QStringLiteral("counts"), m_live ? m_live->counts() : QJsonObject()}};
    QJsonObject persisted{{QStringLiteral("file"), m_persisted ? QJsonValue(m_persisted->file) : QJsonValue()},
                          {QStringLiteral("attempts"), QJsonArray::fromStringList(m_persistedAttempts)},
                          {QStringLiteral("revision"), m_persisted ? QJsonValue(m_persisted->revision) : QJsonValue()},
                          {QStringLiteral("sha256"),
                           m_persisted ? QJsonValue(QString::fromLatin1(m_persisted->snapshot->sha256())) : QJsonValue()},
                          {QStringLiteral("saved_at"), m_persisted ? optionalDate(m_persisted->savedAt) : QJsonValue()},
                          {QStringLiteral("edited"), m_persisted && m_persisted->edited},
                          {QStringLiteral("error"), QJsonValue()}};
    QJsonObject controlPlane{{QStringLiteral("type"), m_standaloneFile.isEmpty() ? m_settings.controlPlane.type : QStringLiteral("file")},
                             {QStringLiteral("endpoints"), m_standaloneFile.isEmpty()
                                                               ? QJsonArray::fromStringList(m_settings.controlPlane.endpoints)
                                                               : QJsonArray{m_standaloneFile}},
                             {QStringLiteral("connected"), m_state == State::Standalone},
                             {QStringLiteral("last_ok"), QJsonValue()},
                             {QStringLiteral("last_error"), QJsonValue()},
                             {QStringLiteral("retry_in_ms"), QJsonValue()}};
    return {{QStringLiteral("state"), stateName(m_state)},
            {QStringLiteral("since"), optionalDate(m_since)},
            {QStringLiteral("ready"), ready()},
            {QStringLiteral("version"), QCoreApplication::applicationVersion()},
            {QStringLiteral("control_plane"), controlPlane},
            {QStringLiteral("live"), live},
            {QStringLiteral("persisted"), persisted},
            {QStringLiteral("rejected"), m_rejected}};
}

bool Gateway::ready() const
{
    return m_live != nullptr && !m_stopping;
}

QJsonObject Gateway::liveConfig() const
{
    if (!m_live)
        return {{QStringLiteral("revision"), QJsonValue()}, {QStringLiteral("sha256"), QJsonValue()},
                {QStringLiteral("config"), QJsonObject()}};
    return {{QStringLiteral("revision"), m_liveRevision},
            {QStringLiteral("sha256"), QString::fromLatin1(m_live->sha256())},
            {QStringLiteral("config"), m_live->json()}};
}

std::optional<QJsonObject> Gateway::persistedConfig() const
{
    if (!m_persisted)
        return std::nullopt;
    return QJsonObject{{QStringLiteral("file"), m_persisted->file},
                       {QStringLiteral("revision"), m_persisted->revision},
                       {QStringLiteral("sha256"), QString::fromLatin1(m_persisted->snapshot->sha256())},
                       {QStringLiteral("recorded_sha256"), QString::fromLatin1(m_persisted->recordedSha256)},
                       {QStringLiteral("edited"), m_persisted->edited},
                       {QStringLiteral("saved_at"), optionalDate(m_persisted->savedAt)},
                       {QStringLiteral("source"), m_persisted->source},
                       {QStringLiteral("config"), m_persisted->snapshot->json()}};
}

QByteArray Gateway::metrics()
{
    m_metrics->setGauge("holdfast_config_live_revision", "Revision of the configuration being served.",
                        double(m_liveRevision));
    m_metrics->setGauge("holdfast_ready", "1 while a configuration is being served.", ready() ? 1 : 0);
    return m_metrics->render(m_proxy->collectMetrics());
}

QJsonObject Gateway::resync()
{
    if (m_source) {
        const bool ok = static_cast<FileSource *>(m_source.get())->reload();
        return {{QStringLiteral("accepted"), ok},
                {QStringLiteral("message"), ok ? QStringLiteral("re-read %1").arg(m_standaloneFile)
                                               : QStringLiteral("%1 is not valid; see status.rejected").arg(m_standaloneFile)}};
    }
    return {{QStringLiteral("accepted"), false},
            {QStringLiteral("message"), QStringLiteral("no control plane connection in this build")}};
}

QJsonObject Gateway::reloadLocal()
{
    if (m_source)
        return resync();
    loadLocalCopy();
    return {{QStringLiteral("accepted"), m_persisted.has_value()},
            {QStringLiteral("message"), m_persistedAttempts.join(QStringLiteral("; "))}};
}
