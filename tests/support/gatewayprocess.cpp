#include "gatewayprocess.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>

namespace {

// Chunked bodies, for answers the proxy streams.
QByteArray dechunk(const QByteArray &in, bool *ok)
{
    QByteArray out;
    qsizetype pos = 0;
    *ok = false;
    for (;;) {
        const qsizetype eol = in.indexOf("\r\n", pos);
        if (eol < 0)
            return out;
        bool sizeOk = false;
        const qint64 size = in.mid(pos, eol - pos).split(';').first().trimmed().toLongLong(&sizeOk, 16);
        if (!sizeOk)
            return out;
        pos = eol + 2;
        if (size == 0) {
            *ok = true;
            return out;
        }
        if (in.size() < pos + size + 2)
            return out;
        out += in.mid(pos, size);
        pos += size + 2;
    }
}

} // namespace

QByteArray GatewayProcess::Response::header(const QByteArray &name) const
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

QJsonObject GatewayProcess::Response::json() const
{
    return QJsonDocument::fromJson(body).object();
}

GatewayProcess::GatewayProcess() = default;

GatewayProcess::~GatewayProcess()
{
    stop();
}

QString GatewayProcess::filePath(const QString &name) const
{
    return QDir(m_dataDir.path()).filePath(name);
}

QString GatewayProcess::standaloneFile() const
{
    return m_dataDir.path() + QStringLiteral(".standalone.json");
}

QJsonObject GatewayProcess::bootstrap(const Options &o) const
{
    QJsonObject controlPlane{{QStringLiteral("prefix"), o.prefix},
                             {QStringLiteral("timeout_ms"), o.timeoutMs},
                             {QStringLiteral("liveness_ms"), o.livenessMs},
                             {QStringLiteral("backoff_initial_ms"), o.backoffInitialMs},
                             {QStringLiteral("backoff_max_ms"), o.backoffMaxMs}};
    if (!o.endpoints.isEmpty())
        controlPlane.insert(QStringLiteral("endpoints"), QJsonArray::fromStringList(o.endpoints));
    QJsonObject out{
        {QStringLiteral("listen"),
         QJsonArray{QJsonObject{{QStringLiteral("address"), QStringLiteral("127.0.0.1")},
                                {QStringLiteral("port"), m_proxyPort}}}},
        {QStringLiteral("workers"), o.workers},
        {QStringLiteral("data_dir"), m_dataDir.path()},
        {QStringLiteral("admin"), QJsonObject{{QStringLiteral("address"), QStringLiteral("127.0.0.1")},
                                              {QStringLiteral("port"), m_adminPort}}}};
    if (o.standalone.isEmpty()) {
        out.insert(QStringLiteral("control_plane"), controlPlane);
        out.insert(QStringLiteral("startup"),
                   QJsonObject{{QStringLiteral("wait_for_control_plane_ms"), o.waitForControlPlaneMs},
                               {QStringLiteral("serve_local_first"), o.serveLocalFirst}});
    }
    for (auto it = o.extra.begin(); it != o.extra.end(); ++it) {
        if (it->isObject() && out.value(it.key()).isObject()) {
            QJsonObject merged = out.value(it.key()).toObject();
            const QJsonObject add = it->toObject();
            for (auto a = add.begin(); a != add.end(); ++a)
                merged.insert(a.key(), a.value());
            out.insert(it.key(), merged);
        } else {
            out.insert(it.key(), it.value());
        }
    }
    return out;
}

bool GatewayProcess::start(const Options &options)
{
    if (!m_dataDir.isValid())
        return false;
    m_options = options;
    if (m_proxyPort == 0) {
        m_proxyPort = TestSupport::freePort();
        do {
            m_adminPort = TestSupport::freePort();
        } while (m_adminPort == m_proxyPort);
    }
    // The bootstrap file sits beside, not in, the data dir: suites list the data dir's files.
    const QString bootstrapPath = m_dataDir.path() + QStringLiteral(".bootstrap.json");
    QFile file(bootstrapPath);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    file.write(QJsonDocument(bootstrap(options)).toJson());
    file.close();

    QStringList arguments{QStringLiteral("--config"), bootstrapPath};
    if (!options.standalone.isEmpty()) {
        QFile config(standaloneFile());
        if (!config.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            config.write(options.standalone) != options.standalone.size())
            return false;
        arguments << QStringLiteral("--standalone") << config.fileName();
    }

    QStringList env = options.environment;
    env << QStringLiteral("QT_LOGGING_RULES=holdfast.*.debug=false\nholdfast.*.info=true");
    if (!m_process.start(TestSupport::builtProgram(QStringLiteral("holdfastd")), arguments, env))
        return false;
    QDeadlineTimer deadline(15000);
    while (!deadline.hasExpired() && m_process.isRunning()) {
        if (request(m_adminPort, "GET", "/healthz", {}, {}, 500).status == 200)
            return true;
        m_process.process()->waitForReadyRead(50); // also a pause between polls of a port
    }
    return false;
}

void GatewayProcess::stop()
{
    m_process.stop(5000);
    QFile::remove(m_dataDir.path() + QStringLiteral(".bootstrap.json"));
    QFile::remove(standaloneFile());
}

void GatewayProcess::kill()
{
    m_process.kill();
}

int GatewayProcess::exitCode()
{
    const QProcess *process = m_process.process();
    if (!process || process->state() != QProcess::NotRunning || process->exitStatus() != QProcess::NormalExit)
        return -1;
    return process->exitCode();
}

QByteArray GatewayProcess::token() const
{
    QFile file(filePath(QStringLiteral("admin.token")));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll().trimmed();
}

GatewayProcess::Response GatewayProcess::request(quint16 port, const QByteArray &method,
                                                 const QByteArray &target,
                                                 const QList<QPair<QByteArray, QByteArray>> &headers,
                                                 const QByteArray &body, int timeoutMs)
{
    Response r;
    QTcpSocket socket;
    QDeadlineTimer deadline(timeoutMs);
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(int(deadline.remainingTime()))) {
        r.error = socket.errorString();
        return r;
    }
    QByteArray out = method + ' ' + target + " HTTP/1.1\r\n";
    bool haveHost = false;
    for (const auto &h : headers) {
        haveHost = haveHost || h.first.compare("host", Qt::CaseInsensitive) == 0;
        out += h.first + ": " + h.second + "\r\n";
    }
    if (!haveHost)
        out += "Host: 127.0.0.1\r\n";
    if (!body.isEmpty() || method == "POST" || method == "PUT")
        out += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n" + body;
    socket.write(out);

    QByteArray in;
    while (socket.state() == QAbstractSocket::ConnectedState && !deadline.hasExpired()) {
        if (socket.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime()))))
            in += socket.readAll();
    }
    in += socket.readAll();
    const qsizetype headEnd = in.indexOf("\r\n\r\n");
    if (headEnd < 0) {
        r.error = deadline.hasExpired() ? QStringLiteral("timed out") : QStringLiteral("no complete answer");
        return r;
    }
    const QList<QByteArray> lines = in.left(headEnd).split('\n');
    const QList<QByteArray> statusLine = lines.first().trimmed().split(' ');
    r.status = statusLine.size() > 1 ? statusLine.at(1).toInt() : 0;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const qsizetype colon = lines.at(i).indexOf(':');
        if (colon > 0)
            r.headers.append({lines.at(i).left(colon).trimmed(), lines.at(i).mid(colon + 1).trimmed()});
    }
    r.body = in.mid(headEnd + 4);
    if (r.header("transfer-encoding").toLower().contains("chunked")) {
        bool ok = false;
        r.body = dechunk(r.body, &ok);
        if (!ok)
            r.error = QStringLiteral("truncated chunked body");
    }
    return r;
}

GatewayProcess::Response GatewayProcess::proxyGet(const QByteArray &target, const QByteArray &host) const
{
    return request(m_proxyPort, "GET", target, {{"Host", host}});
}

GatewayProcess::Response GatewayProcess::admin(const QByteArray &method, const QByteArray &target,
                                               const QByteArray &body) const
{
    QList<QPair<QByteArray, QByteArray>> headers{{"Authorization", "Bearer " + token()}};
    if (!body.isEmpty())
        headers.append(qMakePair(QByteArray("Content-Type"), QByteArray("application/json")));
    return request(m_adminPort, method, target, headers, body);
}

std::optional<QJsonObject> GatewayProcess::status() const
{
    const Response r = admin("GET", "/v1/status");
    if (r.status != 200)
        return std::nullopt;
    return r.json();
}

QString GatewayProcess::state() const
{
    const auto s = status();
    return s ? s->value(QLatin1String("state")).toString() : QString();
}

std::optional<QJsonObject> GatewayProcess::persistedFile(const QString &name) const
{
    QFile file(filePath(name));
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return std::nullopt;
    return doc.object();
}
