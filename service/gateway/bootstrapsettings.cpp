#include "bootstrapsettings.h"

#include "canonicaljson.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <functional>

namespace {

using CanonicalJson::typeName;

// Reads one JSON object, remembering which keys were used so the rest can be reported as unknown.
class Reader
{
public:
    Reader(const QJsonObject &object, QString pointer, QStringList *errors)
        : m_object(object)
        , m_pointer(std::move(pointer))
        , m_errors(errors)
    {}

    ~Reader()
    {
        for (auto it = m_object.begin(); it != m_object.end(); ++it) {
            if (!m_used.contains(it.key()))
                error(it.key(), QStringLiteral("unknown key"));
        }
    }

    void error(const QString &key, const QString &message) const
    {
        m_errors->append(QStringLiteral("%1/%2: %3").arg(m_pointer, key, message));
    }

    QJsonValue take(const QString &key)
    {
        m_used.insert(key);
        return m_object.value(key);
    }

    void string(const QString &key, QString *out) { scalar(key, out, "string", QJsonValue::String); }
    void boolean(const QString &key, bool *out) { scalar(key, out, "boolean", QJsonValue::Bool); }

    // A member of one JSON type, taken as is.
    template<typename T>
    void scalar(const QString &key, T *out, const char *expected, QJsonValue::Type type)
    {
        const QJsonValue v = take(key);
        if (v.isUndefined())
            return;
        if (v.type() != type)
            return wrongType(key, expected, v);
        *out = v.toVariant().value<T>();
    }

    template<typename Int>
    void integer(const QString &key, Int *out, qint64 min, qint64 max)
    {
        const QJsonValue v = take(key);
        if (v.isUndefined())
            return;
        const double d = v.toDouble();
        if (!v.isDouble() || d != double(qint64(d)) || d < double(min) || d > double(max)) {
            const QString expected = QStringLiteral("integer %1-%2").arg(min).arg(max);
            if (v.isDouble())
                return error(key,
                             QStringLiteral("expected %1, got %2").arg(expected, v.toVariant().toString()));
            return error(key,
                         QStringLiteral("expected %1, got %2").arg(expected, QLatin1String(typeName(v))));
        }
        *out = Int(d);
    }

    void address(const QString &key, QHostAddress *out)
    {
        QString text;
        const QJsonValue v = m_object.value(key);
        string(key, &text);
        if (v.isString() && !out->setAddress(text))
            error(key, QStringLiteral("expected an IP address, got \"%1\"").arg(text));
    }

    void stringList(const QString &key, QStringList *out)
    {
        const QJsonValue v = take(key);
        if (v.isUndefined())
            return;
        if (!v.isArray())
            return wrongType(key, "array of strings", v);
        QStringList list;
        const QJsonArray array = v.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            if (!array.at(i).isString())
                return wrongType(QStringLiteral("%1/%2").arg(key).arg(i), "string", array.at(i));
            list.append(array.at(i).toString());
        }
        *out = list;
    }

    // Calls `read` with a Reader for the nested object, when present.
    void object(const QString &key, const std::function<void(Reader &)> &read)
    {
        const QJsonValue v = take(key);
        if (v.isUndefined())
            return;
        if (!v.isObject())
            return wrongType(key, "object", v);
        Reader nested(v.toObject(), m_pointer + QLatin1Char('/') + key, m_errors);
        read(nested);
    }

    void wrongType(const QString &key, const char *expected, const QJsonValue &got) const
    {
        error(
            key,
            QStringLiteral("expected %1, got %2").arg(QLatin1String(expected), QLatin1String(typeName(got))));
    }

    const QString &pointer() const { return m_pointer; }
    QStringList *errors() const { return m_errors; }

private:
    QJsonObject m_object;
    QString m_pointer;
    QStringList *m_errors;
    QSet<QString> m_used;
};

} // namespace

QString BootstrapSettings::defaultDataDir()
{
#ifdef Q_OS_WIN
    return QDir::fromNativeSeparators(qEnvironmentVariable("ProgramData", QStringLiteral("C:/ProgramData"))) +
           QStringLiteral("/Holdfast");
#else
    return QStringLiteral("/var/lib/holdfast");
#endif
}

QString BootstrapSettings::resolve(const QString &path) const
{
    if (path.isEmpty() || path == QLatin1String("-") || QDir::isAbsolutePath(path))
        return path;
    return QDir(dataDir).filePath(path);
}

std::optional<BootstrapSettings> BootstrapSettings::fromJson(const QByteArray &json, QStringList *errors)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        errors->append(
            QStringLiteral("not JSON: %1 at offset %2").arg(parseError.errorString()).arg(parseError.offset));
        return std::nullopt;
    }
    if (!doc.isObject()) {
        errors->append(QStringLiteral("expected a JSON object at the top level"));
        return std::nullopt;
    }

    const qsizetype errorsBefore = errors->size();
    BootstrapSettings s;
    {
        Reader top(doc.object(), QString(), errors);
        const QJsonValue listen = top.take(QStringLiteral("listen"));
        if (!listen.isUndefined()) {
            if (!listen.isArray() || listen.toArray().isEmpty()) {
                top.error(QStringLiteral("listen"),
                          QStringLiteral("expected a non-empty array of {address, port}"));
            } else {
                s.listen.clear();
                const QJsonArray array = listen.toArray();
                for (qsizetype i = 0; i < array.size(); ++i) {
                    const QString pointer = QStringLiteral("/listen/%1").arg(i);
                    if (!array.at(i).isObject()) {
                        errors->append(QStringLiteral("%1: expected object, got %2")
                                           .arg(pointer, QLatin1String(typeName(array.at(i)))));
                        continue;
                    }
                    Reader item(array.at(i).toObject(), pointer, errors);
                    ListenAddress address{QHostAddress(QHostAddress::AnyIPv4), 9080};
                    item.address(QStringLiteral("address"), &address.address);
                    item.integer(QStringLiteral("port"), &address.port, 1, 65535);
                    s.listen.append(address);
                }
            }
        }
        top.integer(QStringLiteral("workers"), &s.workers, 0, 256);
        top.string(QStringLiteral("router"), &s.router);
        if (s.router != QLatin1String("radixtree_host_uri") && s.router != QLatin1String("radixtree_uri"))
            top.error(QStringLiteral("router"),
                      QStringLiteral("expected \"radixtree_host_uri\" or \"radixtree_uri\", got \"%1\"")
                          .arg(s.router));
        top.string(QStringLiteral("data_dir"), &s.dataDir);
        top.string(QStringLiteral("access_log"), &s.accessLog);
        top.string(QStringLiteral("access_log_format"), &s.accessLogFormat);
        QStringList realIpFrom;
        top.stringList(QStringLiteral("real_ip_from"), &realIpFrom);
        for (qsizetype i = 0; i < realIpFrom.size(); ++i) {
            QString text = realIpFrom.at(i).trimmed();
            if (!text.contains(QLatin1Char('/')))
                text += text.contains(QLatin1Char(':')) ? QStringLiteral("/128") : QStringLiteral("/32");
            const QPair<QHostAddress, int> subnet = QHostAddress::parseSubnet(text);
            if (subnet.second < 0)
                errors->append(QStringLiteral("/real_ip_from/%1: expected an address or CIDR, got \"%2\"")
                                   .arg(i)
                                   .arg(realIpFrom.at(i)));
            else
                s.realIpFrom.append(subnet);
        }
        top.object(QStringLiteral("admin"), [&](Reader &r) {
            r.address(QStringLiteral("address"), &s.admin.address);
            r.integer(QStringLiteral("port"), &s.admin.port, 0, 65535);
            r.string(QStringLiteral("token_file"), &s.admin.tokenFile);
            r.integer(QStringLiteral("max_connections"), &s.admin.maxConnections, 1, 100000);
            r.integer(QStringLiteral("max_event_streams"), &s.admin.maxEventStreams, 0, 100000);
        });
        top.object(QStringLiteral("control_plane"), [&](Reader &r) {
            ControlPlane &c = s.controlPlane;
            r.string(QStringLiteral("type"), &c.type);
            if (c.type != QLatin1String("etcd"))
                r.error(QStringLiteral("type"), QStringLiteral("expected \"etcd\", got \"%1\"").arg(c.type));
            r.stringList(QStringLiteral("endpoints"), &c.endpoints);
            r.string(QStringLiteral("prefix"), &c.prefix);
            r.string(QStringLiteral("username"), &c.username);
            r.string(QStringLiteral("password"), &c.password);
            r.integer(QStringLiteral("timeout_ms"), &c.timeoutMs, 100, 600000);
            r.integer(QStringLiteral("liveness_ms"), &c.livenessMs, 500, 600000);
            r.integer(QStringLiteral("backoff_initial_ms"), &c.backoffInitialMs, 10, 600000);
            r.integer(QStringLiteral("backoff_max_ms"), &c.backoffMaxMs, 10, 3600000);
            r.integer(QStringLiteral("max_response_bytes"), &c.maxResponseBytes, 4096,
                      qint64(1024) * 1024 * 1024);
            r.integer(QStringLiteral("page_size"), &c.pageSize, 1, 1000000);
            r.string(QStringLiteral("full_sync"), &c.fullSync);
            if (c.fullSync != QLatin1String("auto") && c.fullSync != QLatin1String("grpc") &&
                c.fullSync != QLatin1String("json"))
                r.error(
                    QStringLiteral("full_sync"),
                    QStringLiteral("expected \"auto\", \"grpc\" or \"json\", got \"%1\"").arg(c.fullSync));
            r.object(QStringLiteral("tls"), [&](Reader &t) {
                t.string(QStringLiteral("ca"), &c.tlsCa);
                t.string(QStringLiteral("cert"), &c.tlsCert);
                t.string(QStringLiteral("key"), &c.tlsKey);
            });
        });
        top.object(QStringLiteral("startup"), [&](Reader &r) {
            r.integer(QStringLiteral("wait_for_control_plane_ms"), &s.startup.waitForControlPlaneMs, 0,
                      3600000);
            r.boolean(QStringLiteral("serve_local_first"), &s.startup.serveLocalFirst);
        });
        top.object(QStringLiteral("limits"), [&](Reader &r) {
            r.integer(QStringLiteral("request_buffer_bytes"), &s.limits.requestBufferBytes, 0,
                      64 * 1024 * 1024);
            r.integer(QStringLiteral("max_header_bytes"), &s.limits.maxHeaderBytes, 1024, 1024 * 1024);
            r.integer(QStringLiteral("max_body_bytes"), &s.limits.maxBodyBytes, 0,
                      std::numeric_limits<qint64>::max() / 2);
            r.integer(QStringLiteral("client_header_timeout_ms"), &s.limits.clientHeaderTimeoutMs, 100,
                      3600000);
            r.integer(QStringLiteral("client_keepalive_timeout_ms"), &s.limits.clientKeepaliveTimeoutMs, 100,
                      3600000);
            r.boolean(QStringLiteral("underscores_in_headers"), &s.limits.underscoresInHeaders);
            r.integer(QStringLiteral("max_connections"), &s.limits.maxConnections, 0, 10000000);
            r.integer(QStringLiteral("client_body_timeout_ms"), &s.limits.clientBodyTimeoutMs, 0, 86400000);
        });
    } // the Reader's destructor reports unknown keys
    if (s.dataDir.isEmpty())
        errors->append(QStringLiteral("/data_dir: expected a directory, got an empty string"));
    if (errors->size() != errorsBefore)
        return std::nullopt;
    return s;
}

std::optional<BootstrapSettings> BootstrapSettings::fromFile(const QString &path, QStringList *errors)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        errors->append(QStringLiteral("%1: %2").arg(path, file.errorString()));
        return std::nullopt;
    }
    QStringList own;
    auto settings = fromJson(file.readAll(), &own);
    for (const QString &e : std::as_const(own))
        errors->append(QStringLiteral("%1: %2").arg(path, e));
    return settings;
}

bool BootstrapSettings::Admin::operator==(const Admin &o) const
{
    return address == o.address && port == o.port && tokenFile == o.tokenFile &&
           maxConnections == o.maxConnections && maxEventStreams == o.maxEventStreams;
}

bool BootstrapSettings::ControlPlane::operator==(const ControlPlane &o) const
{
    return type == o.type && endpoints == o.endpoints && prefix == o.prefix && username == o.username &&
           password == o.password && tlsCa == o.tlsCa && tlsCert == o.tlsCert && tlsKey == o.tlsKey &&
           timeoutMs == o.timeoutMs && livenessMs == o.livenessMs && backoffInitialMs == o.backoffInitialMs &&
           backoffMaxMs == o.backoffMaxMs && maxResponseBytes == o.maxResponseBytes &&
           pageSize == o.pageSize && fullSync == o.fullSync;
}

bool BootstrapSettings::Startup::operator==(const Startup &o) const
{
    return waitForControlPlaneMs == o.waitForControlPlaneMs && serveLocalFirst == o.serveLocalFirst;
}

bool BootstrapSettings::Limits::operator==(const Limits &o) const
{
    return maxHeaderBytes == o.maxHeaderBytes && maxBodyBytes == o.maxBodyBytes &&
           clientHeaderTimeoutMs == o.clientHeaderTimeoutMs &&
           clientKeepaliveTimeoutMs == o.clientKeepaliveTimeoutMs &&
           underscoresInHeaders == o.underscoresInHeaders && requestBufferBytes == o.requestBufferBytes &&
           maxConnections == o.maxConnections && clientBodyTimeoutMs == o.clientBodyTimeoutMs;
}

bool BootstrapSettings::operator==(const BootstrapSettings &o) const
{
    return listen == o.listen && workers == o.workers && router == o.router && dataDir == o.dataDir &&
           admin == o.admin && controlPlane == o.controlPlane && startup == o.startup && limits == o.limits &&
           realIpFrom == o.realIpFrom && accessLog == o.accessLog && accessLogFormat == o.accessLogFormat;
}
