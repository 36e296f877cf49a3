// The cast of the high-availability suites: a real upstream, etcd and holdfastd, plus steady client traffic.
#pragma once

#include "etcdprocess.h"
#include "gatewayprocess.h"
#include "testsupport.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <atomic>
#include <memory>
#include <thread>

// Each scenario (DESIGN.md's three phases under failure) needs the same three processes and the same few
// questions about them: what is served, what is on disk, what /v1/status and /metrics say. Keeping them
// here leaves each test function with the scenario alone.
class HaScenario
{
public:
    struct Traffic
    {
        int requests = 0;
        int failures = 0;
        QString firstFailure; // "request 12 at 340 ms: status 502: ..."
    };

    HaScenario();
    ~HaScenario();
    HaScenario(const HaScenario &) = delete;
    HaScenario &operator=(const HaScenario &) = delete;

    // Starts the upstream (answering with its name, "node-a") and etcd; the gateway is left to the test.
    bool start(QString *error);

    EtcdProcess &etcd() { return *m_etcd; }
    GatewayProcess &gateway() { return *m_gateway; }
    GatewayProcess::Options &options() { return m_options; }
    bool startGateway() { return m_gateway->start(m_options); }
    // start(), upstream 1 and routes 1, 2, ... with `uris` put in etcd, then the gateway started and
    // in_sync (15 s at most).
    bool startSynced(QString *error, const QList<QByteArray> &uris = {"/a"});

    // {"type":"roundrobin","nodes":{"127.0.0.1:<upstream>":1}}
    QByteArray upstream() const;
    // {"uri":"<uri>","upstream_id":"1"}
    static QByteArray route(const QByteArray &uri);
    // Puts and deletes under /apisix/; the revision they made, -1 on failure (logged).
    qint64 put(const QByteArray &key, const QByteArray &value);
    qint64 del(const QByteArray &key);

    // The revision in <data_dir>/<name>, -1 when it is missing or not JSON.
    qint64 persistedRevision(const QString &name = QStringLiteral("config.json")) const;
    // The status answer, {} when the gateway does not answer.
    QJsonObject status() const;
    // A member of a JSON object by a path of names: at(status, "persisted/file").
    static QJsonValue at(const QJsonObject &object, const QString &path);
    // The value of an unlabelled sample in GET /metrics, -1 when absent.
    double metric(const QByteArray &name) const;
    int proxyStatus(const QByteArray &path) const { return m_gateway->proxyGet(path).status; }
    // The gateway's last output, for failure messages.
    QString dump() const;

    // A client loop on its own thread: GET `path` through the proxy, one new connection each, about one
    // every millisecond, until stopTraffic(), maxRequests or maxMs. Every answer but a 200 that names the
    // upstream is a failure.
    void startTraffic(const QByteArray &path, int maxRequests = 200000, int maxMs = 120000);
    Traffic stopTraffic();
    int trafficRequests() const { return m_requests.load(); }

    // SIGSTOP / SIGCONT to holdfastd: a gateway frozen while the control plane changes under it.
    bool pauseGateway();
    bool resumeGateway();

private:
    std::unique_ptr<EtcdProcess> m_etcd;
    std::unique_ptr<GatewayProcess> m_gateway;
    TestSupport::ManagedProcess m_upstream;
    quint16 m_upstreamPort = 0;
    GatewayProcess::Options m_options;

    std::thread m_traffic;
    std::atomic<bool> m_stopTraffic{false};
    std::atomic<int> m_requests{0};
    Traffic m_trafficResult; // written by the traffic thread, read after join
};
