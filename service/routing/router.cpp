#include "router.h"

#include "prefixindex.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QSet>
#include <QVarLengthArray>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <vector>

Q_LOGGING_CATEGORY(lcRouting, "holdfast.routing")

namespace {

// The methods APISIX's schema allows: bit i of a route's methods stands for MethodNames[i]. Any other
// method is MethodOther, and compared by name.
constexpr QByteArrayView MethodNames[] = {"GET",  "POST",    "PUT",     "DELETE", "PATCH",
                                          "HEAD", "OPTIONS", "CONNECT", "TRACE",  "PURGE"};
constexpr quint32 MethodOther = 1u << 31;

quint32 methodBit(QByteArrayView m)
{
    for (std::size_t i = 0; i < std::size(MethodNames); ++i) {
        const QByteArrayView name = MethodNames[i];
        if (m.size() == name.size() && std::memcmp(m.data(), name.data(), std::size_t(m.size())) == 0)
            return 1u << i;
    }
    return MethodOther;
}

// "*.example.com" -> (".example.com", wildcard); lower case.
std::pair<QByteArray, bool> splitHost(const QByteArray &host)
{
    const QByteArray lower = host.toLower();
    if (lower.startsWith('*'))
        return {lower.mid(1), true};
    return {lower, false};
}

QByteArray reversed(QByteArray bytes)
{
    std::reverse(bytes.begin(), bytes.end());
    return bytes;
}

// One route under one uri key.
struct Slot
{
    std::shared_ptr<const RouteTarget> target;
    quint32 methods = 0; // 0: any method
    int priority = 0;
    // radixtree_uri only (host_uri has filtered by host already): lower case, wildcard suffix or exact.
    std::vector<std::pair<QByteArray, bool>> hosts;
};

// The routes of one uri key, in match order: a higher priority first, then ascending id.
using Bucket = std::vector<Slot>;
// Buckets and tables are shared between router generations; one is changed in place only while
// nothing else holds it (use_count() == 1 once the shard holding it is detached), else copied first.
using BucketPtr = std::shared_ptr<Bucket>;
using Table = PrefixIndex<BucketPtr>;
using TablePtr = std::shared_ptr<Table>;

bool before(const Slot &a, const Slot &b)
{
    if (a.priority != b.priority)
        return a.priority > b.priority;
    return a.target->route->id < b.target->route->id;
}

bool hostMatches(const std::pair<QByteArray, bool> &pattern, QByteArrayView host)
{
    const auto &[text, wildcard] = pattern;
    return wildcard ? host.endsWith(text) : host == QByteArrayView(text);
}

bool compiled(const RoutePtr &route)
{
    return route && route->enabled && !route->uris.isEmpty();
}

// Where a route is compiled in: a uri key, in the host-less table or in the table of one host.
struct Placement
{
    bool hosted = false;
    QByteArray host; // reversed: a wildcard's suffix is then a prefix
    bool wildcard = false;
    QByteArray key; // the uri up to its first '*'
    bool prefix = false;
};

std::vector<Placement> placementsOf(const Route &route, RouterKind kind)
{
    std::vector<std::pair<QByteArray, bool>> keys;
    for (const QByteArray &uri : route.uris) {
        const qsizetype star = uri.indexOf('*');
        std::pair<QByteArray, bool> key = star < 0 ? std::pair(uri, false) : std::pair(uri.left(star), true);
        if (std::find(keys.cbegin(), keys.cend(), key) == keys.cend())
            keys.push_back(std::move(key));
    }
    std::vector<Placement> out;
    if (kind == RouterKind::Uri || route.hosts.isEmpty()) {
        for (const auto &[key, prefix] : keys)
            out.push_back({false, {}, false, key, prefix});
        return out;
    }
    std::vector<QByteArray> seen;
    for (const QByteArray &host : route.hosts) {
        const QByteArray lower = host.toLower();
        if (std::find(seen.cbegin(), seen.cend(), lower) != seen.cend())
            continue;
        seen.push_back(lower);
        const auto [text, wildcard] = splitHost(lower);
        for (const auto &[key, prefix] : keys)
            out.push_back({true, reversed(text), wildcard, key, prefix});
    }
    return out;
}

QString upstreamKeyFor(const ConfigSnapshot &snapshot, const Route &route, const UpstreamPtr &upstream)
{
    if (!upstream)
        return {};
    const ServicePtr service =
        route.serviceId.isEmpty() ? ServicePtr() : snapshot.services().value(route.serviceId);
    if (route.upstream && upstream == route.upstream)
        return QStringLiteral("routes/") + route.id;
    if (service && service->upstream && upstream == service->upstream)
        return QStringLiteral("services/") + service->id;
    if (!upstream->id.isEmpty())
        return QStringLiteral("upstreams/") + upstream->id;
    // An inline upstream handed back as a copy rather than the same object.
    if (!route.upstream && service && service->upstream)
        return QStringLiteral("services/") + service->id;
    return QStringLiteral("routes/") + route.id;
}

} // namespace

struct Router::Data
{
    RouterKind kind = RouterKind::HostUri;
    Table uris;                  // Uri: every route; HostUri: the routes without a host
    PrefixIndex<TablePtr> hosts; // HostUri: reversed host, exact or wildcard suffix -> its uri table
    int routeCount = 0;
    // One "upstreams/<id>" (or "services/<id>") string for all the routes that send there: 100k routes
    // usually share a few thousand upstreams, and each key held apart cost ~66 bytes a route.
    QHash<QString, QString> upstreamKeys;

    void add(const RoutePtr &route, const ConfigSnapshot &snapshot);
    void remove(const Route &route);
    const RouteTarget *matchIn(const Table &table, QByteArrayView method, quint32 methodBits,
                               QByteArrayView host, QByteArrayView path) const;
};

void Router::Data::add(const RoutePtr &route, const ConfigSnapshot &snapshot)
{
    Slot slot;
    const UpstreamPtr upstream = snapshot.upstreamFor(*route);
    // APISIX: the route's own enable_websocket when it has one (false included), else its service's.
    // The validator has checked that either is a boolean.
    bool websocket = route->websocket.value_or(false);
    if (!route->websocket && !route->serviceId.isEmpty()) {
        if (const ServicePtr service = snapshot.services().value(route->serviceId))
            websocket = service->json.value(QLatin1String("enable_websocket")).toBool();
    }
    QString upstreamKey = upstreamKeyFor(snapshot, *route, upstream);
    if (!upstreamKey.startsWith(QLatin1String("routes/"))) { // a route's inline upstream is its own
        const auto known = upstreamKeys.constFind(upstreamKey);
        if (known != upstreamKeys.constEnd())
            upstreamKey = known.value();
        else
            upstreamKeys.insert(upstreamKey, upstreamKey);
    }
    slot.target = std::make_shared<const RouteTarget>(RouteTarget{route, upstream, upstreamKey, websocket});
    for (const QByteArray &method : route->methods)
        slot.methods |= methodBit(method);
    slot.priority = route->priority;
    if (kind == RouterKind::Uri) {
        for (const QByteArray &host : route->hosts)
            slot.hosts.push_back(splitHost(host));
    }
    for (const Placement &p : placementsOf(*route, kind)) {
        Table *table = &uris;
        if (p.hosted) {
            TablePtr &hosted = hosts.slot(p.host, p.wildcard);
            if (!hosted)
                hosted = std::make_shared<Table>();
            else if (hosted.use_count() > 1)
                hosted = std::make_shared<Table>(*hosted);
            table = hosted.get();
        }
        BucketPtr &bucket = table->slot(p.key, p.prefix);
        if (!bucket)
            bucket = std::make_shared<Bucket>();
        else if (bucket.use_count() > 1)
            bucket = std::make_shared<Bucket>(*bucket);
        bucket->insert(std::upper_bound(bucket->begin(), bucket->end(), slot, before), slot);
    }
    ++routeCount;
}

void Router::Data::remove(const Route &route)
{
    for (const Placement &p : placementsOf(route, kind)) {
        Table *table = &uris;
        TablePtr *hosted = nullptr;
        if (p.hosted) {
            if (!hosts.find(p.host, p.wildcard))
                continue;
            hosted = &hosts.slot(p.host, p.wildcard);
            if (hosted->use_count() > 1)
                *hosted = std::make_shared<Table>(**hosted);
            table = hosted->get();
        }
        if (table->find(p.key, p.prefix)) {
            BucketPtr &bucket = table->slot(p.key, p.prefix);
            if (bucket.use_count() > 1)
                bucket = std::make_shared<Bucket>(*bucket);
            bucket->erase(
                std::remove_if(bucket->begin(), bucket->end(),
                               [&](const Slot &slot) { return slot.target->route->id == route.id; }),
                bucket->end());
            if (bucket->empty())
                table->remove(p.key, p.prefix);
        }
        if (hosted && table->isEmpty())
            hosts.remove(p.host, p.wildcard);
    }
    --routeCount;
}

const RouteTarget *Router::Data::matchIn(const Table &table, QByteArrayView method, quint32 methodBits,
                                         QByteArrayView host, QByteArrayView path) const
{
    const RouteTarget *found = nullptr;
    table.visit(path, [&](const BucketPtr &bucket) {
        for (const Slot &slot : *bucket) {
            if (slot.methods && !(slot.methods & methodBits))
                continue;
            if (methodBits == MethodOther && slot.methods) {
                const QVector<QByteArray> &names = slot.target->route->methods;
                if (std::none_of(names.cbegin(), names.cend(),
                                 [method](const QByteArray &name) { return QByteArrayView(name) == method; }))
                    continue;
            }
            if (!slot.hosts.empty() &&
                std::none_of(slot.hosts.cbegin(), slot.hosts.cend(),
                             [host](const auto &pattern) { return hostMatches(pattern, host); }))
                continue;
            found = slot.target.get();
            return true;
        }
        return false;
    });
    return found;
}

Router::Router()
    : d(new Data)
{}

Router::~Router() = default;

RouterPtr Router::build(const ConfigSnapshot &snapshot, RouterKind kind)
{
    QElapsedTimer timer;
    timer.start();

    std::shared_ptr<Router> router(new Router);
    Data &d = *router->d;
    d.kind = kind;
    for (const RoutePtr &route : snapshot.routes()) {
        if (compiled(route))
            d.add(route, snapshot);
        else if (route && route->uris.isEmpty())
            qCDebug(lcRouting) << "routes/" << route->id << "has no uri; left out";
    }
    qCDebug(lcRouting).nospace() << "compiled " << d.routeCount << " routes ("
                                 << (kind == RouterKind::HostUri ? "radixtree_host_uri" : "radixtree_uri")
                                 << ", " << d.hosts.size() << " hosts) in " << timer.elapsed() << " ms";
    return router;
}

RouterPtr Router::update(const Router &base, const ConfigSnapshot &before, const ConfigSnapshot &after,
                         const ConfigSnapshot::Changes &changes)
{
    QElapsedTimer timer;
    timer.start();

    std::shared_ptr<Router> router(new Router);
    Data &d = *router->d;
    d = *base.d; // shares every shard, table and bucket until one is changed
    // Keys of upstreams and services long gone are dropped now and then (targets keep their strings).
    if (d.upstreamKeys.size() > 2 * (after.upstreams().size() + after.services().size()) + 64)
        d.upstreamKeys.clear();

    // A route's target names its upstream, found through its upstream_id or its service: a changed
    // upstream or service recompiles the routes that may reach it (found by a scan, cheap next to the
    // build it replaces).
    QSet<QString> ids = changes.routes;
    if (!changes.upstreams.isEmpty() || !changes.services.isEmpty()) {
        const auto reaches = [&](const ConfigSnapshot &snapshot, const Route &route) {
            if (changes.upstreams.contains(route.upstreamId) || changes.services.contains(route.serviceId))
                return true;
            const ServicePtr service =
                route.serviceId.isEmpty() ? ServicePtr() : snapshot.services().value(route.serviceId);
            return service && changes.upstreams.contains(service->upstreamId);
        };
        for (const RoutePtr &route : after.routes()) {
            if (route && !route->upstream && reaches(after, *route))
                ids.insert(route->id);
        }
    }
    for (const QString &id : std::as_const(ids)) {
        const RoutePtr was = before.routes().value(id);
        const RoutePtr is = after.routes().value(id);
        if (compiled(was))
            d.remove(*was);
        if (compiled(is))
            d.add(is, after);
    }
    qCDebug(lcRouting).nospace() << "updated " << ids.size() << " of " << d.routeCount << " routes in "
                                 << timer.nsecsElapsed() / 1000 << " us";
    return router;
}

QByteArray Router::digest() const
{
    // One line per uri key, sorted: equal for two routers that match alike, whatever their history.
    std::vector<QByteArray> lines;
    const auto describe = [&](const QByteArray &where, const QByteArray &key, bool prefix,
                              const BucketPtr &bucket) {
        QByteArray line = where + (prefix ? " prefix " : " exact ") + key + " ->";
        for (const Slot &slot : *bucket) {
            const RouteTarget &t = *slot.target;
            line += ' ' + t.route->id.toUtf8() + '/' + QByteArray::number(slot.priority) + '/' +
                    QByteArray::number(slot.methods) + '/' + t.upstreamKey.toUtf8() + '/' +
                    QByteArray::number(quintptr(t.upstream.get()), 16) + '/' +
                    QByteArray::number(quintptr(t.route.get()), 16) + (t.websocket ? "/ws" : "");
            for (const auto &[host, wildcard] : slot.hosts)
                line += (wildcard ? "/*" : "/") + host;
        }
        lines.push_back(line);
    };
    d->uris.forEach([&](const QByteArray &key, bool prefix, const BucketPtr &bucket) {
        describe("-", key, prefix, bucket);
    });
    d->hosts.forEach([&](const QByteArray &host, bool wildcard, const TablePtr &table) {
        const QByteArray where = (wildcard ? "*" : "") + reversed(host);
        table->forEach([&](const QByteArray &key, bool prefix, const BucketPtr &bucket) {
            describe(where, key, prefix, bucket);
        });
    });
    std::sort(lines.begin(), lines.end());
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(d->kind == RouterKind::HostUri ? "host_uri\n" : "uri\n");
    hash.addData(QByteArray::number(d->routeCount) + '\n');
    for (const QByteArray &line : lines) {
        hash.addData(line);
        hash.addData("\n");
    }
    return hash.result().toHex();
}

const RouteTarget *Router::match(QByteArrayView method, QByteArrayView host, QByteArrayView path) const
{
    const void *query = path.isEmpty() ? nullptr : std::memchr(path.data(), '?', std::size_t(path.size()));
    if (query)
        path = path.first(static_cast<const char *>(query) - path.data());
    const quint32 methodBits = methodBit(method);

    // Hosts are at most 253 bytes, so this stays on the stack.
    QVarLengthArray<char, 256> lower(host.size());
    for (qsizetype i = 0; i < host.size(); ++i) {
        const char c = host[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c;
    }
    const QByteArrayView lowerHost(lower.constData(), lower.size());

    if (d->kind == RouterKind::HostUri && !d->hosts.isEmpty()) {
        QVarLengthArray<char, 256> reversedHost(lower.size());
        std::reverse_copy(lower.cbegin(), lower.cend(), reversedHost.begin());
        const RouteTarget *found = nullptr;
        d->hosts.visit(QByteArrayView(reversedHost.constData(), reversedHost.size()),
                       [&](const TablePtr &table) {
                           found = d->matchIn(*table, method, methodBits, lowerHost, path);
                           return found != nullptr;
                       });
        if (found)
            return found;
    }
    return d->matchIn(d->uris, method, methodBits, lowerHost, path);
}

RouterKind Router::kind() const
{
    return d->kind;
}

int Router::routeCount() const
{
    return d->routeCount;
}

bool Router::kindFromName(QStringView name, RouterKind *kind)
{
    if (name == QLatin1String("radixtree_host_uri")) {
        *kind = RouterKind::HostUri;
        return true;
    }
    if (name == QLatin1String("radixtree_uri")) {
        *kind = RouterKind::Uri;
        return true;
    }
    return false;
}
