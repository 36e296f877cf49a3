#include "proxyserver.h"

#include "listenersockets.h"
#include "proxyworker.h"
#include "router.h"
#include "sharedlistener.h"

#include <QLoggingCategory>
#include <QPointer>
#include <QThread>
#include <QThreadPool>

#include <algorithm>

Q_DECLARE_LOGGING_CATEGORY(lcProxy)

ProxyServer::ProxyServer(const ProxySettings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
{
    m_graceTimer.setSingleShot(true);
    connect(&m_graceTimer, &QTimer::timeout, this, &ProxyServer::finishStop);
    if (m_settings.routerSelfCheckMs > 0) {
        connect(&m_selfCheckTimer, &QTimer::timeout, this, [this] {
            if (m_routerUnchecked)
                checkRouter();
        });
        m_selfCheckTimer.start(m_settings.routerSelfCheckMs);
    }
}

ProxyServer::~ProxyServer()
{
    stopWorkers();
}

bool ProxyServer::start(QString *error)
{
    if (m_running)
        return true;
    if (!m_settings.accessLog.isEmpty()) {
        if (!m_settings.accessLogFormat.isEmpty() &&
            !m_accessLog.setFormat(m_settings.accessLogFormat.toUtf8(), error))
            return false;
        if (!m_accessLog.open(m_settings.accessLog, error))
            return false;
    }
    const int workers = m_settings.workers > 0 ? m_settings.workers : qMax(1, QThread::idealThreadCount());

    // Listening sockets first, so that a port in use fails start() before any thread runs.
    const bool reusePort = ListenerSockets::supportsReusePort();
    QList<QList<qintptr>> perWorker(workers);
    m_ports.clear();
    for (const ProxySettings::Listen &listen : std::as_const(m_settings.listen)) {
        if (!reusePort) {
            m_ports.append(listen.port);
            continue;
        }
        const QList<qintptr> sockets =
            ListenerSockets::openReusePort(listen.address, listen.port, workers, error);
        if (sockets.isEmpty()) {
            for (const auto &list : std::as_const(perWorker)) {
                for (qintptr fd : list)
                    ListenerSockets::closeDescriptor(fd);
            }
            return false;
        }
        m_ports.append(ListenerSockets::localPort(sockets.first()));
        for (int i = 0; i < workers; ++i)
            perWorker[i].append(sockets.at(i));
    }

    m_checker = std::make_unique<ActiveHealthChecker>();
    const auto budget = m_settings.limits.maxConnections > 0
                            ? std::make_shared<ConnectionBudget>(m_settings.limits.maxConnections)
                            : nullptr;
    for (int i = 0; i < workers; ++i) {
        auto *thread = new QThread;
        thread->setObjectName(QStringLiteral("proxy-worker-%1").arg(i));
        auto *worker = new ProxyWorker(i, m_settings.limits, m_settings.policy,
                                       m_settings.accessLog.isEmpty() ? nullptr : &m_accessLog, budget);
        worker->moveToThread(thread);
        connect(worker, &ProxyWorker::drained, this, &ProxyServer::onWorkerDrained, Qt::QueuedConnection);
        thread->start();
        m_threads.append(thread);
        m_workers.append(worker);
        bool ok = false;
        QString workerError;
        const QList<qintptr> descriptors = perWorker.at(i);
        QMetaObject::invokeMethod(
            worker, [&] { ok = worker->setUp(descriptors, &workerError); }, Qt::BlockingQueuedConnection);
        if (!ok) {
            if (error)
                *error = workerError;
            stopWorkers();
            return false;
        }
    }
    if (!reusePort) {
        for (qsizetype i = 0; i < m_settings.listen.size(); ++i) {
            auto *listener = new SharedListener(m_workers, this);
            if (!listener->listen(m_settings.listen.at(i).address, m_settings.listen.at(i).port)) {
                if (error)
                    *error = QStringLiteral("cannot listen on %1:%2: %3")
                                 .arg(m_settings.listen.at(i).address.toString())
                                 .arg(m_settings.listen.at(i).port)
                                 .arg(listener->errorString());
                delete listener;
                stopWorkers();
                return false;
            }
            m_ports[i] = listener->serverPort();
            m_sharedListeners.append(listener);
        }
    }
    m_running = true;
    if (m_current) {
        for (ProxyWorker *worker : std::as_const(m_workers)) {
            const ProxySnapshotPtr snapshot = m_current;
            QMetaObject::invokeMethod(
                worker, [worker, snapshot] { worker->setSnapshot(snapshot); }, Qt::QueuedConnection);
        }
        m_checker->setTargets(m_current->health());
    }
    qCInfo(lcProxy) << "proxy listening on ports" << m_ports << "with" << workers << "workers"
                    << (reusePort ? "(SO_REUSEPORT)" : "(shared listener)");
    return true;
}

namespace {

// Whether a change can alter the set of upstreams the health registry tracks (ProxySnapshot::upstreamsByKey).
bool reachesUpstreams(const ConfigSnapshot &before, const ConfigSnapshot &after)
{
    const ConfigSnapshot::Changes &changes = after.changes();
    if (!changes.upstreams.isEmpty() || !changes.services.isEmpty())
        return true;
    const auto reaches = [](const RoutePtr &route) {
        return route && (route->upstream || !route->serviceId.isEmpty());
    };
    return std::any_of(changes.routes.cbegin(), changes.routes.cend(), [&](const QString &id) {
        return reaches(before.routes().value(id)) || reaches(after.routes().value(id));
    });
}

} // namespace

void ProxyServer::publish(const SnapshotPtr &snapshot)
{
    const SnapshotPtr config = snapshot ? snapshot : ConfigSnapshot::empty();
    const ProxySnapshotPtr previous = m_current;
    // A snapshot derived from the one being served updates its router; anything else is built anew.
    if (previous && config->base() == previous->config() &&
        previous->router()->kind() == m_settings.routerKind) {
        RouterPtr router =
            Router::update(*previous->router(), *previous->config(), *config, config->changes());
        HealthMapPtr health = reachesUpstreams(*previous->config(), *config)
                                  ? m_health.update(ProxySnapshot::upstreamsByKey(*config))
                                  : previous->health();
        ++m_routerFigures.updates;
        m_routerUnchecked = true;
        install(config, std::move(router), std::move(health));
        return;
    }
    RouterPtr router = Router::build(*config, m_settings.routerKind);
    ++m_routerFigures.rebuilds;
    m_routerUnchecked = false;
    install(config, std::move(router), m_health.update(ProxySnapshot::upstreamsByKey(*config)));
}

void ProxyServer::install(const SnapshotPtr &config, RouterPtr router, HealthMapPtr health)
{
    const bool sameHealth = m_current && m_current->health() == health;
    m_current = ProxySnapshot::create(config, std::move(router), health, ++m_generation);
    if (m_checker && !sameHealth)
        m_checker->setTargets(health);
    for (ProxyWorker *worker : std::as_const(m_workers)) {
        const ProxySnapshotPtr current = m_current;
        QMetaObject::invokeMethod(
            worker, [worker, current] { worker->setSnapshot(current); }, Qt::QueuedConnection);
    }
}

void ProxyServer::checkRouter()
{
    if (m_selfCheckRunning)
        return;
    if (!m_current || !m_routerUnchecked) {
        emit routerChecked(true);
        return;
    }
    m_selfCheckRunning = true;
    m_routerUnchecked = false;
    const ProxySnapshotPtr checked = m_current;
    const RouterKind kind = m_settings.routerKind;
    QPointer<ProxyServer> self(this);
    // Building 100k routes and two digests takes a while: not on the thread that applies changes.
    QThreadPool::globalInstance()->start([self, checked, kind] {
        RouterPtr rebuilt = Router::build(*checked->config(), kind);
        const QByteArray expected = rebuilt->digest();
        const QByteArray actual = checked->router()->digest();
        QMetaObject::invokeMethod(
            self,
            [self, checked, rebuilt, expected, actual] {
                if (!self)
                    return;
                self->m_selfCheckRunning = false;
                ++self->m_routerFigures.selfChecks;
                const bool equal = expected == actual;
                if (!equal) {
                    ++self->m_routerFigures.selfCheckFailures;
                    qCCritical(lcProxy).noquote() << "router self-check: the updated router (digest" << actual
                                                  << ") differs from one built from its configuration (digest"
                                                  << expected << "); serving the rebuilt one";
                    if (self->m_current == checked)
                        self->install(checked->config(), rebuilt, checked->health());
                }
                emit self->routerChecked(equal);
            },
            Qt::QueuedConnection);
    });
}

void ProxyServer::stop(int graceMs)
{
    if (!m_running || m_stopping) {
        if (!m_running)
            emit stopped();
        return;
    }
    m_stopping = true;
    for (SharedListener *listener : std::as_const(m_sharedListeners))
        listener->close();
    m_drainedWorkers = 0;
    for (ProxyWorker *worker : std::as_const(m_workers))
        QMetaObject::invokeMethod(worker, &ProxyWorker::drain, Qt::QueuedConnection);
    m_graceTimer.start(graceMs);
}

void ProxyServer::onWorkerDrained()
{
    if (!m_stopping)
        return;
    if (++m_drainedWorkers >= m_workers.size())
        finishStop();
}

void ProxyServer::finishStop()
{
    m_graceTimer.stop();
    stopWorkers();
    emit stopped();
}

void ProxyServer::stopWorkers()
{
    qDeleteAll(m_sharedListeners);
    m_sharedListeners.clear();
    for (qsizetype i = 0; i < m_workers.size(); ++i) {
        ProxyWorker *worker = m_workers.at(i);
        QThread *thread = m_threads.at(i);
        if (thread->isRunning())
            QMetaObject::invokeMethod(worker, &ProxyWorker::tearDown, Qt::BlockingQueuedConnection);
        thread->quit();
        thread->wait();
        delete worker;
        delete thread;
    }
    m_workers.clear();
    m_threads.clear();
    if (m_checker) {
        m_checker->stop();
        m_checker.reset();
    }
    m_running = false;
    m_stopping = false;
}

QList<ProxyMetrics::Source> ProxyServer::metricsSources() const
{
    QList<ProxyMetrics::Source> sources;
    for (ProxyWorker *worker : m_workers)
        sources.append({worker, [worker] { return worker->metricsSnapshot(); }});
    return sources;
}

QList<ProxyMetrics::Snapshot> ProxyServer::collectMetrics() const
{
    return ProxyMetrics::collect(metricsSources());
}

quint64 ProxyServer::upstreamConnectionsOpened() const
{
    quint64 total = 0;
    for (ProxyWorker *worker : m_workers) {
        quint64 n = 0;
        QMetaObject::invokeMethod(
            worker, [&] { n = worker->upstreamConnectionsOpened(); }, Qt::BlockingQueuedConnection);
        total += n;
    }
    return total;
}

QHash<QByteArray, UpstreamPool::NodeConnections> ProxyServer::upstreamConnectionsByNode() const
{
    QHash<QByteArray, UpstreamPool::NodeConnections> total;
    for (ProxyWorker *worker : m_workers) {
        QHash<QByteArray, UpstreamPool::NodeConnections> mine;
        QMetaObject::invokeMethod(
            worker, [&] { mine = worker->upstreamConnectionsByNode(); }, Qt::BlockingQueuedConnection);
        for (auto it = mine.cbegin(); it != mine.cend(); ++it) {
            total[it.key()].open += it->open;
            total[it.key()].idle += it->idle;
        }
    }
    return total;
}

quint64 ProxyServer::servingGeneration() const
{
    quint64 lowest = m_workers.isEmpty() ? 0 : ~quint64(0);
    for (ProxyWorker *worker : m_workers) {
        quint64 n = 0;
        QMetaObject::invokeMethod(
            worker, [&] { n = worker->servingGeneration(); }, Qt::BlockingQueuedConnection);
        lowest = qMin(lowest, n);
    }
    return lowest;
}
