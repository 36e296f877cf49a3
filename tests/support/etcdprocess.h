// A real etcd (Debian's /usr/bin/etcd) on free loopback ports, and blocking KV calls against it for tests.
#pragma once

#include "testsupport.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QTemporaryDir>

#include <memory>
#include <optional>

class EtcdProcess
{
public:
    EtcdProcess();
    ~EtcdProcess();
    EtcdProcess(const EtcdProcess &) = delete;
    EtcdProcess &operator=(const EtcdProcess &) = delete;

    // Writes ca.crt, server.crt/.key (for 127.0.0.1) and client.crt/.key into dir with openssl.
    static bool makeTlsFiles(const QString &dir, QString *error);
    // Before start(): also serve clients on an https port that requires a client certificate
    // signed by trustedCaFile. The plain http endpoint stays, for the test's own calls.
    void setTls(const QString &certFile, const QString &keyFile, const QString &trustedCaFile);

    // A new member with a fresh data dir on free ports; waits until it answers /health.
    bool start();
    // The same ports and data dir: the same cluster, history and (with auth) users.
    bool restart();
    // The same ports, a new data dir and cluster token: a new cluster_id, revisions from 1 again.
    bool startFreshCluster();
    void stop();   // SIGTERM, then SIGKILL
    void kill();   // SIGKILL
    bool pause();  // SIGSTOP: the socket still accepts connections, nothing answers
    bool resume(); // SIGCONT
    bool isRunning() const;

    QString endpoint() const;    // http://127.0.0.1:<client port>
    QString tlsEndpoint() const; // https://127.0.0.1:<tls port>, after setTls()
    quint16 clientPort() const { return m_clientPort; }
    QString lastError() const { return m_lastError; }
    QByteArray output() const { return m_process.output(); }

    // Blocking calls through the v3 JSON gateway (they run no event loop, so they are safe inside a
    // slot). Revisions returned are the header revision after the call, -1 on error (see lastError).
    qint64 put(const QByteArray &key, const QByteArray &value);
    std::optional<QByteArray> get(const QByteArray &key);
    qint64 del(const QByteArray &key);
    qint64 delPrefix(const QByteArray &prefix);
    bool compact(qint64 revision);
    qint64 currentRevision();
    QString clusterId();

    // Creates user root with the root role and turns authentication on; later calls authenticate.
    bool enableAuth(const QString &rootPassword);

    // POST a JSON body to a gateway path; the answer's JSON object, or nullopt with lastError set.
    std::optional<QJsonObject> call(const QByteArray &path, const QJsonObject &body);

private:
    bool launch();
    bool waitHealthy(int timeoutMs);
    std::optional<QJsonObject> rawCall(const QByteArray &path, const QJsonObject &body, int *status);

    TestSupport::ManagedProcess m_process;
    std::unique_ptr<QTemporaryDir> m_dataDir;
    QString m_clusterToken;
    quint16 m_clientPort = 0;
    quint16 m_peerPort = 0;
    quint16 m_tlsPort = 0;
    QString m_certFile;
    QString m_keyFile;
    QString m_trustedCaFile;
    bool m_paused = false;
    QString m_rootPassword;
    QByteArray m_token;
    QString m_lastError;
};
