// Typed, validated views of the APISIX-compatible config objects: routes, upstreams and services.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QVector>

#include <memory>
#include <optional>

enum class ObjectKind
{
    Route,
    Upstream,
    Service
};

// Every kind, in the order their collections are written.
constexpr ObjectKind AllObjectKinds[] = {ObjectKind::Route, ObjectKind::Upstream, ObjectKind::Service};

// "routes", "upstreams", "services": the collection name in the config object, under the etcd prefix and
// in the counts of /v1/status.
QString collectionName(ObjectKind kind);
// The kind whose collection is `name`; nullopt for any other name (consumers, ssls, ...).
std::optional<ObjectKind> kindOfCollection(QStringView name);

struct UpstreamNode
{
    QByteArray host;   // name or address, IPv6 without brackets
    quint16 port = 80; // when not written: 443 with scheme https or grpcs, else 80 (as APISIX)
    int weight = 1;
    int priority = 0;
};

// Seconds, as APISIX writes them; the defaults are APISIX's (nginx's proxy_*_timeout).
struct UpstreamTimeout
{
    double connect = 60;
    double send = 60;
    double read = 60;
};

struct ActiveHealthCheck
{
    bool enabled = false;
    QByteArray type = "http"; // http | https | tcp
    QByteArray httpPath = "/";
    QByteArray host;  // Host header of the probe; empty: the node's address
    quint16 port = 0; // 0: the node's port
    double timeout = 1;
    double healthyInterval = 1; // seconds between probes of a healthy node
    QVector<int> healthyStatuses{200, 302};
    int healthySuccesses = 2;
    double unhealthyInterval = 1; // seconds between probes of an unhealthy node
    QVector<int> unhealthyStatuses{429, 404, 500, 501, 502, 503, 504, 505};
    int httpFailures = 5;
    int tcpFailures = 2;
    int timeouts = 3;
};

struct PassiveHealthCheck
{
    bool enabled = false;
    QVector<int> healthyStatuses{200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                 300, 301, 302, 303, 304, 305, 306, 307, 308};
    int healthySuccesses = 5;
    QVector<int> unhealthyStatuses{429, 500, 503};
    int httpFailures = 5;
    int tcpFailures = 2;
    int timeouts = 7;
};

struct KeepalivePool
{
    int size = 320;
    double idleTimeout = 60; // seconds
    int requests = 1000;     // requests per upstream connection before it is closed
};

struct Upstream
{
    enum class Type
    {
        RoundRobin,
        ConsistentHash,
        LeastConn
    };
    enum class HashOn
    {
        Vars,
        Header,
        Cookie,
        Consumer,
        VarsCombinations
    };
    enum class PassHost
    {
        Pass,
        Node,
        Rewrite
    };

    QString id; // empty for an upstream written inline in a route or service
    QString name;
    Type type = Type::RoundRobin; // APISIX's "ewma" is read as LeastConn, the closest policy here
    QVector<UpstreamNode> nodes;
    HashOn hashOn = HashOn::Vars;
    QByteArray key = "remote_addr"; // with chash: a variable name, a header name or a cookie name, as written
    UpstreamTimeout timeout;
    int retries = -1;        // -1: APISIX's default, one try per node
    double retryTimeout = 0; // seconds; 0: no limit
    // "retry_non_idempotent": a POST, PATCH, ... may go to the next node even after it was sent.
    bool retryNonIdempotent = false;
    QByteArray scheme = "http";
    PassHost passHost = PassHost::Pass;
    QByteArray upstreamHost; // with pass_host=rewrite
    ActiveHealthCheck active;
    PassiveHealthCheck passive;
    KeepalivePool keepalive;

    QJsonObject json; // the object as written, unknown fields included
    // CanonicalJson::serialize(json), made once by the validator (empty for an inline upstream or an
    // object built by hand): a snapshot's digest concatenates these instead of serialising every object
    // again for every generation.
    QByteArray canonical;
};
using UpstreamPtr = std::shared_ptr<const Upstream>;

struct Service
{
    QString id;
    QString name;
    UpstreamPtr upstream; // inline, or null
    QString upstreamId;   // empty when none
    QJsonObject plugins;

    QJsonObject json;
    QByteArray canonical; // as Upstream::canonical
};
using ServicePtr = std::shared_ptr<const Service>;

struct Route
{
    QString id;
    QString name;
    QVector<QByteArray> uris;    // as written; a trailing '*' makes a prefix
    QVector<QByteArray> methods; // upper case; empty: any method
    QVector<QByteArray> hosts;   // lower case; "*.example.com" is a wildcard; empty: any host
    int priority = 0;            // higher wins
    bool enabled = true;         // status 1 (default) or 0
    UpstreamPtr upstream;        // inline, or null
    QString upstreamId;
    QString serviceId;
    QJsonObject plugins;
    // enable_websocket as written; nullopt when the route does not say (its service's then counts).
    std::optional<bool> websocket;

    // The object as written, unknown fields included, in canonical JSON (as Upstream::canonical). A
    // route keeps no parsed copy of it: with 100k routes that copy was ~360 bytes each, the largest
    // part of a route; writtenJson() reads it back for the few that ask (the admin API's live config).
    QByteArray canonical;
};
using RoutePtr = std::shared_ptr<const Route>;

// The object as written, of any kind: what a snapshot's json() holds under its id.
QJsonObject writtenJson(const Route &route);
inline QJsonObject writtenJson(const Upstream &upstream)
{
    return upstream.json;
}
inline QJsonObject writtenJson(const Service &service)
{
    return service.json;
}
