#include "etcdprocess.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>
#include <QThread>
#include <QUuid>

#ifdef Q_OS_UNIX
#include <signal.h>
#endif

namespace {

const int CallTimeoutMs = 5000;

QString b64(const QByteArray &bytes)
{
    return QString::fromLatin1(bytes.toBase64());
}

qint64 headerRevision(const QJsonObject &answer)
{
    return answer.value(QLatin1String("header"))
        .toObject()
        .value(QLatin1String("revision"))
        .toString()
        .toLongLong();
}

QByteArray prefixEnd(QByteArray prefix)
{
    while (!prefix.isEmpty()) {
        if (static_cast<unsigned char>(prefix.back()) < 0xff) {
            prefix.back() = char(static_cast<unsigned char>(prefix.back()) + 1);
            return prefix;
        }
        prefix.chop(1);
    }
    return QByteArray(1, '\0');
}

} // namespace

EtcdProcess::EtcdProcess() = default;

EtcdProcess::~EtcdProcess()
{
    stop();
}

QString EtcdProcess::endpoint() const
{
    return QStringLiteral("http://127.0.0.1:%1").arg(m_clientPort);
}

bool EtcdProcess::makeTlsFiles(const QString &dir, QString *error)
{
    const auto run = [&](const QStringList &args) {
        QProcess openssl;
        openssl.setWorkingDirectory(dir);
        openssl.setProcessChannelMode(QProcess::MergedChannels);
        openssl.start(QStringLiteral("openssl"), args);
        if (!openssl.waitForFinished(20000) || openssl.exitStatus() != QProcess::NormalExit ||
            openssl.exitCode() != 0) {
            *error = QStringLiteral("openssl %1: %2")
                         .arg(args.join(QLatin1Char(' ')), QString::fromLocal8Bit(openssl.readAll()));
            return false;
        }
        return true;
    };
    QFile san(dir + QStringLiteral("/san.ext"));
    if (!san.open(QIODevice::WriteOnly) || san.write("subjectAltName=IP:127.0.0.1\n") < 0) {
        *error = san.errorString();
        return false;
    }
    san.close();
    const QStringList ec = {QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                            QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes")};
    const auto sign = [&](const QString &name, bool serverName) {
        QStringList args = {
            QStringLiteral("x509"),        QStringLiteral("-req"),   QStringLiteral("-in"),
            name + QStringLiteral(".csr"), QStringLiteral("-CA"),    QStringLiteral("ca.crt"),
            QStringLiteral("-CAkey"),      QStringLiteral("ca.key"), QStringLiteral("-CAcreateserial"),
            QStringLiteral("-days"),       QStringLiteral("2"),      QStringLiteral("-out"),
            name + QStringLiteral(".crt")};
        if (serverName)
            args << QStringLiteral("-extfile") << QStringLiteral("san.ext");
        return run(args);
    };
    return run(QStringList{QStringLiteral("req"), QStringLiteral("-x509")} + ec +
               QStringList{QStringLiteral("-keyout"), QStringLiteral("ca.key"), QStringLiteral("-out"),
                           QStringLiteral("ca.crt"), QStringLiteral("-subj"),
                           QStringLiteral("/CN=holdfast-test-ca"), QStringLiteral("-days"),
                           QStringLiteral("2")}) &&
           run(QStringList{QStringLiteral("req")} + ec +
               QStringList{QStringLiteral("-keyout"), QStringLiteral("server.key"), QStringLiteral("-out"),
                           QStringLiteral("server.csr"), QStringLiteral("-subj"),
                           QStringLiteral("/CN=127.0.0.1")}) &&
           sign(QStringLiteral("server"), true) &&
           run(QStringList{QStringLiteral("req")} + ec +
               QStringList{QStringLiteral("-keyout"), QStringLiteral("client.key"), QStringLiteral("-out"),
                           QStringLiteral("client.csr"), QStringLiteral("-subj"),
                           QStringLiteral("/CN=holdfast")}) &&
           sign(QStringLiteral("client"), false);
}

void EtcdProcess::setTls(const QString &certFile, const QString &keyFile, const QString &trustedCaFile)
{
    m_certFile = certFile;
    m_keyFile = keyFile;
    m_trustedCaFile = trustedCaFile;
}

QString EtcdProcess::tlsEndpoint() const
{
    return QStringLiteral("https://127.0.0.1:%1").arg(m_tlsPort);
}

bool EtcdProcess::start()
{
    stop();
    // A free port may be taken between the probe and etcd's bind: try again with new ones.
    for (int attempt = 0; attempt < 3; ++attempt) {
        m_clientPort = TestSupport::freePort();
        do {
            m_peerPort = TestSupport::freePort();
        } while (m_peerPort == m_clientPort);
        do {
            m_tlsPort = TestSupport::freePort();
        } while (m_tlsPort == m_clientPort || m_tlsPort == m_peerPort);
        m_dataDir = std::make_unique<QTemporaryDir>();
        m_clusterToken = QUuid::createUuid().toString(QUuid::WithoutBraces);
        m_rootPassword.clear();
        m_token.clear();
        if (launch())
            return true;
        stop();
    }
    return false;
}

bool EtcdProcess::restart()
{
    stop();
    m_token.clear();
    return launch();
}

bool EtcdProcess::startFreshCluster()
{
    stop();
    m_dataDir = std::make_unique<QTemporaryDir>();
    // etcd derives the member and cluster ids from the peer URLs and this token: a new token on the
    // same ports gives a new cluster id, as a rebuilt control plane would have.
    m_clusterToken = QUuid::createUuid().toString(QUuid::WithoutBraces);
    m_rootPassword.clear();
    m_token.clear();
    return launch();
}

bool EtcdProcess::launch()
{
    if (!m_dataDir || !m_dataDir->isValid()) {
        m_lastError = QStringLiteral("no temporary data directory");
        return false;
    }
    const QString client = endpoint();
    const QString peer = QStringLiteral("http://127.0.0.1:%1").arg(m_peerPort);
    // etcd serves both schemes side by side and applies the TLS flags to the https URL only.
    const QString listen = m_certFile.isEmpty() ? client : client + QLatin1Char(',') + tlsEndpoint();
    QStringList args = {QStringLiteral("--name"),
                        QStringLiteral("holdfast-test"),
                        QStringLiteral("--data-dir"),
                        m_dataDir->filePath(QStringLiteral("etcd")),
                        QStringLiteral("--listen-client-urls"),
                        listen,
                        QStringLiteral("--advertise-client-urls"),
                        client,
                        QStringLiteral("--listen-peer-urls"),
                        peer,
                        QStringLiteral("--initial-advertise-peer-urls"),
                        peer,
                        QStringLiteral("--initial-cluster"),
                        QStringLiteral("holdfast-test=") + peer,
                        QStringLiteral("--initial-cluster-token"),
                        m_clusterToken,
                        QStringLiteral("--initial-cluster-state"),
                        QStringLiteral("new"),
                        QStringLiteral("--logger"),
                        QStringLiteral("zap"),
                        QStringLiteral("--log-level"),
                        QStringLiteral("warn")};
    if (!m_certFile.isEmpty()) {
        args << QStringLiteral("--cert-file") << m_certFile << QStringLiteral("--key-file") << m_keyFile;
        if (!m_trustedCaFile.isEmpty())
            args << QStringLiteral("--client-cert-auth") << QStringLiteral("--trusted-ca-file")
                 << m_trustedCaFile;
    }
    m_paused = false;
    if (!m_process.start(QStringLiteral("etcd"), args)) {
        m_lastError = QStringLiteral("etcd did not start (is etcd-server installed?)");
        return false;
    }
    if (!waitHealthy(15000)) {
        m_lastError = QStringLiteral("etcd on %1 did not become healthy: %2")
                          .arg(client, QString::fromLocal8Bit(m_process.output().right(2000)));
        return false;
    }
    return true;
}

bool EtcdProcess::waitHealthy(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        // waitForFinished(0) reaps a child that already died (a port taken, bad flags): without it
        // QProcess would only notice from an event loop, which this wait does not run.
        if (!m_process.isRunning() || m_process.process()->waitForFinished(0))
            return false;
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_clientPort);
        if (socket.waitForConnected(200)) {
            socket.write("GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            QByteArray answer;
            while (socket.waitForReadyRead(1000))
                answer += socket.readAll();
            answer += socket.readAll();
            if (answer.contains("\"health\":\"true\""))
                return true;
        }
        // Polling another process: nothing in this one can signal readiness.
        QThread::msleep(20);
    }
    return false;
}

void EtcdProcess::stop()
{
    if (m_paused)
        resume();
    m_process.stop(3000);
}

void EtcdProcess::kill()
{
    m_process.kill();
    m_paused = false;
}

bool EtcdProcess::pause()
{
#ifdef Q_OS_UNIX
    if (!isRunning() || ::kill(pid_t(m_process.pid()), SIGSTOP) != 0)
        return false;
    m_paused = true;
    return true;
#else
    return false;
#endif
}

bool EtcdProcess::resume()
{
#ifdef Q_OS_UNIX
    if (!isRunning() || ::kill(pid_t(m_process.pid()), SIGCONT) != 0)
        return false;
    m_paused = false;
    return true;
#else
    return false;
#endif
}

bool EtcdProcess::isRunning() const
{
    return m_process.isRunning();
}

std::optional<QJsonObject> EtcdProcess::rawCall(const QByteArray &path, const QJsonObject &body, int *status)
{
    // HTTP/1.0 so the gateway answers without chunking and closes: the whole answer is the body.
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_clientPort);
    if (!socket.waitForConnected(CallTimeoutMs)) {
        m_lastError =
            QStringLiteral("%1%2: %3").arg(endpoint(), QString::fromLatin1(path), socket.errorString());
        return std::nullopt;
    }
    const QByteArray payload = QJsonDocument(body).toJson(QJsonDocument::Compact);
    QByteArray request =
        "POST " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    if (!m_token.isEmpty())
        request += "Authorization: " + m_token + "\r\n";
    request += "Content-Length: " + QByteArray::number(payload.size()) + "\r\n\r\n" + payload;
    socket.write(request);
    QByteArray answer;
    QDeadlineTimer deadline(CallTimeoutMs);
    while (socket.state() == QAbstractSocket::ConnectedState && !deadline.hasExpired()) {
        if (socket.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime()))))
            answer += socket.readAll();
    }
    answer += socket.readAll();
    const qsizetype headerEnd = answer.indexOf("\r\n\r\n");
    if (headerEnd < 0) {
        m_lastError = QStringLiteral("%1%2: no complete answer").arg(endpoint(), QString::fromLatin1(path));
        return std::nullopt;
    }
    *status = answer.mid(9, 3).toInt(); // "HTTP/1.0 200 OK"
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(answer.mid(headerEnd + 4), &parseError);
    if (!doc.isObject()) {
        m_lastError =
            QStringLiteral("%1%2: %3").arg(endpoint(), QString::fromLatin1(path), parseError.errorString());
        return std::nullopt;
    }
    return doc.object();
}

std::optional<QJsonObject> EtcdProcess::call(const QByteArray &path, const QJsonObject &body)
{
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!m_rootPassword.isEmpty() && m_token.isEmpty()) {
            int status = 0;
            const auto auth = rawCall(QByteArrayLiteral("/v3/auth/authenticate"),
                                      {{QStringLiteral("name"), QStringLiteral("root")},
                                       {QStringLiteral("password"), m_rootPassword}},
                                      &status);
            if (!auth || status != 200) {
                m_lastError = QStringLiteral("authenticate as root failed");
                return std::nullopt;
            }
            m_token = auth->value(QLatin1String("token")).toString().toUtf8();
        }
        int status = 0;
        const auto answer = rawCall(path, body, &status);
        if (!answer)
            return std::nullopt;
        if (status == 200 && !answer->contains(QLatin1String("error")))
            return answer;
        m_lastError = QStringLiteral("%1%2: HTTP %3: %4")
                          .arg(endpoint(), QString::fromLatin1(path))
                          .arg(status)
                          .arg(answer->value(QLatin1String("message")).toString());
        // Tokens do not survive an etcd restart: authenticate again once.
        if (status == 401 && !m_rootPassword.isEmpty() && attempt == 0) {
            m_token.clear();
            continue;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

qint64 EtcdProcess::put(const QByteArray &key, const QByteArray &value)
{
    const auto answer = call(QByteArrayLiteral("/v3/kv/put"),
                             {{QStringLiteral("key"), b64(key)}, {QStringLiteral("value"), b64(value)}});
    return answer ? headerRevision(*answer) : -1;
}

std::optional<QByteArray> EtcdProcess::get(const QByteArray &key)
{
    const auto answer = call(QByteArrayLiteral("/v3/kv/range"), {{QStringLiteral("key"), b64(key)}});
    if (!answer)
        return std::nullopt;
    const QJsonArray kvs = answer->value(QLatin1String("kvs")).toArray();
    if (kvs.isEmpty())
        return std::nullopt;
    return QByteArray::fromBase64(kvs.first().toObject().value(QLatin1String("value")).toString().toLatin1());
}

qint64 EtcdProcess::del(const QByteArray &key)
{
    const auto answer = call(QByteArrayLiteral("/v3/kv/deleterange"), {{QStringLiteral("key"), b64(key)}});
    return answer ? headerRevision(*answer) : -1;
}

qint64 EtcdProcess::delPrefix(const QByteArray &prefix)
{
    const auto answer =
        call(QByteArrayLiteral("/v3/kv/deleterange"),
             {{QStringLiteral("key"), b64(prefix)}, {QStringLiteral("range_end"), b64(prefixEnd(prefix))}});
    return answer ? headerRevision(*answer) : -1;
}

bool EtcdProcess::compact(qint64 revision)
{
    // physical: answer only once the old revisions are really gone, so a test can rely on it.
    return call(QByteArrayLiteral("/v3/kv/compaction"),
                {{QStringLiteral("revision"), QString::number(revision)}, {QStringLiteral("physical"), true}})
        .has_value();
}

qint64 EtcdProcess::currentRevision()
{
    const auto answer =
        call(QByteArrayLiteral("/v3/kv/range"),
             {{QStringLiteral("key"), b64(QByteArrayLiteral("/"))}, {QStringLiteral("count_only"), true}});
    return answer ? headerRevision(*answer) : -1;
}

QString EtcdProcess::clusterId()
{
    const auto answer =
        call(QByteArrayLiteral("/v3/kv/range"),
             {{QStringLiteral("key"), b64(QByteArrayLiteral("/"))}, {QStringLiteral("count_only"), true}});
    return answer ? answer->value(QLatin1String("header"))
                        .toObject()
                        .value(QLatin1String("cluster_id"))
                        .toString()
                  : QString();
}

bool EtcdProcess::enableAuth(const QString &rootPassword)
{
    const QString root = QStringLiteral("root");
    if (!call(QByteArrayLiteral("/v3/auth/user/add"),
              {{QStringLiteral("name"), root}, {QStringLiteral("password"), rootPassword}}) ||
        !call(QByteArrayLiteral("/v3/auth/role/add"), {{QStringLiteral("name"), root}}) ||
        !call(QByteArrayLiteral("/v3/auth/user/grant"),
              {{QStringLiteral("user"), root}, {QStringLiteral("role"), root}}) ||
        !call(QByteArrayLiteral("/v3/auth/enable"), {}))
        return false;
    m_rootPassword = rootPassword;
    m_token.clear();
    return true;
}
