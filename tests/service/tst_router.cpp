// Router: APISIX's matching order (radixtree_host_uri and radixtree_uri), upstream resolution, no allocation.
#include "prefixindex.h"
#include "router.h"
#include "testconfig.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

Q_DECLARE_METATYPE(RouterKind)

// Counting malloc in this executable (glibc lets the program replace it) shows whether match() allocates:
// Qt containers allocate through malloc, not operator new. Not with a sanitizer, which owns malloc.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HOLDFAST_NO_MALLOC_COUNT
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__)
#define HOLDFAST_NO_MALLOC_COUNT
#endif

#ifndef HOLDFAST_NO_MALLOC_COUNT
extern "C" {
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);
}
namespace {
thread_local bool t_counting = false;
thread_local long t_allocations = 0;
} // namespace
extern "C" {
void *malloc(size_t size)
{
    if (t_counting)
        ++t_allocations;
    return __libc_malloc(size);
}
void *calloc(size_t count, size_t size)
{
    if (t_counting)
        ++t_allocations;
    return __libc_calloc(count, size);
}
void *realloc(void *ptr, size_t size)
{
    if (t_counting)
        ++t_allocations;
    return __libc_realloc(ptr, size);
}
void free(void *ptr)
{
    __libc_free(ptr);
}
}
#endif

namespace {

// A config object from JSON; routes that name no upstream get upstream_id "u", which always exists.
SnapshotPtr snapshotFrom(const QByteArray &json)
{
    QJsonParseError parseError;
    QJsonObject config = QJsonDocument::fromJson(json, &parseError).object();
    if (parseError.error != QJsonParseError::NoError) {
        qWarning() << "test JSON:" << parseError.errorString() << json;
        return nullptr;
    }
    QJsonObject upstreams = config.value(QStringLiteral("upstreams")).toObject();
    upstreams.insert(QStringLiteral("u"), QJsonObject{{QStringLiteral("id"), QStringLiteral("u")},
                                                      {QStringLiteral("type"), QStringLiteral("roundrobin")},
                                                      {QStringLiteral("nodes"),
                                                       QJsonObject{{QStringLiteral("127.0.0.1:1980"), 1}}}});
    config.insert(QStringLiteral("upstreams"), upstreams);
    QJsonObject routes = config.value(QStringLiteral("routes")).toObject();
    for (auto it = routes.begin(); it != routes.end(); ++it) {
        QJsonObject route = it.value().toObject();
        route.insert(QStringLiteral("id"), it.key());
        if (!route.contains(QStringLiteral("upstream")) && !route.contains(QStringLiteral("upstream_id")) &&
            !route.contains(QStringLiteral("service_id")))
            route.insert(QStringLiteral("upstream_id"), QStringLiteral("u"));
        it.value() = route;
    }
    config.insert(QStringLiteral("routes"), routes);

    return TestSupport::snapshotOf(config);
}

RouterPtr compile(const QByteArray &json, RouterKind kind)
{
    const SnapshotPtr snapshot = snapshotFrom(json);
    return snapshot ? Router::build(*snapshot, kind) : nullptr;
}

QString idOf(const RouteTarget *target)
{
    return target ? target->route->id : QStringLiteral("<none>");
}

QString kindName(RouterKind kind)
{
    return kind == RouterKind::HostUri ? QStringLiteral("radixtree_host_uri")
                                       : QStringLiteral("radixtree_uri");
}

} // namespace

class TestRouter : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QLoggingCategory::setFilterRules(QStringLiteral("holdfast.routing.debug=false")); }
    void bothKinds_data();
    void exactBeforePrefix_data() { bothKinds_data(); }
    void exactBeforePrefix();
    void longestPrefixFirst_data() { bothKinds_data(); }
    void longestPrefixFirst();
    void priorityThenId_data() { bothKinds_data(); }
    void priorityThenId();
    void catchAll_data() { bothKinds_data(); }
    void catchAll();
    void urisList_data() { bothKinds_data(); }
    void urisList();
    void methods_data() { bothKinds_data(); }
    void methods();
    void hostExactAndCase_data() { bothKinds_data(); }
    void hostExactAndCase();
    void hostWildcard_data() { bothKinds_data(); }
    void hostWildcard();
    void hostsList_data() { bothKinds_data(); }
    void hostsList();
    void hostRoutePriority_data() { bothKinds_data(); }
    void hostRoutePriority();
    void hostRoutesFirstOnlyWithHostUri();
    void hostUriExactHostBeforeWildcard();
    void hostUriFallsBackToHostless();
    void disabledRoutesLeftOut_data() { bothKinds_data(); }
    void disabledRoutesLeftOut();
    void noMatchIsNull_data() { bothKinds_data(); }
    void noMatchIsNull();
    void queryIgnored_data() { bothKinds_data(); }
    void queryIgnored();
    void upstreamResolutionAndKey();
    void kindFromName();
    void agreesWithReference_data();
    void agreesWithReference();
    void concurrentMatches();
    void matchDoesNotAllocate_data() { bothKinds_data(); }
    void matchDoesNotAllocate();
    void prefixIndexFilterNeverHidesAKey();
};

void TestRouter::bothKinds_data()
{
    QTest::addColumn<RouterKind>("kind");
    QTest::newRow("radixtree_host_uri") << RouterKind::HostUri;
    QTest::newRow("radixtree_uri") << RouterKind::Uri;
}

void TestRouter::exactBeforePrefix()
{
    QFETCH(RouterKind, kind);
    // The prefix route has the higher priority and the lower id: only the exact-first rule picks "2".
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/api/*", "priority": 100},
        "2": {"uri": "/api/users"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "example.com", "/api/users")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "example.com", "/api/users/7")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "example.com", "/api/other")), QStringLiteral("1"));
}

void TestRouter::longestPrefixFirst()
{
    QFETCH(RouterKind, kind);
    // As APISIX's doc/router-radixtree.md: the deepest prefix wins whatever the priorities say.
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/blog/foo/*", "priority": 10},
        "2": {"uri": "/blog/foo/a/*"},
        "3": {"uri": "/blog/foo/c/*"},
        "4": {"uri": "/blog/foo/bar"},
        "5": {"uri": "/blog/bar*"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/blog/foo/bar")), QStringLiteral("4"));
    QCOMPARE(idOf(router->match("GET", "h", "/blog/foo/a/b/c")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "h", "/blog/foo/c/d")), QStringLiteral("3"));
    QCOMPARE(idOf(router->match("GET", "h", "/blog/foo/gloo")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/blog/foo/a")),
             QStringLiteral("1")); // "/blog/foo/a/" is the prefix
    // A prefix is a byte prefix, not a path segment, and includes the bare prefix itself.
    QCOMPARE(idOf(router->match("GET", "h", "/blog/bar")), QStringLiteral("5"));
    QCOMPARE(idOf(router->match("GET", "h", "/blog/barn/x")), QStringLiteral("5"));
    QCOMPARE(idOf(router->match("GET", "h", "/blog/ba")), QStringLiteral("<none>"));
}

void TestRouter::priorityThenId()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/p", "priority": 1},
        "2": {"uri": "/p", "priority": 5},
        "3": {"uri": "/p", "priority": -3},
        "4": {"uri": "/q/*"},
        "5": {"uri": "/q/*", "priority": 2},
        "a": {"uri": "/t"},
        "b": {"uri": "/t"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/p")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "h", "/q/x")), QStringLiteral("5"));
    QCOMPARE(idOf(router->match("GET", "h", "/t")), QStringLiteral("a"));
}

void TestRouter::catchAll()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/*"},
        "2": {"uri": "/"},
        "3": {"uri": "/x/*"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "h", "/anything")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("DELETE", "h", "/deep/er/path.html")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/x/y")), QStringLiteral("3"));
    QCOMPARE(idOf(router->match("GET", "h", "/x")), QStringLiteral("1"));
}

void TestRouter::urisList()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uris": ["/a", "/b/*", "/c/d"]},
        "2": {"uri": "/b/e"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/a")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/b/x/y")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/c/d")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/b/e")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "h", "/c")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "h", "/a/")), QStringLiteral("<none>"));
    QCOMPARE(router->routeCount(), 2);
}

void TestRouter::methods()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/m", "methods": ["GET"]},
        "2": {"uri": "/m", "methods": ["POST", "PUT"]},
        "3": {"uri": "/any"},
        "4": {"uri": "/f", "methods": ["POST"], "priority": 10},
        "5": {"uri": "/f"},
        "6": {"uri": "/all", "methods": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                                         "CONNECT", "TRACE", "PURGE"]}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/m")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("PUT", "h", "/m")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("POST", "h", "/m")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("DELETE", "h", "/m")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("get", "h", "/m")), QStringLiteral("<none>")); // methods are case-sensitive
    QCOMPARE(idOf(router->match("DELETE", "h", "/any")), QStringLiteral("3"));
    QCOMPARE(idOf(router->match("PROPFIND", "h", "/any")), QStringLiteral("3"));
    // A route refused by its methods lets the next one in line have the request.
    QCOMPARE(idOf(router->match("POST", "h", "/f")), QStringLiteral("4"));
    QCOMPARE(idOf(router->match("GET", "h", "/f")), QStringLiteral("5"));
    for (const char *method :
         {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"})
        QCOMPARE(idOf(router->match(method, "h", "/all")), QStringLiteral("6"));
    QCOMPARE(idOf(router->match("PROPFIND", "h", "/all")), QStringLiteral("<none>"));
}

void TestRouter::hostExactAndCase()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/h", "host": "example.com"},
        "2": {"uri": "/k", "host": "API.Example.COM"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "example.com", "/h")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "EXAMPLE.com", "/h")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "other.com", "/h")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "sub.example.com", "/h")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "example.com.evil", "/h")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "", "/h")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "api.example.com", "/k")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "Api.Example.Com", "/k")), QStringLiteral("2"));
}

void TestRouter::hostWildcard()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/w", "host": "*.example.com"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "a.example.com", "/w")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "a.b.example.com", "/w")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "A.Example.COM", "/w")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "example.com", "/w")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "badexample.com", "/w")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "a.example.org", "/w")), QStringLiteral("<none>"));
}

void TestRouter::hostsList()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/l", "hosts": ["a.com", "*.b.com"]}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "a.com", "/l")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "x.b.com", "/l")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "b.com", "/l")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "x.a.com", "/l")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "c.com", "/l")), QStringLiteral("<none>"));
}

void TestRouter::hostRoutePriority()
{
    QFETCH(RouterKind, kind);
    // APISIX t/router/radixtree-host-uri-priority.t: the same host and uri, the higher priority wins
    // whichever comes first, and an unset priority is 0.
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/server_port", "host": "test.com", "priority": 1},
        "2": {"uri": "/server_port", "host": "test.com", "priority": 2},
        "3": {"uri": "/other", "host": "test.com", "priority": 1},
        "4": {"uri": "/other", "host": "test.com"},
        "5": {"uri": "/third", "host": "test.com"},
        "6": {"uri": "/third", "host": "test.com", "priority": 1}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "test.com", "/server_port")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "test.com", "/other")), QStringLiteral("3"));
    QCOMPARE(idOf(router->match("GET", "test.com", "/third")), QStringLiteral("6"));
}

void TestRouter::hostRoutesFirstOnlyWithHostUri()
{
    // A host-less exact uri with a high priority, against a host route with a catch-all prefix.
    const QByteArray json = R"({"routes": {
        "1": {"uri": "/foo", "priority": 10},
        "2": {"uri": "/*", "host": "example.com"}}})";
    const RouterPtr hostUri = compile(json, RouterKind::HostUri);
    const RouterPtr uri = compile(json, RouterKind::Uri);
    QVERIFY(hostUri && uri);
    QCOMPARE(hostUri->kind(), RouterKind::HostUri);
    QCOMPARE(uri->kind(), RouterKind::Uri);

    QCOMPARE(idOf(hostUri->match("GET", "example.com", "/foo")), QStringLiteral("2"));
    QCOMPARE(idOf(uri->match("GET", "example.com", "/foo")), QStringLiteral("1"));
    QCOMPARE(idOf(hostUri->match("GET", "example.com", "/bar")), QStringLiteral("2"));
    QCOMPARE(idOf(uri->match("GET", "example.com", "/bar")), QStringLiteral("2"));
    for (const RouterPtr &router : {hostUri, uri}) {
        QCOMPARE(idOf(router->match("GET", "other.com", "/foo")), QStringLiteral("1"));
        QCOMPARE(idOf(router->match("GET", "other.com", "/bar")), QStringLiteral("<none>"));
    }
}

void TestRouter::hostUriExactHostBeforeWildcard()
{
    // As APISIX's reversed-host tree: the exact host, then wildcards from the longest suffix down, each
    // with all of its uris before the next host is tried.
    const QByteArray json = R"({"routes": {
        "1": {"uri": "/w", "host": "*.example.com"},
        "2": {"uri": "/*", "host": "api.example.com"},
        "3": {"uri": "/v", "host": "*.example.com"},
        "4": {"uri": "/v*", "host": "*.api.example.com"}}})";
    const RouterPtr hostUri = compile(json, RouterKind::HostUri);
    const RouterPtr uri = compile(json, RouterKind::Uri);
    QVERIFY(hostUri && uri);
    QCOMPARE(idOf(hostUri->match("GET", "api.example.com", "/w")), QStringLiteral("2"));
    QCOMPARE(idOf(uri->match("GET", "api.example.com", "/w")), QStringLiteral("1"));
    QCOMPARE(idOf(hostUri->match("GET", "www.example.com", "/w")), QStringLiteral("1"));
    QCOMPARE(idOf(hostUri->match("GET", "x.api.example.com", "/v")), QStringLiteral("4"));
    QCOMPARE(idOf(uri->match("GET", "x.api.example.com", "/v")), QStringLiteral("3"));
    QCOMPARE(idOf(hostUri->match("GET", "x.api.example.com", "/w")), QStringLiteral("1"));
}

void TestRouter::hostUriFallsBackToHostless()
{
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/x", "host": "example.com", "methods": ["POST"]},
        "2": {"uri": "/x"},
        "3": {"uri": "/y", "host": "example.com"}}})",
                                     RouterKind::HostUri);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("POST", "example.com", "/x")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "example.com", "/x")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "example.com", "/z")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "other.com", "/y")), QStringLiteral("<none>"));
}

void TestRouter::disabledRoutesLeftOut()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/s", "priority": 10, "status": 0},
        "2": {"uri": "/s", "status": 1},
        "3": {"uri": "/off", "status": 0},
        "4": {"uri": "/h", "host": "example.com", "status": 0}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/s")), QStringLiteral("2"));
    QCOMPARE(idOf(router->match("GET", "h", "/off")), QStringLiteral("<none>"));
    QCOMPARE(idOf(router->match("GET", "example.com", "/h")), QStringLiteral("<none>"));
    QCOMPARE(router->routeCount(), 1);
}

void TestRouter::noMatchIsNull()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {"1": {"uri": "/only"}}})", kind);
    QVERIFY(router);
    QVERIFY(!router->match("GET", "h", "/other"));
    QVERIFY(!router->match("GET", "h", "/onl"));
    QVERIFY(!router->match("GET", "h", "/only/"));
    QVERIFY(!router->match("GET", "h", ""));

    const RouterPtr empty = Router::build(*ConfigSnapshot::empty(), kind);
    QVERIFY(empty);
    QCOMPARE(empty->routeCount(), 0);
    QVERIFY(!empty->match("GET", "h", "/"));
    QVERIFY(!empty->match("GET", "", ""));
}

void TestRouter::queryIgnored()
{
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/search"},
        "2": {"uri": "/files/*"}}})",
                                     kind);
    QVERIFY(router);
    QCOMPARE(idOf(router->match("GET", "h", "/search?q=a")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/search?")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/search")), QStringLiteral("1"));
    QCOMPARE(idOf(router->match("GET", "h", "/x?next=/files/a")), QStringLiteral("<none>"));
}

void TestRouter::upstreamResolutionAndKey()
{
    const RouterPtr router = compile(R"({
        "upstreams": {
            "u9": {"id": "u9", "nodes": {"127.0.0.1:9009": 1}},
            "u2": {"id": "u2", "nodes": {"127.0.0.1:9002": 1}}},
        "services": {
            "s1": {"id": "s1", "upstream_id": "u9"},
            "s2": {"id": "s2", "upstream": {"nodes": {"127.0.0.1:9022": 1}}}},
        "routes": {
            "1": {"uri": "/by-id", "upstream_id": "u2"},
            "2": {"uri": "/inline", "upstream": {"nodes": {"127.0.0.1:9033": 1}}},
            "3": {"uri": "/service-id", "service_id": "s1"},
            "4": {"uri": "/service-inline", "service_id": "s2"},
            "5": {"uri": "/own-over-service", "service_id": "s1", "upstream_id": "u2"},
            "6": {"uri": "/missing", "upstream_id": "nope"}}})",
                                     RouterKind::HostUri);
    QVERIFY(router);

    const RouteTarget *byId = router->match("GET", "h", "/by-id");
    QVERIFY(byId && byId->upstream);
    QCOMPARE(byId->upstream->id, QStringLiteral("u2"));
    QCOMPARE(byId->upstreamKey, QStringLiteral("upstreams/u2"));

    const RouteTarget *inlined = router->match("GET", "h", "/inline");
    QVERIFY(inlined && inlined->upstream);
    QCOMPARE(inlined->upstream->nodes.value(0).port, quint16(9033));
    QCOMPARE(inlined->upstreamKey, QStringLiteral("routes/2"));

    const RouteTarget *serviceId = router->match("GET", "h", "/service-id");
    QVERIFY(serviceId && serviceId->upstream);
    QCOMPARE(serviceId->upstream->id, QStringLiteral("u9"));
    QCOMPARE(serviceId->upstream->nodes.value(0).port, quint16(9009));
    QCOMPARE(serviceId->upstreamKey, QStringLiteral("upstreams/u9"));

    const RouteTarget *serviceInline = router->match("GET", "h", "/service-inline");
    QVERIFY(serviceInline && serviceInline->upstream);
    QCOMPARE(serviceInline->upstream->nodes.value(0).port, quint16(9022));
    QCOMPARE(serviceInline->upstreamKey, QStringLiteral("services/s2"));

    const RouteTarget *own = router->match("GET", "h", "/own-over-service");
    QVERIFY(own && own->upstream);
    QCOMPARE(own->upstream->id, QStringLiteral("u2"));
    QCOMPARE(own->upstreamKey, QStringLiteral("upstreams/u2"));

    // Still matched (APISIX answers 503 for it rather than trying another route).
    const RouteTarget *missing = router->match("GET", "h", "/missing");
    QVERIFY(missing);
    QCOMPARE(missing->route->id, QStringLiteral("6"));
    QVERIFY(!missing->upstream);
    QVERIFY(missing->upstreamKey.isEmpty());
}

void TestRouter::kindFromName()
{
    RouterKind kind = RouterKind::Uri;
    QVERIFY(Router::kindFromName(u"radixtree_host_uri", &kind));
    QCOMPARE(kind, RouterKind::HostUri);
    QVERIFY(Router::kindFromName(u"radixtree_uri", &kind));
    QCOMPARE(kind, RouterKind::Uri);
    QVERIFY(!Router::kindFromName(u"radixtree_uri_with_parameter", &kind));
    QVERIFY(!Router::kindFromName(u"", &kind));
    QCOMPARE(kind, RouterKind::Uri);
}

namespace {

// The rules written out as a linear scan, to hold the compiled trees against.
struct RefRoute
{
    QString id;
    QVector<QByteArray> uris, methods, hosts;
    int priority = 0;
    bool enabled = true;
};

bool refHostMatches(const QByteArray &pattern, const QByteArray &host)
{
    return pattern.startsWith('*') ? host.endsWith(pattern.mid(1)) : host == pattern;
}

QString refMatch(const std::vector<RefRoute> &all, RouterKind kind, const QByteArray &method,
                 const QByteArray &requestHost, const QByteArray &path)
{
    const QByteArray host = requestHost.toLower();
    auto inOrder = [](std::vector<const RefRoute *> routes) {
        std::stable_sort(routes.begin(), routes.end(), [](const RefRoute *a, const RefRoute *b) {
            return a->priority != b->priority ? a->priority > b->priority : a->id < b->id;
        });
        return routes;
    };
    auto accepts = [&](const RefRoute &r, bool filterHost) {
        if (!r.methods.isEmpty() && !r.methods.contains(method))
            return false;
        if (filterHost && !r.hosts.isEmpty() &&
            std::none_of(r.hosts.cbegin(), r.hosts.cend(),
                         [&](const QByteArray &p) { return refHostMatches(p.toLower(), host); }))
            return false;
        return true;
    };
    auto matchGroup = [&](const std::vector<const RefRoute *> &group, bool filterHost) -> QString {
        std::vector<const RefRoute *> exact;
        for (const RefRoute *r : group) {
            if (r->uris.contains(path))
                exact.push_back(r);
        }
        for (const RefRoute *r : inOrder(exact)) {
            if (accepts(*r, filterHost))
                return r->id;
        }
        for (qsizetype len = path.size(); len >= 0; --len) {
            const QByteArray prefix = path.left(len) + '*';
            std::vector<const RefRoute *> atLength;
            for (const RefRoute *r : group) {
                if (r->uris.contains(prefix))
                    atLength.push_back(r);
            }
            for (const RefRoute *r : inOrder(atLength)) {
                if (accepts(*r, filterHost))
                    return r->id;
            }
        }
        return {};
    };

    std::vector<const RefRoute *> enabled;
    for (const RefRoute &r : all) {
        if (r.enabled)
            enabled.push_back(&r);
    }
    if (kind == RouterKind::Uri) {
        const QString id = matchGroup(enabled, true);
        return id.isEmpty() ? QStringLiteral("<none>") : id;
    }

    // Host groups: the exact host, then matching wildcards from the longest suffix down.
    QVector<QByteArray> patterns;
    for (const RefRoute *r : enabled) {
        for (const QByteArray &p : r->hosts) {
            if (!patterns.contains(p.toLower()) && refHostMatches(p.toLower(), host))
                patterns.append(p.toLower());
        }
    }
    std::sort(patterns.begin(), patterns.end(), [](const QByteArray &a, const QByteArray &b) {
        const bool aw = a.startsWith('*'), bw = b.startsWith('*');
        return aw != bw ? !aw : a.size() > b.size();
    });
    for (const QByteArray &p : patterns) {
        std::vector<const RefRoute *> group;
        for (const RefRoute *r : enabled) {
            if (std::any_of(r->hosts.cbegin(), r->hosts.cend(),
                            [&](const QByteArray &h) { return h.toLower() == p; }))
                group.push_back(r);
        }
        const QString id = matchGroup(group, false);
        if (!id.isEmpty())
            return id;
    }
    std::vector<const RefRoute *> hostless;
    for (const RefRoute *r : enabled) {
        if (r->hosts.isEmpty())
            hostless.push_back(r);
    }
    const QString id = matchGroup(hostless, false);
    return id.isEmpty() ? QStringLiteral("<none>") : id;
}

QByteArray randomPath(QRandomGenerator &rng, int maxDepth)
{
    static const char *const segments[] = {"a", "b", "ab", "abc", "c", ""};
    QByteArray path;
    const int depth = int(rng.bounded(maxDepth + 1));
    for (int i = 0; i < depth; ++i)
        path += '/' + QByteArray(segments[rng.bounded(6)]);
    return path.isEmpty() ? QByteArray("/") : path;
}

} // namespace

void TestRouter::agreesWithReference_data()
{
    QTest::addColumn<RouterKind>("kind");
    QTest::addColumn<quint32>("seed");
    for (quint32 seed : {1u, 2u, 3u}) {
        QTest::addRow("radixtree_host_uri/%u", seed) << RouterKind::HostUri << seed;
        QTest::addRow("radixtree_uri/%u", seed) << RouterKind::Uri << seed;
    }
}

void TestRouter::agreesWithReference()
{
    QFETCH(RouterKind, kind);
    QFETCH(quint32, seed);
    QRandomGenerator rng(seed);
    static const char *const hostChoices[] = {"a.com", "B.a.com", "x.b.a.com",
                                              "c.com", "*.a.com", "*.b.a.com"};
    static const char *const requestHosts[] = {"a.com",   "b.a.com", "X.B.A.com", "c.com",
                                               "y.a.com", "z.com",   ""};
    static const char *const methodChoices[] = {"GET", "POST", "PUT"};

    std::vector<RefRoute> refs;
    QJsonObject routes;
    for (int i = 0; i < 400; ++i) {
        RefRoute r;
        r.id = QStringLiteral("r%1").arg(rng.bounded(100000));
        if (std::any_of(refs.cbegin(), refs.cend(), [&](const RefRoute &o) { return o.id == r.id; }))
            continue;
        const int uriCount = 1 + int(rng.bounded(2));
        for (int u = 0; u < uriCount; ++u) {
            QByteArray uri = randomPath(rng, 3);
            switch (rng.bounded(3)) {
            case 0:
                uri += '*';
                break;
            case 1:
                uri += "/*";
                break;
            default:
                break;
            }
            if (!r.uris.contains(uri))
                r.uris.append(uri);
        }
        if (rng.bounded(3) == 0)
            r.methods.append(methodChoices[rng.bounded(3)]);
        if (rng.bounded(8) == 0)
            r.methods.append("DELETE");
        const int hostCount = rng.bounded(3) == 0 ? 1 + int(rng.bounded(2)) : 0;
        for (int h = 0; h < hostCount; ++h) {
            const QByteArray host = hostChoices[rng.bounded(6)];
            if (!r.hosts.contains(host))
                r.hosts.append(host);
        }
        r.priority = int(rng.bounded(3));
        r.enabled = rng.bounded(10) != 0;

        QJsonObject route;
        QJsonArray uris, methods, hosts;
        for (const QByteArray &u : r.uris)
            uris.append(QString::fromLatin1(u));
        for (const QByteArray &m : r.methods)
            methods.append(QString::fromLatin1(m));
        for (const QByteArray &h : r.hosts)
            hosts.append(QString::fromLatin1(h));
        route.insert(QStringLiteral("uris"), uris);
        if (!methods.isEmpty())
            route.insert(QStringLiteral("methods"), methods);
        if (!hosts.isEmpty())
            route.insert(QStringLiteral("hosts"), hosts);
        route.insert(QStringLiteral("priority"), r.priority);
        route.insert(QStringLiteral("status"), r.enabled ? 1 : 0);
        routes.insert(r.id, route);
        refs.push_back(r);
    }

    const RouterPtr router =
        compile(QJsonDocument(QJsonObject{{QStringLiteral("routes"), routes}}).toJson(), kind);
    QVERIFY(router);
    int matched = 0;
    for (int i = 0; i < 4000; ++i) {
        const QByteArray path = randomPath(rng, 4);
        const QByteArray host = requestHosts[rng.bounded(7)];
        const QByteArray method =
            rng.bounded(4) ? QByteArray("GET") : QByteArray(methodChoices[rng.bounded(3)]);
        const QString expected = refMatch(refs, kind, method, host, path);
        const QString actual = idOf(router->match(method, host, path));
        if (actual != expected)
            qWarning() << kindName(kind) << method << host << path;
        QCOMPARE(actual, expected);
        matched += expected != QStringLiteral("<none>");
    }
    QVERIFY2(matched > 1000, "the generated requests should mostly match something");
}

void TestRouter::concurrentMatches()
{
    QJsonObject routes;
    for (int i = 0; i < 2000; ++i) {
        routes.insert(QStringLiteral("e%1").arg(i),
                      QJsonObject{{QStringLiteral("uri"), QStringLiteral("/svc/%1/item").arg(i)}});
        routes.insert(QStringLiteral("p%1").arg(i),
                      QJsonObject{{QStringLiteral("uri"), QStringLiteral("/svc/%1/*").arg(i)},
                                  {QStringLiteral("host"), QStringLiteral("*.h%1.test").arg(i % 50)}});
    }
    const RouterPtr router =
        compile(QJsonDocument(QJsonObject{{QStringLiteral("routes"), routes}}).toJson(), RouterKind::HostUri);
    QVERIFY(router);

    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&router, &wrong, t] {
            for (int n = 0; n < 20000; ++n) {
                const int i = (n * 7 + t) % 2000;
                const QByteArray exact = "/svc/" + QByteArray::number(i) + "/item";
                const QByteArray deep = "/svc/" + QByteArray::number(i) + "/other";
                const QByteArray host = "a.h" + QByteArray::number(i % 50) + ".test";
                const RouteTarget *e = router->match("GET", "x.test", exact);
                const RouteTarget *p = router->match("GET", host, deep);
                if (!e || e->route->id != QStringLiteral("e%1").arg(i) || !p ||
                    p->route->id != QStringLiteral("p%1").arg(i))
                    ++wrong;
            }
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    QCOMPARE(wrong.load(), 0);
}

void TestRouter::matchDoesNotAllocate()
{
#ifdef HOLDFAST_NO_MALLOC_COUNT
    QSKIP("malloc cannot be counted in this build");
#else
    QFETCH(RouterKind, kind);
    const RouterPtr router = compile(R"({"routes": {
        "1": {"uri": "/api/users"},
        "2": {"uri": "/api/*", "methods": ["GET", "POST"]},
        "3": {"uri": "/h/*", "hosts": ["Example.com", "*.example.org"]},
        "4": {"uri": "/m", "methods": ["PURGE"]}}})",
                                     kind);
    QVERIFY(router);
    const QByteArray requests[][3] = {
        {"GET", "gw.local", "/api/users"},
        {"POST", "gw.local", "/api/orders/1"},
        {"GET", "EXAMPLE.COM", "/h/x?y=1"},
        {"GET", "a.b.example.org", "/h/"},
        {"GET", "gw.local", "/nothing/here"},
        {"PROPFIND", "gw.local", "/m"},
        {"GET", "", ""},
    };
    long allocations = 0;
    int found = 0;
    t_allocations = 0;
    t_counting = true;
    for (const auto &request : requests)
        found += router->match(request[0], request[1], request[2]) != nullptr;
    t_counting = false;
    allocations = t_allocations;
    QCOMPARE(found, 4);
    QCOMPARE(allocations, 0L);

    // The counter does see an allocation, so the zero above means something.
    t_allocations = 0;
    t_counting = true;
    QByteArray grown(4096, 'x');
    t_counting = false;
    QVERIFY(t_allocations > 0);
    Q_UNUSED(grown);
#endif
}

// PrefixIndex skips the hash of a key whose length or last byte no exact key has. Removals leave their
// bits until half the keys are gone: after any mix of additions and removals every key present is found,
// and no key absent is.
void TestRouter::prefixIndexFilterNeverHidesAKey()
{
    PrefixIndex<int> index;
    QMap<QByteArray, int> model;
    QList<QByteArray> probes;
    QRandomGenerator random(801);
    for (int round = 0; round < 40; ++round) {
        for (int n = 0; n < 25; ++n) {
            // Lengths from 1 to 90 (past the 64 bits the lengths fold into) and any last byte.
            QByteArray key(1 + int(random.bounded(90)), 'x');
            key[key.size() - 1] = char(random.bounded(256));
            key[0] = char('a' + random.bounded(26));
            probes.append(key);
            index.slot(key, false) = round * 100 + n;
            model.insert(key, round * 100 + n);
        }
        // Remove most of what is there on some rounds, a few keys on others.
        const int removals = round % 4 == 3 ? int(model.size()) * 3 / 4 : 5;
        for (int n = 0; n < removals && !model.isEmpty(); ++n) {
            const QByteArray key = model.keys().at(int(random.bounded(int(model.size()))));
            index.remove(key, false);
            model.remove(key);
        }
        for (const QByteArray &probe : std::as_const(probes)) {
            int found = -1;
            index.visit(probe, [&found](int value) {
                found = value;
                return true;
            });
            QCOMPARE(found, model.value(probe, -1));
        }
    }
}

QTEST_GUILESS_MAIN(TestRouter)
#include "tst_router.moc"
