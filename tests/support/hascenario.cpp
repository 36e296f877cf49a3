#include "hascenario.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QTest>

#include <chrono>

#ifdef Q_OS_UNIX
#include <signal.h>
#endif

HaScenario::HaScenario()
    : m_etcd(std::make_unique<EtcdProcess>())
    , m_gateway(std::make_unique<GatewayProcess>())
{}

HaScenario::~HaScenario()
{
    stopTraffic();
    // A gateway stopped with SIGSTOP would never see the SIGTERM that stops it.
    resumeGateway();
    m_gateway.reset();
    m_etcd.reset();
    m_upstream.stop();
}

bool HaScenario::start(QString *error)
{
    m_upstreamPort = TestSupport::freePort();
    if (!m_upstream.start(TestSupport::builtProgram(QStringLiteral("holdfast_test_upstream")),
                          {QStringLiteral("--port"), QString::number(m_upstreamPort),
                           QStringLiteral("--name"), QStringLiteral("node-a")}) ||
        !TestSupport::waitForPort(m_upstreamPort)) {
        *error = QStringLiteral("holdfast_test_upstream did not start: %1")
                     .arg(QString::fromLocal8Bit(m_upstream.output()));
        return false;
    }
    if (!m_etcd->start()) {
        *error = m_etcd->lastError();
        return false;
    }
    m_options.endpoints = QStringList{m_etcd->endpoint()};
    return true;
}

bool HaScenario::startSynced(QString *error, const QList<QByteArray> &uris)
{
    if (!start(error))
        return false;
    bool stored = put("upstreams/1", upstream()) > 0;
    for (qsizetype i = 0; stored && i < uris.size(); ++i)
        stored = put("routes/" + QByteArray::number(i + 1), route(uris.at(i))) > 0;
    if (!stored || !startGateway()) {
        *error = QStringLiteral("the gateway did not start: %1").arg(dump());
        return false;
    }
    if (!QTest::qWaitFor([this] { return m_gateway->state() == QLatin1String("in_sync"); }, 15000)) {
        *error = QStringLiteral("the gateway is not in_sync after 15 s: %1").arg(dump());
        return false;
    }
    return true;
}

QByteArray HaScenario::upstream() const
{
    return QStringLiteral("{\"type\":\"roundrobin\",\"nodes\":{\"127.0.0.1:%1\":1}}")
        .arg(m_upstreamPort)
        .toUtf8();
}

QByteArray HaScenario::route(const QByteArray &uri)
{
    return "{\"uri\":\"" + uri + "\",\"upstream_id\":\"1\"}";
}

qint64 HaScenario::put(const QByteArray &key, const QByteArray &value)
{
    const qint64 revision = m_etcd->put("/apisix/" + key, value);
    if (revision <= 0)
        qWarning().noquote() << "etcd put" << key << "failed:" << m_etcd->lastError();
    return revision;
}

qint64 HaScenario::del(const QByteArray &key)
{
    const qint64 revision = m_etcd->del("/apisix/" + key);
    if (revision <= 0)
        qWarning().noquote() << "etcd delete" << key << "failed:" << m_etcd->lastError();
    return revision;
}

qint64 HaScenario::persistedRevision(const QString &name) const
{
    const auto file = m_gateway->persistedFile(name);
    return file ? file->value(QLatin1String("revision")).toInteger(-1) : -1;
}

QJsonObject HaScenario::status() const
{
    return m_gateway->status().value_or(QJsonObject());
}

QJsonValue HaScenario::at(const QJsonObject &object, const QString &path)
{
    QJsonValue value(object);
    for (const QString &name : path.split(QLatin1Char('/')))
        value = value.toObject().value(name);
    return value;
}

double HaScenario::metric(const QByteArray &name) const
{
    const QByteArray body = m_gateway->admin("GET", "/metrics").body;
    for (const QByteArray &line : body.split('\n')) {
        if (line.startsWith(name + ' '))
            return line.mid(name.size() + 1).trimmed().toDouble();
    }
    return -1;
}

QString HaScenario::dump() const
{
    return QString::fromUtf8(m_gateway->output().right(6000));
}

void HaScenario::startTraffic(const QByteArray &path, int maxRequests, int maxMs)
{
    stopTraffic();
    m_stopTraffic = false;
    m_requests = 0;
    m_trafficResult = Traffic();
    const quint16 port = m_gateway->proxyPort();
    m_traffic = std::thread([this, port, path, maxRequests, maxMs] {
        QElapsedTimer clock;
        clock.start();
        Traffic result;
        while (!m_stopTraffic.load() && result.requests < maxRequests && clock.elapsed() < maxMs) {
            const GatewayProcess::Response r =
                GatewayProcess::request(port, "GET", path, {{"Host", "localhost"}}, {}, 5000);
            ++result.requests;
            m_requests = result.requests;
            if (r.status != 200 || !r.body.contains("node-a")) {
                if (result.failures++ == 0)
                    result.firstFailure = QStringLiteral("request %1 at %2 ms: status %3: %4 %5")
                                              .arg(result.requests)
                                              .arg(clock.elapsed())
                                              .arg(r.status)
                                              .arg(r.error, QString::fromUtf8(r.body.left(200)));
            }
            // Steady, not flooding: thousands of closed connections a second would exhaust the ports.
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        m_trafficResult = result;
    });
}

HaScenario::Traffic HaScenario::stopTraffic()
{
    m_stopTraffic = true;
    if (m_traffic.joinable())
        m_traffic.join();
    return m_trafficResult;
}

bool HaScenario::pauseGateway()
{
#ifdef Q_OS_UNIX
    return m_gateway->pid() > 0 && ::kill(pid_t(m_gateway->pid()), SIGSTOP) == 0;
#else
    return false;
#endif
}

bool HaScenario::resumeGateway()
{
#ifdef Q_OS_UNIX
    return m_gateway->pid() > 0 && ::kill(pid_t(m_gateway->pid()), SIGCONT) == 0;
#else
    return false;
#endif
}
