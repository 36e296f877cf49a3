// Property test: a snapshot derived change by change, and the router updated with it, always equal a
// snapshot and a router built from scratch from the same objects.
#include "canonicaljson.h"
#include "configsnapshot.h"
#include "configvalidator.h"
#include "proxyserver.h"
#include "router.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTest>

namespace {

struct Request
{
    QByteArray method;
    QByteArray host;
    QByteArray path;
};

// Requests that hit every kind of key the generator below writes (and some that hit nothing).
QList<Request> fixedRequests()
{
    const QByteArray methods[] = {"GET", "POST", "DELETE", "PURGE", "FOO"};
    const QByteArray hosts[] = {"a.example.com", "A.EXAMPLE.COM", "x.b.example.com", "b.example.com",
                                "example.com",   "x.org",         "other.net",       ""};
    const QByteArray paths[] = {"/",    "/a", "/a/b",   "/a/b/c", "/api/v1", "/api/v1/users",
                                "/api", "/c", "/c?x=1", "/zzz",   "/a/bc"};
    QList<Request> out;
    int i = 0;
    for (const QByteArray &host : hosts) {
        for (const QByteArray &path : paths)
            out.append({methods[i++ % 5], host, path});
    }
    return out;
}

class Generator
{
public:
    explicit Generator(quint32 seed)
        : m_random(seed)
    {}

    int below(int n) { return int(m_random.bounded(n)); }
    bool chance(int percent) { return below(100) < percent; }
    template<typename T, std::size_t N>
    const T &pick(const T (&items)[N])
    {
        return items[below(int(N))];
    }

    QJsonObject upstream()
    {
        QJsonObject nodes{{QStringLiteral("127.0.0.1:%1").arg(1000 + below(5)), 1 + below(3)}};
        QJsonObject u{{QStringLiteral("type"), QStringLiteral("roundrobin")},
                      {QStringLiteral("nodes"), nodes}};
        if (chance(20))
            u.insert(QStringLiteral("retries"), below(3));
        return u;
    }

    QJsonObject service()
    {
        QJsonObject s;
        if (chance(30))
            s.insert(QStringLiteral("upstream"), upstream());
        else
            s.insert(QStringLiteral("upstream_id"), QStringLiteral("u%1").arg(below(UpstreamIds)));
        return s;
    }

    QJsonObject route()
    {
        static const char *const uris[] = {"/",       "/*",     "/a",        "/a/b", "/a/*",  "/a/b*",
                                           "/api/v1", "/api/*", "/api/v1/*", "/c",   "/a/b/c"};
        static const char *const hosts[] = {
            "a.example.com", "A.Example.com", "*.example.com", "*.b.example.com",
            "b.example.com", "x.org",         "*.org"};
        static const char *const methods[] = {"GET", "POST", "DELETE", "PURGE", "PUT"};
        QJsonObject r;
        if (chance(70)) {
            r.insert(QStringLiteral("uri"), QLatin1String(pick(uris)));
        } else {
            QJsonArray list;
            for (int n = 1 + below(3); n > 0; --n)
                list.append(QLatin1String(pick(uris)));
            r.insert(QStringLiteral("uris"), list);
        }
        if (chance(40)) {
            QJsonArray list;
            for (int n = 1 + below(2); n > 0; --n)
                list.append(QLatin1String(pick(hosts)));
            r.insert(QStringLiteral("hosts"), list);
        } else if (chance(10)) {
            r.insert(QStringLiteral("host"), QLatin1String(pick(hosts)));
        }
        if (chance(30)) {
            QJsonArray list;
            for (int n = 1 + below(2); n > 0; --n)
                list.append(QLatin1String(pick(methods)));
            r.insert(QStringLiteral("methods"), list);
        }
        if (chance(40))
            r.insert(QStringLiteral("priority"), below(4) - 1);
        if (chance(10))
            r.insert(QStringLiteral("status"), 0);
        const int target = below(10);
        if (target < 5)
            r.insert(QStringLiteral("upstream_id"), QStringLiteral("u%1").arg(below(UpstreamIds)));
        else if (target < 8)
            r.insert(QStringLiteral("service_id"), QStringLiteral("s%1").arg(below(ServiceIds)));
        else
            r.insert(QStringLiteral("upstream"), upstream());
        return r;
    }

    static constexpr int RouteIds = 40;
    static constexpr int UpstreamIds = 6;
    static constexpr int ServiceIds = 4;

private:
    QRandomGenerator m_random;
};

// The objects as the control plane holds them, and the same set as validated objects.
struct World
{
    int routeIds = Generator::RouteIds; // more ids: several chunks in each persistent map
    QJsonObject routes, upstreams, services;
    ConfigSnapshot::Routes routeObjects;
    ConfigSnapshot::Upstreams upstreamObjects;
    ConfigSnapshot::Services serviceObjects;

    QJsonObject config() const
    {
        return {{QStringLiteral("routes"), routes},
                {QStringLiteral("upstreams"), upstreams},
                {QStringLiteral("services"), services}};
    }
};

// One random put or delete, applied to the world; the id is recorded in `changes`.
void mutate(Generator &g, World *w, ConfigSnapshot::Changes *changes)
{
    ValidationErrors errors;
    const int kind = g.below(10);
    const bool remove = g.chance(25);
    if (kind < 7) {
        const QString id = QStringLiteral("r%1").arg(g.below(w->routeIds));
        changes->routes.insert(id);
        if (remove) {
            w->routes.remove(id);
            w->routeObjects.remove(id);
            return;
        }
        const QJsonObject value = g.route();
        w->routes.insert(id, value);
        w->routeObjects.insert(id, ConfigValidator::parseRoute(id, value, &errors));
    } else if (kind < 9) {
        const QString id = QStringLiteral("u%1").arg(g.below(Generator::UpstreamIds));
        changes->upstreams.insert(id);
        if (remove) {
            w->upstreams.remove(id);
            w->upstreamObjects.remove(id);
            return;
        }
        const QJsonObject value = g.upstream();
        w->upstreams.insert(id, value);
        w->upstreamObjects.insert(id, ConfigValidator::parseUpstream(id, value, &errors));
    } else {
        const QString id = QStringLiteral("s%1").arg(g.below(Generator::ServiceIds));
        changes->services.insert(id);
        if (remove) {
            w->services.remove(id);
            w->serviceObjects.remove(id);
            return;
        }
        const QJsonObject value = g.service();
        w->services.insert(id, value);
        w->serviceObjects.insert(id, ConfigValidator::parseService(id, value, &errors));
    }
    QVERIFY2(errors.isEmpty(), errors.isEmpty() ? "" : qPrintable(errors.first().toString()));
}

// A map's entries by identity: what a generation that is still served must keep, whatever its
// successors change.
template<typename Map>
QList<QPair<QString, const void *>> entries(const Map &map)
{
    QList<QPair<QString, const void *>> out;
    for (auto it = map.cbegin(); it != map.cend(); ++it)
        out.append({it.key(), it.value().get()});
    return out;
}

QString describe(const RouteTarget *t)
{
    if (!t)
        return QStringLiteral("no match");
    return QStringLiteral("routes/%1 -> %2").arg(t->route->id, t->upstreamKey);
}

} // namespace

class TestIncrementalRouter : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase() { QLoggingCategory::setFilterRules(QStringLiteral("holdfast.routing.debug=false")); }
    void equalsFullRebuild_data();
    void equalsFullRebuild();
    void proxyUpdatesAndSelfChecks();
};

void TestIncrementalRouter::equalsFullRebuild_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<int>("routeIds");
    QTest::newRow("radixtree_host_uri") << int(RouterKind::HostUri) << 1201u << int(Generator::RouteIds);
    QTest::newRow("radixtree_uri") << int(RouterKind::Uri) << 1202u << int(Generator::RouteIds);
    QTest::newRow("radixtree_host_uri, another seed")
        << int(RouterKind::HostUri) << 77u << int(Generator::RouteIds);
    QTest::newRow("radixtree_host_uri, routes over several map chunks")
        << int(RouterKind::HostUri) << 78u << 300;
}

void TestIncrementalRouter::equalsFullRebuild()
{
    QFETCH(int, kind);
    QFETCH(quint32, seed);
    QFETCH(int, routeIds);
    const RouterKind routerKind = RouterKind(kind);
    Generator g(seed);
    World world;
    world.routeIds = routeIds;
    const QList<Request> requests = fixedRequests();

    SnapshotPtr snapshot = ConfigSnapshot::fromObjects({}, {}, {});
    RouterPtr router = Router::build(*snapshot, routerKind);
    int matched = 0;
    for (int step = 0; step < 2500; ++step) {
        // Changes that arrive together (one watch batch) become one generation.
        ConfigSnapshot::Changes changes;
        const auto routesBefore = entries(snapshot->routes());
        const auto upstreamsBefore = entries(snapshot->upstreams());
        const auto servicesBefore = entries(snapshot->services());
        for (int n = g.chance(80) ? 1 : 2 + g.below(6); n > 0; --n)
            mutate(g, &world, &changes);
        if (QTest::currentTestFailed())
            return;
        const SnapshotPtr next = ConfigSnapshot::derive(snapshot, world.routeObjects, world.upstreamObjects,
                                                        world.serviceObjects, changes);
        QCOMPARE(next->base(), snapshot);
        // The maps share chunks with the generation before, which changing the world must not touch.
        QCOMPARE(entries(snapshot->routes()), routesBefore);
        QCOMPARE(entries(snapshot->upstreams()), upstreamsBefore);
        QCOMPARE(entries(snapshot->services()), servicesBefore);
        const RouterPtr updated = Router::update(*router, *snapshot, *next, changes);

        // From scratch: the objects' JSON parsed again, and a router built from that snapshot.
        ValidationErrors errors;
        const SnapshotPtr scratch = ConfigSnapshot::fromJson(world.config(), &errors);
        QVERIFY(scratch);
        QCOMPARE(next->routes().keys(), scratch->routes().keys());
        QCOMPARE(next->upstreams().keys(), scratch->upstreams().keys());
        QCOMPARE(next->services().keys(), scratch->services().keys());
        QCOMPARE(next->sha256(), scratch->sha256());
        // The digest streams each object's own canonical text: it must be the canonical form of the
        // whole configuration as one document.
        if (step % 10 == 0)
            QCOMPARE(next->canonicalJson(), CanonicalJson::serialize(scratch->json()));
        const RouterPtr rebuilt = Router::build(*next, routerKind);
        QCOMPARE(updated->routeCount(), rebuilt->routeCount());
        QVERIFY2(updated->digest() == rebuilt->digest(), qPrintable(QStringLiteral("step %1").arg(step)));
        for (const Request &r : requests) {
            const RouteTarget *a = updated->match(r.method, r.host, r.path);
            const RouteTarget *b = rebuilt->match(r.method, r.host, r.path);
            if (a && b && a->route == b->route && a->upstream == b->upstream &&
                a->upstreamKey == b->upstreamKey) {
                ++matched;
                continue;
            }
            QVERIFY2(!a && !b, qPrintable(QStringLiteral("step %1: %2 %3%4: updated %5, rebuilt %6")
                                              .arg(step)
                                              .arg(QLatin1String(r.method), QLatin1String(r.host),
                                                   QLatin1String(r.path), describe(a), describe(b))));
        }
        // The previous generation must be untouched by the update: workers may still read it.
        const QByteArray before = router->digest();
        QCOMPARE(Router::build(*snapshot, routerKind)->digest(), before);
        snapshot = next;
        router = updated;
    }
    // The generator must produce matches, or the comparison above proves little.
    QVERIFY2(matched > 10000, qPrintable(QString::number(matched)));
}

void TestIncrementalRouter::proxyUpdatesAndSelfChecks()
{
    ProxySettings settings;
    settings.listen = {ProxySettings::Listen{QHostAddress::LocalHost, 0}};
    settings.workers = 1;
    settings.routerSelfCheckMs = 0; // checked by hand below
    ProxyServer proxy(settings);
    QString error;
    QVERIFY2(proxy.start(&error), qPrintable(error));

    Generator g(5);
    World world;
    ConfigSnapshot::Changes changes;
    for (int i = 0; i < 30; ++i)
        mutate(g, &world, &changes);
    SnapshotPtr snapshot =
        ConfigSnapshot::fromObjects(world.routeObjects, world.upstreamObjects, world.serviceObjects);
    proxy.publish(snapshot);
    QCOMPARE(proxy.routerFigures().rebuilds, 1u);
    for (int i = 0; i < 20; ++i) {
        changes = {};
        mutate(g, &world, &changes);
        snapshot = ConfigSnapshot::derive(snapshot, world.routeObjects, world.upstreamObjects,
                                          world.serviceObjects, changes);
        proxy.publish(snapshot);
    }
    QCOMPARE(proxy.routerFigures().updates, 20u);
    QCOMPARE(proxy.routerFigures().rebuilds, 1u);
    QCOMPARE(proxy.currentSnapshot()->router()->digest(),
             Router::build(*snapshot, settings.routerKind)->digest());

    QSignalSpy checked(&proxy, &ProxyServer::routerChecked);
    proxy.checkRouter();
    QTRY_COMPARE_WITH_TIMEOUT(checked.size(), 1, 10000);
    QCOMPARE(checked.at(0).at(0).toBool(), true);
    QCOMPARE(proxy.routerFigures().selfChecks, 1u);
    QCOMPARE(proxy.routerFigures().selfCheckFailures, 0u);

    // A snapshot not derived from the one served (a full sync) is built from scratch.
    proxy.publish(
        ConfigSnapshot::fromObjects(world.routeObjects, world.upstreamObjects, world.serviceObjects));
    QCOMPARE(proxy.routerFigures().rebuilds, 2u);
}

QTEST_GUILESS_MAIN(TestIncrementalRouter)
#include "tst_incrementalrouter.moc"
