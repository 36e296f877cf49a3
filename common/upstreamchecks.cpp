#include "upstreamchecks.h"

#include "canonicaljson.h"

#include <cmath>

namespace validation {
namespace {

bool isIPv6(QByteArrayView host)
{
    if (host.size() < 2 || !host.contains(':'))
        return false;
    for (const char ch : host) {
        const bool hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
        if (!hex && ch != ':' && ch != '.')
            return false;
    }
    return true;
}

// "[::1]" → "::1"; false when the host is neither a name, an IPv4 nor an IPv6 address.
bool normalizeNodeHost(QByteArray *host)
{
    if (host->startsWith('[') && host->endsWith(']')) {
        *host = host->mid(1, host->size() - 2);
        return isIPv6(*host);
    }
    return isHostName(*host) || isIPv6(*host);
}

bool parsePort(QByteArrayView digits, quint16 *port)
{
    if (digits.isEmpty() || digits.size() > 5)
        return false;
    int value = 0;
    for (const char ch : digits) {
        if (ch < '0' || ch > '9')
            return false;
        value = value * 10 + (ch - '0');
    }
    if (value < 1 || value > 65535)
        return false;
    *port = quint16(value);
    return true;
}

// "host:port", "host" (default port), "[v6]:port", "[v6]", or a bare IPv6 address (default port), as
// APISIX's parse_addr reads the keys of the object form of nodes.
bool parseNodeAddress(const QByteArray &address, UpstreamNode *node)
{
    QByteArray host = address;
    QByteArrayView port;
    if (address.startsWith('[')) {
        const qsizetype close = address.indexOf(']');
        if (close < 0)
            return false;
        host = address.mid(1, close - 1);
        const QByteArrayView rest = QByteArrayView(address).sliced(close + 1);
        if (!rest.isEmpty()) {
            if (!rest.startsWith(':'))
                return false;
            port = rest.sliced(1);
            if (port.isEmpty())
                return false;
        }
        if (!isIPv6(host))
            return false;
    } else if (address.count(':') == 1) {
        const qsizetype colon = address.indexOf(':');
        host = address.left(colon);
        port = QByteArrayView(address).sliced(colon + 1);
        if (port.isEmpty())
            return false;
        if (!isHostName(host))
            return false;
    } else if (!isHostName(host) && !isIPv6(host)) {
        return false;
    }
    node->host = host;
    return port.isEmpty() || parsePort(port, &node->port);
}

// http_statuses: a non-empty array of integers 200-599
void optStatuses(FieldChecker &c, const QJsonObject &o, QVector<int> *out)
{
    QJsonArray array;
    if (!optArray(c, o, "http_statuses", &array))
        return;
    Scope scope(c, "http_statuses");
    QVector<int> statuses;
    statuses.reserve(array.size());
    for (qsizetype i = 0; i < array.size(); ++i) {
        Scope item(c, i);
        int status = 0;
        if (checkInteger(c, array.at(i), 200, 599, &status))
            statuses.append(status);
    }
    *out = statuses;
}

// Counters of the health checker: successes, http_failures, tcp_failures, timeouts.
void optCounter(FieldChecker &c, const QJsonObject &o, const char *name, int *out)
{
    optInteger(c, o, name, 1, 254, out);
}

// The members of a check's "healthy" or "unhealthy" object; interval is null for passive checks (no probes).
struct Thresholds
{
    double *interval;
    QVector<int> *statuses;
    std::initializer_list<std::pair<const char *, int *>> counters;
};

void optThresholds(FieldChecker &c, const QJsonObject &o, const char *name, const Thresholds &t)
{
    QJsonObject object;
    if (!optObject(c, o, name, &object))
        return;
    Scope scope(c, name);
    int interval = 0;
    if (t.interval && optInteger(c, object, "interval", 1, NoMax, &interval))
        *t.interval = interval;
    optStatuses(c, object, t.statuses);
    for (const auto &[counter, out] : t.counters)
        optCounter(c, object, counter, out);
}

const EnumName checkTypes[] = {{"http", 0}, {"https", 1}, {"tcp", 2}};

void parseActive(FieldChecker &c, const QJsonObject &o, ActiveHealthCheck *a)
{
    a->enabled = true;
    int type = 0;
    if (optEnum(c, o, "type", checkTypes, &type))
        a->type = checkTypes[type].name;
    optNumber(c, o, "timeout", 0, true, &a->timeout);
    int concurrency = 0;
    optInteger(c, o, "concurrency", 1, NoMax, &concurrency);
    QString host;
    if (optString(c, o, "host", &host)) {
        QByteArray bytes = host.toUtf8();
        if (normalizeNodeHost(&bytes)) {
            a->host = bytes;
        } else {
            Scope scope(c, "host");
            c.wrongValue(QStringLiteral("a host name or IP address"), member(o, "host"));
        }
    }
    int port = 0;
    if (optInteger(c, o, "port", 1, 65535, &port))
        a->port = quint16(port);
    QString path;
    if (optString(c, o, "http_path", &path)) {
        if (path.startsWith(QLatin1Char('/'))) {
            a->httpPath = path.toUtf8();
        } else {
            Scope scope(c, "http_path");
            c.wrongValue(QStringLiteral("a path starting with \"/\""), member(o, "http_path"));
        }
    }
    optThresholds(c, o, "healthy",
                  {&a->healthyInterval, &a->healthyStatuses, {{"successes", &a->healthySuccesses}}});
    optThresholds(c, o, "unhealthy",
                  {&a->unhealthyInterval,
                   &a->unhealthyStatuses,
                   {{"http_failures", &a->httpFailures},
                    {"tcp_failures", &a->tcpFailures},
                    {"timeouts", &a->timeouts}}});
}

void parsePassive(FieldChecker &c, const QJsonObject &o, PassiveHealthCheck *p)
{
    p->enabled = true;
    int type = 0;
    optEnum(c, o, "type", checkTypes, &type);
    optThresholds(c, o, "healthy", {nullptr, &p->healthyStatuses, {{"successes", &p->healthySuccesses}}});
    optThresholds(c, o, "unhealthy",
                  {nullptr,
                   &p->unhealthyStatuses,
                   {{"http_failures", &p->httpFailures},
                    {"tcp_failures", &p->tcpFailures},
                    {"timeouts", &p->timeouts}}});
}

void parseChecks(FieldChecker &c, const QJsonObject &o, Upstream *u)
{
    QJsonObject checks;
    if (!optObject(c, o, "checks", &checks))
        return;
    Scope scope(c, "checks");
    QJsonObject active;
    // APISIX requires the active checker: passive checks alone never bring a node back.
    if (optObject(c, checks, "active", &active)) {
        Scope inner(c, "active");
        parseActive(c, active, &u->active);
    } else if (member(checks, "active").isUndefined()) {
        required(c, "active");
    }
    QJsonObject passive;
    if (optObject(c, checks, "passive", &passive)) {
        Scope inner(c, "passive");
        parsePassive(c, passive, &u->passive);
    }
}

void parseNodes(FieldChecker &c, const QJsonValue &v, Upstream *u)
{
    Scope scope(c, "nodes");
    // A node without a port gets the scheme's, as APISIX does.
    const quint16 defaultPort = (u->scheme == "https" || u->scheme == "grpcs") ? 443 : 80;
    if (v.isObject()) {
        const QJsonObject nodes = v.toObject();
        u->nodes.reserve(nodes.size());
        for (auto it = nodes.constBegin(); it != nodes.constEnd(); ++it) {
            const QString address = it.key();
            Scope item(c, &address);
            UpstreamNode node;
            node.port = defaultPort;
            const bool addressOk = parseNodeAddress(address.toUtf8(), &node);
            if (!addressOk)
                c.wrongValue(QStringLiteral("\"host:port\" with port 1-65535"), QJsonValue(address));
            const bool weightOk = checkInteger(c, it.value(), 0, NoMax, &node.weight);
            if (addressOk && weightOk)
                u->nodes.append(node);
        }
        return;
    }
    if (!v.isArray()) {
        c.wrongType(QStringLiteral("object or array"), v);
        return;
    }
    const QJsonArray nodes = v.toArray();
    u->nodes.reserve(nodes.size());
    for (qsizetype i = 0; i < nodes.size(); ++i) {
        Scope item(c, i);
        const QJsonValue entry = nodes.at(i);
        if (!entry.isObject()) {
            c.wrongType(QStringLiteral("object"), entry);
            continue;
        }
        const QJsonObject o = entry.toObject();
        UpstreamNode node;
        node.port = defaultPort;
        bool ok = true;
        QString host;
        if (optString(c, o, "host", &host)) {
            node.host = host.toUtf8();
            if (!normalizeNodeHost(&node.host)) {
                Scope field(c, "host");
                c.wrongValue(QStringLiteral("a host name or IP address"), member(o, "host"));
                ok = false;
            }
        } else {
            if (member(o, "host").isUndefined())
                required(c, "host");
            ok = false;
        }
        int port = 0;
        if (optInteger(c, o, "port", 1, 65535, &port))
            node.port = quint16(port);
        else if (!member(o, "port").isUndefined())
            ok = false;
        if (!optInteger(c, o, "weight", 0, NoMax, &node.weight)) {
            if (member(o, "weight").isUndefined())
                required(c, "weight");
            ok = false;
        }
        if (!optInteger(c, o, "priority", NoMin, NoMax, &node.priority) &&
            !member(o, "priority").isUndefined())
            ok = false;
        if (ok)
            u->nodes.append(node);
    }
}

// The nginx variables APISIX accepts as a chash key with hash_on=vars.
bool isHashVar(QByteArrayView key)
{
    static const char *const vars[] = {"uri",          "server_name", "server_addr",
                                       "request_uri",  "remote_port", "remote_addr",
                                       "query_string", "host",        "hostname"};
    for (const char *var : vars) {
        if (key == var)
            return true;
    }
    if (!key.startsWith("arg_") || key.size() == 4)
        return false;
    for (const char ch : key.sliced(4)) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool isHeaderName(QByteArrayView key)
{
    if (key.isEmpty())
        return false;
    for (const char ch : key) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

const EnumName hashOnNames[] = {{"vars", int(Upstream::HashOn::Vars)},
                                {"header", int(Upstream::HashOn::Header)},
                                {"cookie", int(Upstream::HashOn::Cookie)},
                                {"consumer", int(Upstream::HashOn::Consumer)},
                                {"vars_combinations", int(Upstream::HashOn::VarsCombinations)}};

void parseHash(FieldChecker &c, const QJsonObject &o, Upstream *u)
{
    int hashOn = int(Upstream::HashOn::Vars);
    const bool hashOnOk =
        optEnum(c, o, "hash_on", hashOnNames, &hashOn) || member(o, "hash_on").isUndefined();
    u->hashOn = Upstream::HashOn(hashOn);
    QString key;
    const bool hasKey = optString(c, o, "key", &key);
    if (hasKey)
        u->key = key.toUtf8();
    // As APISIX, the key is only checked against hash_on for chash, the only type that reads it.
    if (u->type != Upstream::Type::ConsistentHash || !hashOnOk ||
        (!hasKey && !member(o, "key").isUndefined()))
        return;
    const char *hashOnName = hashOnNames[hashOn].name;
    if (!hasKey) {
        if (u->hashOn == Upstream::HashOn::Vars || u->hashOn == Upstream::HashOn::Consumer)
            return; // vars: remote_addr, consumer: the consumer name
        required(c, "key", QStringLiteral("when hash_on is %1").arg(QLatin1String(hashOnName)));
        return;
    }
    Scope scope(c, "key");
    switch (u->hashOn) {
    case Upstream::HashOn::Vars:
        if (!isHashVar(u->key))
            c.wrongValue(
                QStringLiteral("with hash_on vars one of uri, server_name, server_addr, request_uri, "
                               "remote_port, remote_addr, query_string, host, hostname, arg_*"),
                member(o, "key"));
        break;
    case Upstream::HashOn::Header:
    case Upstream::HashOn::Cookie:
        if (!isHeaderName(u->key))
            c.wrongValue(
                QStringLiteral("with hash_on %1 a name of [a-zA-Z0-9_-]").arg(QLatin1String(hashOnName)),
                member(o, "key"));
        break;
    case Upstream::HashOn::VarsCombinations:
        if (u->key.isEmpty())
            c.wrongValue(QStringLiteral("with hash_on vars_combinations a non-empty string"),
                         member(o, "key"));
        break;
    case Upstream::HashOn::Consumer:
        break;
    }
}

const EnumName typeNames[] = {{"roundrobin", int(Upstream::Type::RoundRobin)},
                              {"chash", int(Upstream::Type::ConsistentHash)},
                              {"least_conn", int(Upstream::Type::LeastConn)},
                              // An APISIX control plane may write ewma (lowest latency); the closest
                              // policy this gateway has is least connections.
                              {"ewma", int(Upstream::Type::LeastConn)}};
const EnumName schemeNames[] = {{"http", 0}, {"https", 1}, {"grpc", 2}, {"grpcs", 3}};
const EnumName passHostNames[] = {{"pass", int(Upstream::PassHost::Pass)},
                                  {"node", int(Upstream::PassHost::Node)},
                                  {"rewrite", int(Upstream::PassHost::Rewrite)}};

} // namespace

std::shared_ptr<Upstream> parseUpstreamObject(FieldChecker &c, const QJsonObject &o)
{
    auto u = std::make_shared<Upstream>();
    u->json = o;
    checkNameDescLabels(c, o, &u->name);

    int type = 0;
    if (optEnum(c, o, "type", typeNames, &type))
        u->type = Upstream::Type(type);
    int scheme = 0;
    if (optEnum(c, o, "scheme", schemeNames, &scheme))
        u->scheme = schemeNames[scheme].name;

    const QJsonValue nodes = member(o, "nodes");
    if (!nodes.isUndefined())
        parseNodes(c, nodes, u.get());
    else if (!member(o, "discovery_type").isUndefined())
        required(c, "nodes", QStringLiteral("(service discovery is not supported)"));
    else
        required(c, "nodes");

    parseHash(c, o, u.get());

    QJsonObject timeout;
    if (optObject(c, o, "timeout", &timeout)) {
        Scope scope(c, "timeout");
        const struct
        {
            const char *name;
            double *field;
        } fields[] = {
            {"connect", &u->timeout.connect}, {"send", &u->timeout.send}, {"read", &u->timeout.read}};
        for (const auto &field : fields) {
            if (!optNumber(c, timeout, field.name, 0, true, field.field) &&
                member(timeout, field.name).isUndefined())
                required(c, field.name);
        }
    }
    optInteger(c, o, "retries", 0, NoMax, &u->retries);
    optNumber(c, o, "retry_timeout", 0, false, &u->retryTimeout);
    optBool(c, o, "retry_non_idempotent", &u->retryNonIdempotent);

    int passHost = 0;
    if (optEnum(c, o, "pass_host", passHostNames, &passHost))
        u->passHost = Upstream::PassHost(passHost);
    QString upstreamHost;
    if (optString(c, o, "upstream_host", &upstreamHost)) {
        QByteArray host = upstreamHost.toUtf8();
        if (normalizeNodeHost(&host)) {
            u->upstreamHost = upstreamHost.toUtf8(); // as written: it is sent as the Host header
        } else {
            Scope scope(c, "upstream_host");
            c.wrongValue(QStringLiteral("a host name or IP address"), member(o, "upstream_host"));
        }
    } else if (u->passHost == Upstream::PassHost::Rewrite && member(o, "upstream_host").isUndefined()) {
        required(c, "upstream_host", QStringLiteral("when pass_host is rewrite"));
    }

    parseChecks(c, o, u.get());

    QJsonObject pool;
    if (optObject(c, o, "keepalive_pool", &pool)) {
        Scope scope(c, "keepalive_pool");
        optInteger(c, pool, "size", 1, NoMax, &u->keepalive.size);
        optNumber(c, pool, "idle_timeout", 0, false, &u->keepalive.idleTimeout);
        optInteger(c, pool, "requests", 1, NoMax, &u->keepalive.requests);
    }
    return u;
}

// uri / uris: exact, or a prefix with one trailing '*'

} // namespace validation
