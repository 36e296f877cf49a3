// Tests that APISIX-format routes, upstreams and services are parsed, and every bad field is reported.
#include "configvalidator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

namespace {

QJsonValue parse(const QByteArray &text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson("[" + text + "]", &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s: %s", text.constData(), qPrintable(error.errorString()));
    return document.array().at(0);
}

QStringList strings(const ValidationErrors &errors)
{
    QStringList out;
    for (const ValidationError &error : errors)
        out << error.toString();
    return out;
}

// Parses with the validator of `kind` and key id "1"; true when an object came back.
bool validate(const QString &kind, const QJsonValue &value, ValidationErrors *errors)
{
    const QString id = QStringLiteral("1");
    if (kind == QLatin1String("route"))
        return ConfigValidator::parseRoute(id, value, errors) != nullptr;
    if (kind == QLatin1String("upstream"))
        return ConfigValidator::parseUpstream(id, value, errors) != nullptr;
    return ConfigValidator::parseService(id, value, errors) != nullptr;
}

UpstreamPtr upstream(const QByteArray &text)
{
    ValidationErrors errors;
    UpstreamPtr u = ConfigValidator::parseUpstream(QStringLiteral("u"), parse(text), &errors);
    if (!errors.isEmpty())
        qWarning() << strings(errors);
    return u;
}

const char *const methodList = "one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE, PURGE";

} // namespace

class TestConfigValidator : public QObject
{
    Q_OBJECT

private slots:
    void rejects_data();
    void rejects();
    void acceptsValid_data();
    void acceptsValid();
    void exactMessagesFromTheDesign();
    void errorsAreAppended();
    void routeFields();
    void routeKeepsUnknownFields();
    void routeWithPluginsOnly();
    void routeIdFromObjectWhenKeyless();
    void idForms_data();
    void idForms();
    void nodesObjectForm();
    void nodesArrayForm();
    void defaultPortFollowsScheme();
    void upstreamFields();
    void upstreamDefaults();
    void hashKeys();
    void healthChecks();
    void service();
};

void TestConfigValidator::rejects_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("errors");

    const auto row = [](const char *name, const char *kind, const char *json, const QStringList &errors) {
        QTest::newRow(name) << QString::fromLatin1(kind) << QByteArray(json) << errors;
    };
    const auto one = [](const char *text) { return QStringList{QString::fromUtf8(text)}; };

    // routes
    row("route not object", "route", R"("x")", one("routes/1: expected object, got string"));
    row("uri wrong type", "route", R"({"uri":5,"upstream_id":1})",
        one("routes/1: /uri: expected string, got number"));
    row("enable_websocket not a boolean", "route", R"({"uri":"/a","upstream_id":1,"enable_websocket":1})",
        one("routes/1: /enable_websocket: expected boolean, got number"));
    row("uri missing", "route", R"({"upstream_id":1})",
        one(R"(routes/1: expected "uri" or "uris", got neither)"));
    row("uri and uris", "route", R"({"uri":"/a","uris":["/b"],"upstream_id":1})",
        one(R"(routes/1: expected "uri" or "uris", got both)"));
    row("uri without slash", "route", R"({"uri":"a","upstream_id":1})",
        one(R"(routes/1: /uri: expected a path starting with "/", got "a")"));
    row("uri empty", "route", R"({"uri":"","upstream_id":1})",
        one(R"(routes/1: /uri: expected a path starting with "/", got "")"));
    row("uri star inside", "route", R"({"uri":"/a*/b","upstream_id":1})",
        one(R"(routes/1: /uri: expected "*" only as the last character, got "/a*/b")"));
    row("uri two stars", "route", R"({"uri":"/a**","upstream_id":1})",
        one(R"(routes/1: /uri: expected "*" only as the last character, got "/a**")"));
    row("uris empty", "route", R"({"uris":[],"upstream_id":1})",
        one("routes/1: /uris: expected non-empty array, got []"));
    row("uris not array", "route", R"({"uris":"/a","upstream_id":1})",
        one("routes/1: /uris: expected non-empty array, got string"));
    row("uris item type", "route", R"({"uris":["/a",3],"upstream_id":1})",
        one("routes/1: /uris/1: expected string, got number"));
    row("uris item path", "route", R"({"uris":["/a","b*"],"upstream_id":1})",
        one(R"(routes/1: /uris/1: expected a path starting with "/", got "b*")"));
    row("method lower case", "route", R"({"uri":"/","methods":["GET","get"],"upstream_id":1})",
        QStringList{
            QStringLiteral("routes/1: /methods/1: expected %1, got \"get\"").arg(QLatin1String(methodList))});
    row("method unknown", "route", R"({"uri":"/","methods":["FETCH"],"upstream_id":1})",
        QStringList{QStringLiteral("routes/1: /methods/0: expected %1, got \"FETCH\"")
                        .arg(QLatin1String(methodList))});
    row("methods not array", "route", R"({"uri":"/","methods":"GET","upstream_id":1})",
        one("routes/1: /methods: expected non-empty array, got string"));
    row("method type", "route", R"({"uri":"/","methods":[1],"upstream_id":1})",
        QStringList{QStringLiteral("routes/1: /methods/0: expected string, got number")});
    row("host wildcard inside", "route", R"({"uri":"/","host":"a.*.com","upstream_id":1})",
        one(R"(routes/1: /host: expected a host name, or "*." and a host name, got "a.*.com")"));
    row("host wildcard alone", "route", R"({"uri":"/","host":"*","upstream_id":1})",
        one(R"(routes/1: /host: expected a host name, or "*." and a host name, got "*")"));
    row("host wildcard no dot", "route", R"({"uri":"/","host":"*a.com","upstream_id":1})",
        one(R"(routes/1: /host: expected a host name, or "*." and a host name, got "*a.com")"));
    row("host with port", "route", R"({"uri":"/","host":"a.com:80","upstream_id":1})",
        one(R"(routes/1: /host: expected a host name, or "*." and a host name, got "a.com:80")"));
    row("host type", "route", R"({"uri":"/","host":["a.com"],"upstream_id":1})",
        one("routes/1: /host: expected string, got array"));
    row("host and hosts", "route", R"({"uri":"/","host":"a.com","hosts":["b.com"],"upstream_id":1})",
        one(R"(routes/1: expected "host" or "hosts", got both)"));
    row("hosts item", "route", R"({"uri":"/","hosts":["a.com",""],"upstream_id":1})",
        one(R"(routes/1: /hosts/1: expected a host name, or "*." and a host name, got "")"));
    row("hosts empty", "route", R"({"uri":"/","hosts":[],"upstream_id":1})",
        one("routes/1: /hosts: expected non-empty array, got []"));
    row("priority fraction", "route", R"({"uri":"/","priority":1.5,"upstream_id":1})",
        one("routes/1: /priority: expected integer, got 1.5"));
    row("priority type", "route", R"({"uri":"/","priority":"1","upstream_id":1})",
        one("routes/1: /priority: expected integer, got string"));
    row("status 2", "route", R"({"uri":"/","status":2,"upstream_id":1})",
        one("routes/1: /status: expected integer 0-1, got 2"));
    row("status bool", "route", R"({"uri":"/","status":true,"upstream_id":1})",
        one("routes/1: /status: expected integer 0-1, got boolean"));
    row("nothing serves", "route", R"({"uri":"/"})",
        one(R"(routes/1: expected "upstream", "upstream_id", "service_id" or "plugins", got none)"));
    row("upstream_id type", "route", R"({"uri":"/","upstream_id":true})",
        one("routes/1: /upstream_id: expected non-empty string or integer >= 1, got boolean"));
    row("upstream_id empty", "route", R"({"uri":"/","upstream_id":""})",
        one(R"(routes/1: /upstream_id: expected non-empty string or integer >= 1, got "")"));
    row("service_id zero", "route", R"({"uri":"/","service_id":0})",
        one("routes/1: /service_id: expected non-empty string or integer >= 1, got 0"));
    row("service_id fraction", "route", R"({"uri":"/","service_id":1.5})",
        one("routes/1: /service_id: expected non-empty string or integer >= 1, got 1.5"));
    row("plugins type", "route", R"({"uri":"/","plugins":[]})",
        one("routes/1: /plugins: expected object, got array"));
    row("upstream type", "route", R"({"uri":"/","upstream":5})",
        one("routes/1: /upstream: expected object, got number"));
    row("inline upstream field", "route",
        R"({"uri":"/","upstream":{"nodes":[{"host":"a","port":0,"weight":1}]}})",
        one("routes/1: /upstream/nodes/0/port: expected integer 1-65535, got 0"));
    row("route id mismatch", "route", R"({"id":"2","uri":"/","upstream_id":1})",
        one(R"(routes/1: /id: expected "1" (the id in the key), got "2")"));
    row("route id type", "route", R"({"id":true,"uri":"/","upstream_id":1})",
        one("routes/1: /id: expected non-empty string or integer >= 1, got boolean"));
    row("name type", "route", R"({"name":5,"uri":"/","upstream_id":1})",
        one("routes/1: /name: expected string, got number"));
    row("desc type", "route", R"({"desc":{},"uri":"/","upstream_id":1})",
        one("routes/1: /desc: expected string, got object"));
    row("labels type", "route", R"({"labels":[],"uri":"/","upstream_id":1})",
        one("routes/1: /labels: expected object, got array"));
    row("label value", "route", R"({"labels":{"a/b":1},"uri":"/","upstream_id":1})",
        one("routes/1: /labels/a~1b: expected string, got number"));
    row("every error", "route", R"({"uri":5,"methods":["X"],"priority":"a","upstream_id":true})",
        QStringList{
            QStringLiteral("routes/1: /uri: expected string, got number"),
            QStringLiteral("routes/1: /methods/0: expected %1, got \"X\"").arg(QLatin1String(methodList)),
            QStringLiteral("routes/1: /priority: expected integer, got string"),
            QStringLiteral(
                "routes/1: /upstream_id: expected non-empty string or integer >= 1, got boolean")});

    // upstreams
    row("upstream not object", "upstream", "[]", one("upstreams/1: expected object, got array"));
    row("type", "upstream", R"({"type":"random","nodes":{}})",
        one(R"(upstreams/1: /type: expected one of roundrobin, chash, least_conn, ewma, got "random")"));
    row("type wrong type", "upstream", R"({"type":1,"nodes":{}})",
        one("upstreams/1: /type: expected one of roundrobin, chash, least_conn, ewma, got number"));
    row("nodes missing", "upstream", R"({"type":"roundrobin"})", one("upstreams/1: /nodes: required"));
    row("nodes discovery", "upstream", R"({"service_name":"a","discovery_type":"dns"})",
        one("upstreams/1: /nodes: required (service discovery is not supported)"));
    row("nodes type", "upstream", R"({"nodes":"a:80"})",
        one("upstreams/1: /nodes: expected object or array, got string"));
    row("node key port 0", "upstream", R"({"nodes":{"a:0":1}})",
        one(R"(upstreams/1: /nodes/a:0: expected "host:port" with port 1-65535, got "a:0")"));
    row("node key port big", "upstream", R"({"nodes":{"a:65536":1}})",
        one(R"(upstreams/1: /nodes/a:65536: expected "host:port" with port 1-65535, got "a:65536")"));
    row("node key port empty", "upstream", R"({"nodes":{"a:":1}})",
        one(R"(upstreams/1: /nodes/a:: expected "host:port" with port 1-65535, got "a:")"));
    row("node key port text", "upstream", R"({"nodes":{"a:http":1}})",
        one(R"(upstreams/1: /nodes/a:http: expected "host:port" with port 1-65535, got "a:http")"));
    row("node key ipv6 port 0", "upstream", R"({"nodes":{"[::1]:0":1}})",
        one(R"(upstreams/1: /nodes/[::1]:0: expected "host:port" with port 1-65535, got "[::1]:0")"));
    row("node key ipv6 unclosed", "upstream", R"({"nodes":{"[::1:80":1}})",
        one(R"(upstreams/1: /nodes/[::1:80: expected "host:port" with port 1-65535, got "[::1:80")"));
    row("node key host", "upstream", R"({"nodes":{"a b:80":1}})",
        one(R"(upstreams/1: /nodes/a b:80: expected "host:port" with port 1-65535, got "a b:80")"));
    row("node key bracketed name", "upstream", R"({"nodes":{"[a.com]:80":1}})",
        one(R"(upstreams/1: /nodes/[a.com]:80: expected "host:port" with port 1-65535, got "[a.com]:80")"));
    row("array node bracketed name", "upstream", R"({"nodes":[{"host":"[a.com]","port":80,"weight":1}]})",
        one(R"(upstreams/1: /nodes/0/host: expected a host name or IP address, got "[a.com]")"));
    row("chash combinations empty key", "upstream",
        R"({"nodes":{},"type":"chash","hash_on":"vars_combinations","key":""})",
        one(R"(upstreams/1: /key: expected with hash_on vars_combinations a non-empty string, got "")"));
    row("passive not object", "upstream", R"({"nodes":{},"checks":{"active":{},"passive":"on"}})",
        one("upstreams/1: /checks/passive: expected object, got string"));
    row("node key slash escaped", "upstream", R"({"nodes":{"a/b:80":1}})",
        one(R"(upstreams/1: /nodes/a~1b:80: expected "host:port" with port 1-65535, got "a/b:80")"));
    row("node weight negative", "upstream", R"({"nodes":{"a:80":-1}})",
        one("upstreams/1: /nodes/a:80: expected integer >= 0, got -1"));
    row("node weight type", "upstream", R"({"nodes":{"a:80":"1"}})",
        one("upstreams/1: /nodes/a:80: expected integer >= 0, got string"));
    row("node weight fraction", "upstream", R"({"nodes":{"a:80":0.5}})",
        one("upstreams/1: /nodes/a:80: expected integer >= 0, got 0.5"));
    row("array node not object", "upstream", R"({"nodes":[5]})",
        one("upstreams/1: /nodes/0: expected object, got number"));
    row("array node port 0", "upstream", R"({"nodes":[{"host":"a","port":0,"weight":1}]})",
        one("upstreams/1: /nodes/0/port: expected integer 1-65535, got 0"));
    row("array node port big", "upstream", R"({"nodes":[{"host":"a","port":65536,"weight":1}]})",
        one("upstreams/1: /nodes/0/port: expected integer 1-65535, got 65536"));
    row("array node port type", "upstream", R"({"nodes":[{"host":"a","port":"80","weight":1}]})",
        one("upstreams/1: /nodes/0/port: expected integer 1-65535, got string"));
    row("array node host missing", "upstream", R"({"nodes":[{"port":80,"weight":1}]})",
        one("upstreams/1: /nodes/0/host: required"));
    row("array node host bad", "upstream", R"({"nodes":[{"host":"a b","port":80,"weight":1}]})",
        one(R"(upstreams/1: /nodes/0/host: expected a host name or IP address, got "a b")"));
    row("array node host type", "upstream", R"({"nodes":[{"host":1,"port":80,"weight":1}]})",
        one("upstreams/1: /nodes/0/host: expected string, got number"));
    row("array node weight missing", "upstream", R"({"nodes":[{"host":"a","port":80}]})",
        one("upstreams/1: /nodes/0/weight: required"));
    row("array node weight negative", "upstream", R"({"nodes":[{"host":"a","port":80,"weight":-2}]})",
        one("upstreams/1: /nodes/0/weight: expected integer >= 0, got -2"));
    row("array node priority", "upstream", R"({"nodes":[{"host":"a","port":80,"weight":1,"priority":0.5}]})",
        one("upstreams/1: /nodes/0/priority: expected integer, got 0.5"));
    row("hash_on", "upstream", R"({"nodes":{},"type":"chash","hash_on":"body","key":"a"})",
        one(R"(upstreams/1: /hash_on: expected one of vars, header, cookie, consumer, vars_combinations, got "body")"));
    row("chash header without key", "upstream", R"({"nodes":{},"type":"chash","hash_on":"header"})",
        one("upstreams/1: /key: required when hash_on is header"));
    row("chash cookie without key", "upstream", R"({"nodes":{},"type":"chash","hash_on":"cookie"})",
        one("upstreams/1: /key: required when hash_on is cookie"));
    row("chash combinations without key", "upstream",
        R"({"nodes":{},"type":"chash","hash_on":"vars_combinations"})",
        one("upstreams/1: /key: required when hash_on is vars_combinations"));
    row("chash vars bad key", "upstream", R"({"nodes":{},"type":"chash","hash_on":"vars","key":"user"})",
        one(R"(upstreams/1: /key: expected with hash_on vars one of uri, server_name, server_addr, request_uri, )"
            R"(remote_port, remote_addr, query_string, host, hostname, arg_*, got "user")"));
    row("chash vars bare arg_", "upstream", R"({"nodes":{},"type":"chash","key":"arg_"})",
        one(R"(upstreams/1: /key: expected with hash_on vars one of uri, server_name, server_addr, request_uri, )"
            R"(remote_port, remote_addr, query_string, host, hostname, arg_*, got "arg_")"));
    row("chash header bad key", "upstream", R"({"nodes":{},"type":"chash","hash_on":"header","key":"a b"})",
        one(R"(upstreams/1: /key: expected with hash_on header a name of [a-zA-Z0-9_-], got "a b")"));
    row("chash cookie bad key", "upstream", R"({"nodes":{},"type":"chash","hash_on":"cookie","key":"a;b"})",
        one(R"(upstreams/1: /key: expected with hash_on cookie a name of [a-zA-Z0-9_-], got "a;b")"));
    row("key type", "upstream", R"({"nodes":{},"key":5})",
        one("upstreams/1: /key: expected string, got number"));
    row("timeout zero", "upstream", R"({"nodes":{},"timeout":{"connect":0,"send":1,"read":1}})",
        one("upstreams/1: /timeout/connect: expected number > 0, got 0"));
    row("timeout type", "upstream", R"({"nodes":{},"timeout":{"connect":1,"send":"1","read":1}})",
        one("upstreams/1: /timeout/send: expected number > 0, got string"));
    row("timeout partial", "upstream", R"({"nodes":{},"timeout":{"connect":1,"send":1}})",
        one("upstreams/1: /timeout/read: required"));
    row("timeout not object", "upstream", R"({"nodes":{},"timeout":5})",
        one("upstreams/1: /timeout: expected object, got number"));
    row("retries negative", "upstream", R"({"nodes":{},"retries":-1})",
        one("upstreams/1: /retries: expected integer >= 0, got -1"));
    row("retries fraction", "upstream", R"({"nodes":{},"retries":1.5})",
        one("upstreams/1: /retries: expected integer >= 0, got 1.5"));
    row("retry_timeout negative", "upstream", R"({"nodes":{},"retry_timeout":-1})",
        one("upstreams/1: /retry_timeout: expected number >= 0, got -1"));
    row("retry_non_idempotent not a boolean", "upstream", R"({"nodes":{},"retry_non_idempotent":"yes"})",
        one("upstreams/1: /retry_non_idempotent: expected boolean, got string"));
    row("scheme", "upstream", R"({"nodes":{},"scheme":"ftp"})",
        one(R"(upstreams/1: /scheme: expected one of http, https, grpc, grpcs, got "ftp")"));
    row("pass_host", "upstream", R"({"nodes":{},"pass_host":"keep"})",
        one(R"(upstreams/1: /pass_host: expected one of pass, node, rewrite, got "keep")"));
    row("rewrite without upstream_host", "upstream", R"({"nodes":{},"pass_host":"rewrite"})",
        one("upstreams/1: /upstream_host: required when pass_host is rewrite"));
    row("upstream_host bad", "upstream", R"({"nodes":{},"pass_host":"rewrite","upstream_host":"a b"})",
        one(R"(upstreams/1: /upstream_host: expected a host name or IP address, got "a b")"));
    row("checks type", "upstream", R"({"nodes":{},"checks":[]})",
        one("upstreams/1: /checks: expected object, got array"));
    row("checks passive only", "upstream", R"({"nodes":{},"checks":{"passive":{}}})",
        one("upstreams/1: /checks/active: required"));
    row("active type", "upstream", R"({"nodes":{},"checks":{"active":{"type":"udp"}}})",
        one(R"(upstreams/1: /checks/active/type: expected one of http, https, tcp, got "udp")"));
    row("active timeout", "upstream", R"({"nodes":{},"checks":{"active":{"timeout":0}}})",
        one("upstreams/1: /checks/active/timeout: expected number > 0, got 0"));
    row("active concurrency", "upstream", R"({"nodes":{},"checks":{"active":{"concurrency":0}}})",
        one("upstreams/1: /checks/active/concurrency: expected integer >= 1, got 0"));
    row("active port", "upstream", R"({"nodes":{},"checks":{"active":{"port":0}}})",
        one("upstreams/1: /checks/active/port: expected integer 1-65535, got 0"));
    row("active host", "upstream", R"({"nodes":{},"checks":{"active":{"host":"a b"}}})",
        one(R"(upstreams/1: /checks/active/host: expected a host name or IP address, got "a b")"));
    row("active http_path", "upstream", R"({"nodes":{},"checks":{"active":{"http_path":"status"}}})",
        one(R"(upstreams/1: /checks/active/http_path: expected a path starting with "/", got "status")"));
    row("active healthy interval", "upstream",
        R"({"nodes":{},"checks":{"active":{"healthy":{"interval":0}}}})",
        one("upstreams/1: /checks/active/healthy/interval: expected integer >= 1, got 0"));
    row("active healthy status range", "upstream",
        R"({"nodes":{},"checks":{"active":{"healthy":{"http_statuses":[200,600]}}}})",
        one("upstreams/1: /checks/active/healthy/http_statuses/1: expected integer 200-599, got 600"));
    row("active healthy statuses empty", "upstream",
        R"({"nodes":{},"checks":{"active":{"healthy":{"http_statuses":[]}}}})",
        one("upstreams/1: /checks/active/healthy/http_statuses: expected non-empty array, got []"));
    row("active healthy successes", "upstream",
        R"({"nodes":{},"checks":{"active":{"healthy":{"successes":0}}}})",
        one("upstreams/1: /checks/active/healthy/successes: expected integer 1-254, got 0"));
    row("active unhealthy interval", "upstream",
        R"({"nodes":{},"checks":{"active":{"unhealthy":{"interval":0.5}}}})",
        one("upstreams/1: /checks/active/unhealthy/interval: expected integer >= 1, got 0.5"));
    row("active unhealthy statuses", "upstream",
        R"({"nodes":{},"checks":{"active":{"unhealthy":{"http_statuses":[199]}}}})",
        one("upstreams/1: /checks/active/unhealthy/http_statuses/0: expected integer 200-599, got 199"));
    row("active unhealthy counters", "upstream",
        R"({"nodes":{},"checks":{"active":{"unhealthy":{"http_failures":255,"tcp_failures":0,"timeouts":"3"}}}})",
        QStringList(
            {QStringLiteral(
                 "upstreams/1: /checks/active/unhealthy/http_failures: expected integer 1-254, got 255"),
             QStringLiteral(
                 "upstreams/1: /checks/active/unhealthy/tcp_failures: expected integer 1-254, got 0"),
             QStringLiteral(
                 "upstreams/1: /checks/active/unhealthy/timeouts: expected integer 1-254, got string")}));
    row("active healthy type", "upstream", R"({"nodes":{},"checks":{"active":{"healthy":1}}})",
        one("upstreams/1: /checks/active/healthy: expected object, got number"));
    row("passive type", "upstream", R"({"nodes":{},"checks":{"active":{},"passive":{"type":"udp"}}})",
        one(R"(upstreams/1: /checks/passive/type: expected one of http, https, tcp, got "udp")"));
    row("passive healthy", "upstream",
        R"({"nodes":{},"checks":{"active":{},"passive":{"healthy":{"http_statuses":[1],"successes":255}}}})",
        QStringList(
            {QStringLiteral(
                 "upstreams/1: /checks/passive/healthy/http_statuses/0: expected integer 200-599, got 1"),
             QStringLiteral(
                 "upstreams/1: /checks/passive/healthy/successes: expected integer 1-254, got 255")}));
    row("passive unhealthy", "upstream",
        R"({"nodes":{},"checks":{"active":{},"passive":{"unhealthy":{"http_statuses":"500","http_failures":0,"tcp_failures":0,"timeouts":0}}}})",
        QStringList(
            {QStringLiteral("upstreams/1: /checks/passive/unhealthy/http_statuses: expected non-empty array, "
                            "got string"),
             QStringLiteral(
                 "upstreams/1: /checks/passive/unhealthy/http_failures: expected integer 1-254, got 0"),
             QStringLiteral(
                 "upstreams/1: /checks/passive/unhealthy/tcp_failures: expected integer 1-254, got 0"),
             QStringLiteral(
                 "upstreams/1: /checks/passive/unhealthy/timeouts: expected integer 1-254, got 0")}));
    row("keepalive_pool", "upstream",
        R"({"nodes":{},"keepalive_pool":{"size":0,"idle_timeout":-1,"requests":0}})",
        QStringList(
            {QStringLiteral("upstreams/1: /keepalive_pool/size: expected integer >= 1, got 0"),
             QStringLiteral("upstreams/1: /keepalive_pool/idle_timeout: expected number >= 0, got -1"),
             QStringLiteral("upstreams/1: /keepalive_pool/requests: expected integer >= 1, got 0")}));
    row("keepalive_pool type", "upstream", R"({"nodes":{},"keepalive_pool":true})",
        one("upstreams/1: /keepalive_pool: expected object, got boolean"));
    row("upstream id mismatch integer", "upstream", R"({"id":2,"nodes":{}})",
        one(R"(upstreams/1: /id: expected "1" (the id in the key), got 2)"));
    row("upstream name", "upstream", R"({"name":[],"nodes":{}})",
        one("upstreams/1: /name: expected string, got array"));
    row("upstream every error", "upstream",
        R"({"type":"chash","hash_on":"header","nodes":{"a:0":1,"b:80":-1},"retries":-1})",
        QStringList(
            {QStringLiteral(R"(upstreams/1: /nodes/a:0: expected "host:port" with port 1-65535, got "a:0")"),
             QStringLiteral("upstreams/1: /nodes/b:80: expected integer >= 0, got -1"),
             QStringLiteral("upstreams/1: /key: required when hash_on is header"),
             QStringLiteral("upstreams/1: /retries: expected integer >= 0, got -1")}));

    // services
    row("service not object", "service", "1", one("services/1: expected object, got number"));
    row("service enable_websocket", "service", R"({"upstream_id":1,"enable_websocket":"true"})",
        one("services/1: /enable_websocket: expected boolean, got string"));
    row("service upstream_id", "service", R"({"upstream_id":[]})",
        one("services/1: /upstream_id: expected non-empty string or integer >= 1, got array"));
    row("service inline upstream", "service", R"({"upstream":{"nodes":{"a:0":1}}})",
        one(R"(services/1: /upstream/nodes/a:0: expected "host:port" with port 1-65535, got "a:0")"));
    row("service plugins", "service", R"({"plugins":"limit-count"})",
        one("services/1: /plugins: expected object, got string"));
    row("service id mismatch", "service", R"({"id":"one"})",
        one(R"(services/1: /id: expected "1" (the id in the key), got "one")"));
    row("service labels", "service", R"({"labels":{"env":true}})",
        one("services/1: /labels/env: expected string, got boolean"));
}

void TestConfigValidator::rejects()
{
    QFETCH(QString, kind);
    QFETCH(QByteArray, json);
    QFETCH(QStringList, errors);
    ValidationErrors found;
    QVERIFY(!validate(kind, parse(json), &found));
    QCOMPARE(strings(found), errors);
    // Without an error list the verdict is the same.
    QVERIFY(!validate(kind, parse(json), nullptr));
}

void TestConfigValidator::acceptsValid_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QByteArray>("json");
    const auto row = [](const char *name, const char *kind, const char *json) {
        QTest::newRow(name) << QString::fromLatin1(kind) << QByteArray(json);
    };
    row("minimal route", "route", R"({"uri":"/","upstream_id":"1"})");
    row("prefix route", "route", R"({"uri":"/api/*","service_id":2})");
    row("root prefix", "route", R"({"uri":"/*","upstream":{"nodes":{}}})");
    row("uris", "route", R"({"uris":["/a","/b/*"],"plugins":{}})");
    row("all methods", "route",
        R"({"uri":"/","methods":["GET","POST","PUT","DELETE","PATCH","HEAD","OPTIONS","CONNECT","TRACE","PURGE"],"upstream_id":1})");
    row("wildcard host", "route", R"({"uri":"/","host":"*.example.com","upstream_id":1})");
    row("hosts", "route",
        R"({"uri":"/","hosts":["a.example.com","*.b.example.com","10.0.0.1"],"upstream_id":1})");
    row("status 0", "route", R"({"uri":"/","status":0,"upstream_id":1})");
    row("negative priority", "route", R"({"uri":"/","priority":-5,"upstream_id":1})");
    row("matching integer id", "route", R"({"id":1,"uri":"/","upstream_id":1})");
    row("matching string id", "route", R"({"id":"1","uri":"/","upstream_id":1})");
    row("apisix extras", "route",
        R"({"uri":"/","upstream_id":1,"vars":[["arg_a","==","1"]],"remote_addrs":["127.0.0.1"],"enable_websocket":true,"create_time":1})");
    row("empty nodes", "upstream", R"({"type":"roundrobin","nodes":{}})");
    row("empty node array", "upstream", R"({"nodes":[]})");
    row("weight zero", "upstream", R"({"nodes":{"a:80":0}})");
    row("least_conn", "upstream", R"({"type":"least_conn","nodes":{"a:80":1}})");
    row("header hash only checked for chash", "upstream",
        R"({"type":"roundrobin","hash_on":"header","nodes":{}})");
    row("chash consumer without key", "upstream", R"({"type":"chash","hash_on":"consumer","nodes":{}})");
    row("timeouts fractional", "upstream", R"({"nodes":{},"timeout":{"connect":0.5,"send":2,"read":3.25}})");
    row("retries zero", "upstream", R"({"nodes":{},"retries":0,"retry_timeout":0})");
    row("grpc scheme", "upstream", R"({"nodes":{},"scheme":"grpc"})");
    row("pass_host node", "upstream", R"({"nodes":{},"pass_host":"node"})");
    row("checks active only", "upstream", R"({"nodes":{},"checks":{"active":{}}})");
    row("upstream extras", "upstream",
        R"({"nodes":{},"tls":{"client_cert":"x"},"desc":"d","labels":{"a":"b"}})");
    row("empty service", "service", R"({})");
    row("service with both", "service", R"({"upstream":{"nodes":{}},"upstream_id":3,"plugins":{"a":{}}})");
}

void TestConfigValidator::acceptsValid()
{
    QFETCH(QString, kind);
    QFETCH(QByteArray, json);
    ValidationErrors errors;
    const bool ok = validate(kind, parse(json), &errors);
    QCOMPARE(strings(errors), QStringList());
    QVERIFY(ok);
}

void TestConfigValidator::exactMessagesFromTheDesign()
{
    ValidationErrors errors;
    QVERIFY(
        !ConfigValidator::parseRoute(QStringLiteral("12"), parse(R"({"uri":42,"upstream_id":1})"), &errors));
    QCOMPARE(strings(errors), QStringList{QStringLiteral("routes/12: /uri: expected string, got number")});
    QCOMPARE(errors.at(0).key, QStringLiteral("routes/12"));
    QCOMPARE(errors.at(0).pointer, QStringLiteral("/uri"));
    QCOMPARE(errors.at(0).message, QStringLiteral("expected string, got number"));

    errors.clear();
    QVERIFY(!ConfigValidator::parseUpstream(
        QStringLiteral("3"), parse(R"({"nodes":[{"host":"127.0.0.1","port":0,"weight":1}]})"), &errors));
    QCOMPARE(strings(errors),
             QStringList{QStringLiteral("upstreams/3: /nodes/0/port: expected integer 1-65535, got 0")});

    // toString leaves out what is empty.
    QCOMPARE((ValidationError{QString(), QString(), QStringLiteral("m")}.toString()), QStringLiteral("m"));
    QCOMPARE((ValidationError{QStringLiteral("k"), QString(), QStringLiteral("m")}.toString()),
             QStringLiteral("k: m"));
    QCOMPARE((ValidationError{QString(), QStringLiteral("/p"), QStringLiteral("m")}.toString()),
             QStringLiteral("/p: m"));
}

void TestConfigValidator::errorsAreAppended()
{
    ValidationErrors errors{ValidationError{QStringLiteral("earlier"), QString(), QStringLiteral("kept")}};
    QVERIFY(!ConfigValidator::parseRoute(QStringLiteral("1"), parse(R"({"uri":1,"uris":[2]})"), &errors));
    QCOMPARE(errors.size(), 5);
    QCOMPARE(errors.at(0).key, QStringLiteral("earlier"));
    QCOMPARE(errors.at(1).toString(), QStringLiteral("routes/1: /uri: expected string, got number"));
    QCOMPARE(errors.at(2).toString(), QStringLiteral("routes/1: /uris/0: expected string, got number"));
    QCOMPARE(errors.at(3).toString(), QStringLiteral(R"(routes/1: expected "uri" or "uris", got both)"));
    QCOMPARE(errors.at(4).toString(),
             QStringLiteral(
                 R"(routes/1: expected "upstream", "upstream_id", "service_id" or "plugins", got none)"));
}

void TestConfigValidator::routeFields()
{
    ValidationErrors errors;
    const RoutePtr r = ConfigValidator::parseRoute(
        QStringLiteral("7"),
        parse(
            R"({"uris":["/a","/b/*"],"methods":["GET","POST","GET"],"hosts":["Example.COM","*.Wild.Example.com"],
                 "priority":10,"status":0,"name":"r7","upstream_id":12,"service_id":"s1",
                 "plugins":{"limit-count":{"count":1}},"upstream":{"nodes":{"127.0.0.1:8080":1}}})"),
        &errors);
    QVERIFY2(r, qPrintable(strings(errors).join(QLatin1Char('\n'))));
    QCOMPARE(r->id, QStringLiteral("7"));
    QCOMPARE(r->name, QStringLiteral("r7"));
    QCOMPARE(r->uris, (QVector<QByteArray>{"/a", "/b/*"}));
    QCOMPARE(r->methods, (QVector<QByteArray>{"GET", "POST"}));
    QCOMPARE(r->hosts, (QVector<QByteArray>{"example.com", "*.wild.example.com"}));
    QCOMPARE(r->priority, 10);
    QCOMPARE(r->enabled, false);
    QCOMPARE(r->upstreamId, QStringLiteral("12"));
    QCOMPARE(r->serviceId, QStringLiteral("s1"));
    QVERIFY(r->plugins.contains(QStringLiteral("limit-count")));
    QVERIFY(r->upstream);
    QVERIFY(r->upstream->id.isEmpty());
    QCOMPARE(r->upstream->nodes.size(), 1);
    QCOMPARE(r->upstream->nodes.at(0).port, quint16(8080));

    const RoutePtr single = ConfigValidator::parseRoute(
        QStringLiteral("8"), parse(R"({"uri":"/x","host":"API.example.com","upstream_id":1})"), &errors);
    QVERIFY(single);
    QCOMPARE(single->uris, QVector<QByteArray>{"/x"});
    QCOMPARE(single->hosts, QVector<QByteArray>{"api.example.com"});
    QVERIFY(single->methods.isEmpty());
    QCOMPARE(single->enabled, true);
    QCOMPARE(single->priority, 0);
}

void TestConfigValidator::routeKeepsUnknownFields()
{
    const QJsonValue value = parse(
        R"({"uri":"/","upstream_id":1,"vars":[["arg_a","==","1"]],"remote_addrs":["127.0.0.1"],"x-custom":{"a":1}})");
    ValidationErrors errors;
    const RoutePtr r = ConfigValidator::parseRoute(QStringLiteral("1"), value, &errors);
    QVERIFY(r);
    QCOMPARE(writtenJson(*r), value.toObject());
    QVERIFY(writtenJson(*r).contains(QStringLiteral("x-custom")));
    QVERIFY(writtenJson(*r).contains(QStringLiteral("vars")));
}

void TestConfigValidator::routeWithPluginsOnly()
{
    ValidationErrors errors;
    const RoutePtr r = ConfigValidator::parseRoute(QStringLiteral("1"),
                                                   parse(R"({"uri":"/","plugins":{"echo":{}}})"), &errors);
    QVERIFY(r);
    QVERIFY(!r->upstream);
    QVERIFY(r->upstreamId.isEmpty());
    QVERIFY(r->serviceId.isEmpty());
}

void TestConfigValidator::routeIdFromObjectWhenKeyless()
{
    ValidationErrors errors;
    const RoutePtr r =
        ConfigValidator::parseRoute(QString(), parse(R"({"id":34,"uri":"/","upstream_id":1})"), &errors);
    QVERIFY(r);
    QCOMPARE(r->id, QStringLiteral("34"));

    QVERIFY(!ConfigValidator::parseRoute(QString(), parse(R"({"uri":"/","upstream_id":1})"), &errors));
    QCOMPARE(strings(errors), QStringList{QStringLiteral("routes: /id: required")});
}

void TestConfigValidator::idForms_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("id");
    QTest::newRow("string") << QByteArray(R"("abc")") << true << QStringLiteral("abc");
    QTest::newRow("numeric string") << QByteArray(R"("12")") << true << QStringLiteral("12");
    QTest::newRow("integer") << QByteArray("12") << true << QStringLiteral("12");
    QTest::newRow("integral double") << QByteArray("12.0") << true << QStringLiteral("12");
    QTest::newRow("large integer") << QByteArray("9007199254740992") << true
                                   << QStringLiteral("9007199254740992");
    QTest::newRow("fraction") << QByteArray("12.5") << false << QString();
    QTest::newRow("zero") << QByteArray("0") << false << QString();
    QTest::newRow("negative") << QByteArray("-1") << false << QString();
    QTest::newRow("empty string") << QByteArray(R"("")") << false << QString();
    QTest::newRow("boolean") << QByteArray("true") << false << QString();
    QTest::newRow("null") << QByteArray("null") << false << QString();
    QTest::newRow("object") << QByteArray("{}") << false << QString();
}

void TestConfigValidator::idForms()
{
    QFETCH(QByteArray, json);
    QFETCH(bool, ok);
    QFETCH(QString, id);
    QString found;
    QCOMPARE(ConfigValidator::idFromJson(parse(json), &found), ok);
    if (ok)
        QCOMPARE(found, id);
}

void TestConfigValidator::nodesObjectForm()
{
    const UpstreamPtr u = upstream(
        R"({"nodes":{"127.0.0.1:8080":2,"[::1]:8081":1,"example.com":3,"[::1]":1,"fe80::1":4,"b.example.com:65535":0}})");
    QVERIFY(u);
    QCOMPARE(u->nodes.size(), 6);
    QMap<QByteArray, UpstreamNode> byHost;
    QSet<quint16> ports;
    for (const UpstreamNode &node : u->nodes) {
        byHost.insert(node.host + ' ' + QByteArray::number(node.port), node);
        ports.insert(node.port);
    }
    QCOMPARE(byHost.value("127.0.0.1 8080").weight, 2);
    QVERIFY(byHost.contains("::1 8081"));
    QCOMPARE(byHost.value("example.com 80").weight, 3);
    QVERIFY(byHost.contains("::1 80"));
    QCOMPARE(byHost.value("fe80::1 80").weight, 4);
    QCOMPARE(byHost.value("b.example.com 65535").weight, 0);
    QVERIFY(byHost.contains("b.example.com 65535"));
}

void TestConfigValidator::nodesArrayForm()
{
    const UpstreamPtr u = upstream(
        R"({"nodes":[{"host":"10.0.0.1","port":9000,"weight":5,"priority":-1,"metadata":{"zone":"a"}},
                     {"host":"[::1]","port":9001,"weight":0},{"host":"::2","weight":1},{"host":"h","port":1,"weight":1}]})");
    QVERIFY(u);
    QCOMPARE(u->nodes.size(), 4);
    QCOMPARE(u->nodes.at(0).host, QByteArray("10.0.0.1"));
    QCOMPARE(u->nodes.at(0).port, quint16(9000));
    QCOMPARE(u->nodes.at(0).weight, 5);
    QCOMPARE(u->nodes.at(0).priority, -1);
    QCOMPARE(u->nodes.at(1).host, QByteArray("::1"));
    QCOMPARE(u->nodes.at(1).weight, 0);
    QCOMPARE(u->nodes.at(2).host, QByteArray("::2"));
    QCOMPARE(u->nodes.at(2).port, quint16(80));
    QCOMPARE(u->nodes.at(2).priority, 0);
    QCOMPARE(u->nodes.at(3).port, quint16(1));
}

void TestConfigValidator::defaultPortFollowsScheme()
{
    const UpstreamPtr https = upstream(R"({"scheme":"https","nodes":{"a":1,"b:8443":1}})");
    QVERIFY(https);
    QCOMPARE(https->scheme, QByteArray("https"));
    QCOMPARE(https->nodes.at(0).port, quint16(443));
    QCOMPARE(https->nodes.at(1).port, quint16(8443));
    const UpstreamPtr http = upstream(R"({"nodes":[{"host":"a","weight":1}]})");
    QVERIFY(http);
    QCOMPARE(http->nodes.at(0).port, quint16(80));
}

void TestConfigValidator::upstreamFields()
{
    const UpstreamPtr u = upstream(
        R"({"id":"u","name":"backend","type":"chash","hash_on":"header","key":"X-User","nodes":{"a:80":1},
            "timeout":{"connect":0.5,"send":2,"read":30},"retries":3,"retry_timeout":1.5,"scheme":"http",
            "retry_non_idempotent":true,"pass_host":"rewrite","upstream_host":"internal.example.com",
            "keepalive_pool":{"size":16,"idle_timeout":5,"requests":100},"x-unknown":[1]})");
    QVERIFY(u);
    QCOMPARE(u->id, QStringLiteral("u"));
    QCOMPARE(u->name, QStringLiteral("backend"));
    QCOMPARE(u->type, Upstream::Type::ConsistentHash);
    QCOMPARE(u->hashOn, Upstream::HashOn::Header);
    QCOMPARE(u->key, QByteArray("X-User"));
    QCOMPARE(u->timeout.connect, 0.5);
    QCOMPARE(u->timeout.send, 2.0);
    QCOMPARE(u->timeout.read, 30.0);
    QCOMPARE(u->retries, 3);
    QCOMPARE(u->retryTimeout, 1.5);
    QCOMPARE(u->retryNonIdempotent, true);
    QCOMPARE(u->passHost, Upstream::PassHost::Rewrite);
    QCOMPARE(u->upstreamHost, QByteArray("internal.example.com"));
    QCOMPARE(u->keepalive.size, 16);
    QCOMPARE(u->keepalive.idleTimeout, 5.0);
    QCOMPARE(u->keepalive.requests, 100);
    QVERIFY(u->json.contains(QStringLiteral("x-unknown")));

    const UpstreamPtr ewma = upstream(R"({"type":"ewma","nodes":{}})");
    QVERIFY(ewma);
    QCOMPARE(ewma->type, Upstream::Type::LeastConn);
    const UpstreamPtr leastConn = upstream(R"({"type":"least_conn","nodes":{}})");
    QCOMPARE(leastConn->type, Upstream::Type::LeastConn);
    const UpstreamPtr node = upstream(R"({"pass_host":"node","nodes":{}})");
    QCOMPARE(node->passHost, Upstream::PassHost::Node);
}

void TestConfigValidator::upstreamDefaults()
{
    const UpstreamPtr u = upstream(R"({"nodes":{}})");
    QVERIFY(u);
    QCOMPARE(u->type, Upstream::Type::RoundRobin);
    QCOMPARE(u->hashOn, Upstream::HashOn::Vars);
    QCOMPARE(u->key, QByteArray("remote_addr"));
    QCOMPARE(u->timeout.connect, 60.0);
    QCOMPARE(u->retries, -1);
    QCOMPARE(u->retryTimeout, 0.0);
    QCOMPARE(u->scheme, QByteArray("http"));
    QCOMPARE(u->passHost, Upstream::PassHost::Pass);
    QVERIFY(!u->active.enabled);
    QVERIFY(!u->passive.enabled);
    QCOMPARE(u->keepalive.size, 320);
}

void TestConfigValidator::hashKeys()
{
    QCOMPARE(upstream(R"({"type":"chash","nodes":{}})")->key, QByteArray("remote_addr"));
    QCOMPARE(upstream(R"({"type":"chash","key":"arg_user-id","nodes":{}})")->key, QByteArray("arg_user-id"));
    QCOMPARE(upstream(R"({"type":"chash","key":"request_uri","nodes":{}})")->key, QByteArray("request_uri"));
    const UpstreamPtr cookie =
        upstream(R"({"type":"chash","hash_on":"cookie","key":"session_id","nodes":{}})");
    QCOMPARE(cookie->hashOn, Upstream::HashOn::Cookie);
    QCOMPARE(cookie->key, QByteArray("session_id"));
    const UpstreamPtr combo =
        upstream(R"({"type":"chash","hash_on":"vars_combinations","key":"$host$uri","nodes":{}})");
    QCOMPARE(combo->hashOn, Upstream::HashOn::VarsCombinations);
    QCOMPARE(combo->key, QByteArray("$host$uri"));
    QCOMPARE(upstream(R"({"type":"chash","hash_on":"consumer","nodes":{}})")->hashOn,
             Upstream::HashOn::Consumer);
}

void TestConfigValidator::healthChecks()
{
    const UpstreamPtr u = upstream(
        R"({"nodes":{},"checks":{
              "active":{"type":"https","timeout":2.5,"http_path":"/health","host":"probe.example.com","port":8081,
                        "concurrency":4,
                        "healthy":{"interval":3,"http_statuses":[200,204],"successes":4},
                        "unhealthy":{"interval":5,"http_statuses":[500],"http_failures":6,"tcp_failures":7,"timeouts":8}},
              "passive":{"healthy":{"http_statuses":[201],"successes":9},
                         "unhealthy":{"http_statuses":[502,503],"http_failures":10,"tcp_failures":11,"timeouts":12}}}})");
    QVERIFY(u);
    QVERIFY(u->active.enabled);
    QCOMPARE(u->active.type, QByteArray("https"));
    QCOMPARE(u->active.timeout, 2.5);
    QCOMPARE(u->active.httpPath, QByteArray("/health"));
    QCOMPARE(u->active.host, QByteArray("probe.example.com"));
    QCOMPARE(u->active.port, quint16(8081));
    QCOMPARE(u->active.healthyInterval, 3.0);
    QCOMPARE(u->active.healthyStatuses, (QVector<int>{200, 204}));
    QCOMPARE(u->active.healthySuccesses, 4);
    QCOMPARE(u->active.unhealthyInterval, 5.0);
    QCOMPARE(u->active.unhealthyStatuses, QVector<int>{500});
    QCOMPARE(u->active.httpFailures, 6);
    QCOMPARE(u->active.tcpFailures, 7);
    QCOMPARE(u->active.timeouts, 8);
    QVERIFY(u->passive.enabled);
    QCOMPARE(u->passive.healthyStatuses, QVector<int>{201});
    QCOMPARE(u->passive.healthySuccesses, 9);
    QCOMPARE(u->passive.unhealthyStatuses, (QVector<int>{502, 503}));
    QCOMPARE(u->passive.httpFailures, 10);
    QCOMPARE(u->passive.tcpFailures, 11);
    QCOMPARE(u->passive.timeouts, 12);

    const UpstreamPtr defaults = upstream(R"({"nodes":{},"checks":{"active":{}}})");
    QVERIFY(defaults->active.enabled);
    QVERIFY(!defaults->passive.enabled);
    QCOMPARE(defaults->active.type, QByteArray("http"));
    QCOMPARE(defaults->active.httpPath, QByteArray("/"));
    QCOMPARE(defaults->active.healthyStatuses, (QVector<int>{200, 302}));
}

void TestConfigValidator::service()
{
    ValidationErrors errors;
    const ServicePtr s = ConfigValidator::parseService(
        QStringLiteral("5"), parse(R"({"id":5,"name":"svc","upstream":{"nodes":{"a:81":1}},"upstream_id":"u2",
                                      "plugins":{"cors":{}},"extra":true})"),
        &errors);
    QVERIFY2(s, qPrintable(strings(errors).join(QLatin1Char('\n'))));
    QCOMPARE(s->id, QStringLiteral("5"));
    QCOMPARE(s->name, QStringLiteral("svc"));
    QVERIFY(s->upstream);
    QCOMPARE(s->upstream->nodes.at(0).port, quint16(81));
    QCOMPARE(s->upstreamId, QStringLiteral("u2"));
    QVERIFY(s->plugins.contains(QStringLiteral("cors")));
    QVERIFY(s->json.contains(QStringLiteral("extra")));
}

QTEST_GUILESS_MAIN(TestConfigValidator)
#include "tst_configvalidator.moc"
