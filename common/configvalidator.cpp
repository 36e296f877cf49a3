#include "configvalidator.h"

#include "canonicaljson.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QVarLengthArray>

#include <climits>
#include <cmath>

namespace {

constexpr qint64 NoMin = INT_MIN; // bounds of an int field that has no range of its own
constexpr qint64 NoMax = INT_MAX;

// Walks one top-level object. The JSON pointer and the object key are only turned into strings when an
// error is recorded, so a valid object costs no allocation for them.
class Checker
{
public:
    Checker(ObjectKind kind, const QString &id, ValidationErrors *errors)
        : m_kind(kind)
        , m_id(id)
        , m_errors(errors)
    {}

    bool failed() const { return m_failed; }

    void push(const char *name) { m_path.append(Segment{name, nullptr, -1}); }
    void push(const QString *member) { m_path.append(Segment{nullptr, member, -1}); }
    void push(qsizetype index) { m_path.append(Segment{nullptr, nullptr, index}); }
    void pop() { m_path.removeLast(); }

    void fail(const QString &message)
    {
        m_failed = true;
        if (!m_errors)
            return;
        QString key = collectionName(m_kind);
        if (!m_id.isEmpty())
            key += QLatin1Char('/') + m_id;
        m_errors->append(ValidationError{key, pointer(), message});
    }

    // "expected <what>, got <type>" for a value of the wrong JSON type
    void wrongType(const QString &expected, const QJsonValue &value)
    {
        fail(QStringLiteral("expected %1, got %2")
                 .arg(expected, QLatin1String(CanonicalJson::typeName(value))));
    }
    // "expected <what>, got <value>" for a value of the right type that is out of range
    void wrongValue(const QString &expected, const QJsonValue &value)
    {
        fail(QStringLiteral("expected %1, got %2").arg(expected, literal(value)));
    }

    static QString literal(const QJsonValue &value)
    {
        QString text = QString::fromUtf8(CanonicalJson::serialize(value));
        if (text.size() > 80)
            text = text.left(77) + QLatin1String("...");
        return text;
    }

private:
    struct Segment
    {
        const char *name;
        const QString *member;
        qsizetype index;
    };

    static void appendEscaped(QString &out, const QString &token)
    {
        for (const QChar c : token) {
            if (c == QLatin1Char('~'))
                out += QLatin1String("~0");
            else if (c == QLatin1Char('/'))
                out += QLatin1String("~1");
            else
                out += c;
        }
    }

    QString pointer() const
    {
        QString out;
        for (const Segment &segment : m_path) {
            out += QLatin1Char('/');
            if (segment.name)
                out += QLatin1String(segment.name);
            else if (segment.member)
                appendEscaped(out, *segment.member);
            else
                out += QString::number(segment.index);
        }
        return out;
    }

    ObjectKind m_kind;
    const QString &m_id;
    ValidationErrors *m_errors;
    QVarLengthArray<Segment, 8> m_path;
    bool m_failed = false;
};

class Scope
{
public:
    template<typename T>
    Scope(Checker &checker, T segment)
        : m_checker(checker)
    {
        checker.push(segment);
    }
    ~Scope() { m_checker.pop(); }
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

private:
    Checker &m_checker;
};

QJsonValue member(const QJsonObject &object, const char *name)
{
    return object.value(QLatin1String(name));
}

QString integerSpec(qint64 min, qint64 max)
{
    if (min == NoMin && max == NoMax)
        return QStringLiteral("integer");
    if (max == NoMax)
        return QStringLiteral("integer >= %1").arg(min);
    return QStringLiteral("integer %1-%2").arg(min).arg(max);
}

// Value checks at the checker's current path. Each returns false, with the error recorded, on a bad value.

bool checkString(Checker &c, const QJsonValue &v, QString *out)
{
    if (!v.isString()) {
        c.wrongType(QStringLiteral("string"), v);
        return false;
    }
    *out = v.toString();
    return true;
}

bool checkInteger(Checker &c, const QJsonValue &v, qint64 min, qint64 max, int *out)
{
    if (!v.isDouble()) {
        c.wrongType(integerSpec(min, max), v);
        return false;
    }
    const double d = v.toDouble();
    if (std::floor(d) != d || d < double(min) || d > double(max)) {
        c.wrongValue(integerSpec(min, max), v);
        return false;
    }
    *out = int(d);
    return true;
}

bool checkNumber(Checker &c, const QJsonValue &v, double min, bool exclusive, double *out)
{
    const auto spec = [&] {
        return QStringLiteral("number %1 %2")
            .arg(exclusive ? QLatin1String(">") : QLatin1String(">="))
            .arg(min);
    };
    if (!v.isDouble()) {
        c.wrongType(spec(), v);
        return false;
    }
    const double d = v.toDouble();
    if (exclusive ? !(d > min) : !(d >= min)) {
        c.wrongValue(spec(), v);
        return false;
    }
    *out = d;
    return true;
}

struct EnumName
{
    const char *name;
    int value;
};

template<size_t N>
bool checkEnum(Checker &c, const QJsonValue &v, const EnumName (&names)[N], int *out)
{
    const auto spec = [&] {
        QString text = QStringLiteral("one of ");
        for (size_t i = 0; i < N; ++i) {
            if (i)
                text += QLatin1String(", ");
            text += QLatin1String(names[i].name);
        }
        return text;
    };
    if (!v.isString()) {
        c.wrongType(spec(), v);
        return false;
    }
    const QString s = v.toString();
    for (const EnumName &entry : names) {
        if (s == QLatin1String(entry.name)) {
            *out = entry.value;
            return true;
        }
    }
    c.wrongValue(spec(), v);
    return false;
}

// Field readers: false when the member is absent or invalid (then the error is recorded).

bool optString(Checker &c, const QJsonObject &o, const char *name, QString *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    return checkString(c, v, out);
}

bool optBool(Checker &c, const QJsonObject &o, const char *name, bool *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    if (!v.isBool()) {
        c.wrongType(QStringLiteral("boolean"), v);
        return false;
    }
    *out = v.toBool();
    return true;
}

bool optInteger(Checker &c, const QJsonObject &o, const char *name, qint64 min, qint64 max, int *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    return checkInteger(c, v, min, max, out);
}

bool optNumber(Checker &c, const QJsonObject &o, const char *name, double min, bool exclusive, double *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    return checkNumber(c, v, min, exclusive, out);
}

bool optObject(Checker &c, const QJsonObject &o, const char *name, QJsonObject *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    if (!v.isObject()) {
        Scope scope(c, name);
        c.wrongType(QStringLiteral("object"), v);
        return false;
    }
    *out = v.toObject();
    return true;
}

// A non-empty array; the caller enters the member's scope for the items.
bool optArray(Checker &c, const QJsonObject &o, const char *name, QJsonArray *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    if (!v.isArray()) {
        c.wrongType(QStringLiteral("non-empty array"), v);
        return false;
    }
    *out = v.toArray();
    if (out->isEmpty()) {
        c.wrongValue(QStringLiteral("non-empty array"), v);
        return false;
    }
    return true;
}

template<size_t N>
bool optEnum(Checker &c, const QJsonObject &o, const char *name, const EnumName (&names)[N], int *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    Scope scope(c, name);
    return checkEnum(c, v, names, out);
}

void required(Checker &c, const char *name, const QString &why = QString())
{
    Scope scope(c, name);
    c.fail(why.isEmpty() ? QStringLiteral("required") : QStringLiteral("required ") + why);
}

bool optReference(Checker &c, const QJsonObject &o, const char *name, QString *out)
{
    const QJsonValue v = member(o, name);
    if (v.isUndefined())
        return false;
    if (ConfigValidator::idFromJson(v, out))
        return true;
    Scope scope(c, name);
    const QString spec = QStringLiteral("non-empty string or integer >= 1");
    if (v.isString() || v.isDouble())
        c.wrongValue(spec, v);
    else
        c.wrongType(spec, v);
    return false;
}

// The object's own "id", when written, must name the same object as its key.
void checkId(Checker &c, const QJsonObject &o, const QString &id)
{
    QString own;
    if (!optReference(c, o, "id", &own))
        return;
    if (own != id) {
        Scope scope(c, "id");
        c.wrongValue(QStringLiteral("\"%1\" (the id in the key)").arg(id), member(o, "id"));
    }
}

void checkNameDescLabels(Checker &c, const QJsonObject &o, QString *name)
{
    optString(c, o, "name", name);
    QString desc;
    optString(c, o, "desc", &desc);
    QJsonObject labels;
    if (optObject(c, o, "labels", &labels)) {
        Scope scope(c, "labels");
        for (auto it = labels.constBegin(); it != labels.constEnd(); ++it) {
            if (!it.value().isString()) {
                const QString key = it.key();
                Scope item(c, &key);
                c.wrongType(QStringLiteral("string"), it.value());
            }
        }
    }
}

bool isHostChar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
           ch == '.' || ch == '_';
}

// A name or an IPv4 address, as APISIX's host_def: [0-9a-zA-Z-._]+
bool isHostName(QByteArrayView host)
{
    if (host.isEmpty())
        return false;
    for (const char ch : host) {
        if (!isHostChar(ch))
            return false;
    }
    return true;
}

// An IPv6 address without brackets; loose, as APISIX's own check, since connect() has the last word.
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
void optStatuses(Checker &c, const QJsonObject &o, QVector<int> *out)
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
void optCounter(Checker &c, const QJsonObject &o, const char *name, int *out)
{
    optInteger(c, o, name, 1, 254, out);
}

const EnumName checkTypes[] = {{"http", 0}, {"https", 1}, {"tcp", 2}};

void parseActive(Checker &c, const QJsonObject &o, ActiveHealthCheck *a)
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
    QJsonObject healthy;
    if (optObject(c, o, "healthy", &healthy)) {
        Scope scope(c, "healthy");
        int interval = 0;
        if (optInteger(c, healthy, "interval", 1, NoMax, &interval))
            a->healthyInterval = interval;
        optStatuses(c, healthy, &a->healthyStatuses);
        optCounter(c, healthy, "successes", &a->healthySuccesses);
    }
    QJsonObject unhealthy;
    if (optObject(c, o, "unhealthy", &unhealthy)) {
        Scope scope(c, "unhealthy");
        int interval = 0;
        if (optInteger(c, unhealthy, "interval", 1, NoMax, &interval))
            a->unhealthyInterval = interval;
        optStatuses(c, unhealthy, &a->unhealthyStatuses);
        optCounter(c, unhealthy, "http_failures", &a->httpFailures);
        optCounter(c, unhealthy, "tcp_failures", &a->tcpFailures);
        optCounter(c, unhealthy, "timeouts", &a->timeouts);
    }
}

void parsePassive(Checker &c, const QJsonObject &o, PassiveHealthCheck *p)
{
    p->enabled = true;
    int type = 0;
    optEnum(c, o, "type", checkTypes, &type);
    QJsonObject healthy;
    if (optObject(c, o, "healthy", &healthy)) {
        Scope scope(c, "healthy");
        optStatuses(c, healthy, &p->healthyStatuses);
        optCounter(c, healthy, "successes", &p->healthySuccesses);
    }
    QJsonObject unhealthy;
    if (optObject(c, o, "unhealthy", &unhealthy)) {
        Scope scope(c, "unhealthy");
        optStatuses(c, unhealthy, &p->unhealthyStatuses);
        optCounter(c, unhealthy, "http_failures", &p->httpFailures);
        optCounter(c, unhealthy, "tcp_failures", &p->tcpFailures);
        optCounter(c, unhealthy, "timeouts", &p->timeouts);
    }
}

void parseChecks(Checker &c, const QJsonObject &o, Upstream *u)
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

void parseNodes(Checker &c, const QJsonValue &v, Upstream *u)
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

void parseHash(Checker &c, const QJsonObject &o, Upstream *u)
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

std::shared_ptr<Upstream> parseUpstreamObject(Checker &c, const QJsonObject &o)
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
bool checkUri(Checker &c, const QJsonValue &v, QByteArray *out)
{
    QString uri;
    if (!checkString(c, v, &uri))
        return false;
    if (!uri.startsWith(QLatin1Char('/'))) {
        c.wrongValue(QStringLiteral("a path starting with \"/\""), v);
        return false;
    }
    const qsizetype star = uri.indexOf(QLatin1Char('*'));
    if (star >= 0 && star != uri.size() - 1) {
        c.wrongValue(QStringLiteral("\"*\" only as the last character"), v);
        return false;
    }
    *out = uri.toUtf8();
    return true;
}

// host / hosts: a name, or "*." and a name; lower-cased since hosts compare case-insensitively
bool checkHost(Checker &c, const QJsonValue &v, QByteArray *out)
{
    QString host;
    if (!checkString(c, v, &host))
        return false;
    const QByteArray bytes = host.toUtf8().toLower();
    const QByteArrayView name =
        bytes.startsWith("*.") ? QByteArrayView(bytes).sliced(2) : QByteArrayView(bytes);
    if (!isHostName(name)) {
        c.wrongValue(QStringLiteral("a host name, or \"*.\" and a host name"), v);
        return false;
    }
    *out = bytes;
    return true;
}

bool checkMethod(Checker &c, const QJsonValue &v, QByteArray *out)
{
    static const char *const methods[] = {"GET",  "POST",    "PUT",     "DELETE", "PATCH",
                                          "HEAD", "OPTIONS", "CONNECT", "TRACE",  "PURGE"};
    QString method;
    if (!checkString(c, v, &method))
        return false;
    for (const char *known : methods) {
        if (method == QLatin1String(known)) {
            *out = known;
            return true;
        }
    }
    c.wrongValue(QStringLiteral("one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE, PURGE"),
                 v);
    return false;
}

// "uri" or "uris", "host" or "hosts", "method"s: one value or a non-empty array of them
template<typename Check>
void parseOneOrMany(Checker &c, const QJsonObject &o, const char *one, const char *many, Check check,
                    QVector<QByteArray> *out)
{
    const QJsonValue single = member(o, one);
    if (!single.isUndefined()) {
        Scope scope(c, one);
        QByteArray value;
        if (check(c, single, &value))
            out->append(value);
    }
    QJsonArray array;
    if (optArray(c, o, many, &array)) {
        Scope scope(c, many);
        out->reserve(out->size() + array.size());
        for (qsizetype i = 0; i < array.size(); ++i) {
            Scope item(c, i);
            QByteArray value;
            if (check(c, array.at(i), &value))
                out->append(value);
        }
    }
    if (!single.isUndefined() && !member(o, many).isUndefined())
        c.fail(QStringLiteral("expected \"%1\" or \"%2\", got both")
                   .arg(QLatin1String(one), QLatin1String(many)));
}

std::shared_ptr<Upstream> parseInlineUpstream(Checker &c, const QJsonObject &o)
{
    const QJsonValue v = member(o, "upstream");
    if (v.isUndefined())
        return {};
    Scope scope(c, "upstream");
    if (!v.isObject()) {
        c.wrongType(QStringLiteral("object"), v);
        return {};
    }
    return parseUpstreamObject(c, v.toObject());
}

// Resolves the id of an object from its key, or from its own "id" when no key id is given.
bool resolveId(Checker &c, const QJsonObject &o, const QString &keyId, QString *id)
{
    if (!keyId.isEmpty()) {
        *id = keyId;
        checkId(c, o, keyId);
        return true;
    }
    if (optReference(c, o, "id", id))
        return true;
    if (member(o, "id").isUndefined())
        required(c, "id");
    return false;
}

} // namespace

RoutePtr ConfigValidator::parseRoute(const QString &id, const QJsonValue &value, ValidationErrors *errors)
{
    QString routeId = id;
    Checker c(ObjectKind::Route, routeId, errors);
    if (!value.isObject()) {
        c.wrongType(QStringLiteral("object"), value);
        return {};
    }
    const QJsonObject o = value.toObject();
    if (!resolveId(c, o, id, &routeId))
        return {};

    auto r = std::make_shared<Route>();
    r->id = routeId;
    r->json = o;
    checkNameDescLabels(c, o, &r->name);

    parseOneOrMany(c, o, "uri", "uris", checkUri, &r->uris);
    if (member(o, "uri").isUndefined() && member(o, "uris").isUndefined())
        c.fail(QStringLiteral("expected \"uri\" or \"uris\", got neither"));
    QJsonArray methods;
    if (optArray(c, o, "methods", &methods)) {
        Scope scope(c, "methods");
        r->methods.reserve(methods.size());
        for (qsizetype i = 0; i < methods.size(); ++i) {
            Scope item(c, i);
            QByteArray method;
            if (checkMethod(c, methods.at(i), &method) && !r->methods.contains(method))
                r->methods.append(method);
        }
    }
    parseOneOrMany(c, o, "host", "hosts", checkHost, &r->hosts);

    optInteger(c, o, "priority", NoMin, NoMax, &r->priority);
    const QJsonValue status = member(o, "status");
    if (!status.isUndefined()) {
        Scope scope(c, "status");
        int on = 1;
        if (checkInteger(c, status, 0, 1, &on))
            r->enabled = on == 1;
    }

    r->upstream = parseInlineUpstream(c, o);
    optReference(c, o, "upstream_id", &r->upstreamId);
    optReference(c, o, "service_id", &r->serviceId);
    optObject(c, o, "plugins", &r->plugins);
    // APISIX's rule: something must serve the request. A plugins-only route is accepted even when no
    // plugin here serves it (it answers 503), so that an APISIX configuration loads as a whole.
    if (member(o, "upstream").isUndefined() && member(o, "upstream_id").isUndefined() &&
        member(o, "service_id").isUndefined() && member(o, "plugins").isUndefined())
        c.fail(QStringLiteral(
            "expected \"upstream\", \"upstream_id\", \"service_id\" or \"plugins\", got none"));

    return c.failed() ? nullptr : r;
}

UpstreamPtr ConfigValidator::parseUpstream(const QString &id, const QJsonValue &value,
                                           ValidationErrors *errors)
{
    QString upstreamId = id;
    Checker c(ObjectKind::Upstream, upstreamId, errors);
    if (!value.isObject()) {
        c.wrongType(QStringLiteral("object"), value);
        return {};
    }
    const QJsonObject o = value.toObject();
    if (!resolveId(c, o, id, &upstreamId))
        return {};
    auto u = parseUpstreamObject(c, o);
    u->id = upstreamId;
    return c.failed() ? nullptr : u;
}

ServicePtr ConfigValidator::parseService(const QString &id, const QJsonValue &value, ValidationErrors *errors)
{
    QString serviceId = id;
    Checker c(ObjectKind::Service, serviceId, errors);
    if (!value.isObject()) {
        c.wrongType(QStringLiteral("object"), value);
        return {};
    }
    const QJsonObject o = value.toObject();
    if (!resolveId(c, o, id, &serviceId))
        return {};
    auto s = std::make_shared<Service>();
    s->id = serviceId;
    s->json = o;
    checkNameDescLabels(c, o, &s->name);
    s->upstream = parseInlineUpstream(c, o);
    optReference(c, o, "upstream_id", &s->upstreamId);
    optObject(c, o, "plugins", &s->plugins);
    return c.failed() ? nullptr : s;
}

bool ConfigValidator::idFromJson(const QJsonValue &value, QString *id)
{
    if (value.isString()) {
        QString s = value.toString();
        if (s.isEmpty())
            return false;
        *id = std::move(s);
        return true;
    }
    if (value.isDouble()) {
        const double d = value.toDouble();
        // Integral and exact in a double, so that 12 and 12.0 and "12" are the same id.
        if (std::floor(d) != d || d < 1 || d > 9007199254740992.0)
            return false;
        *id = QString::number(qint64(d));
        return true;
    }
    return false;
}
