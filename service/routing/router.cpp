#include "router.h"

#include "radixtree.h"

#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QVarLengthArray>

#include <algorithm>
#include <cstring>
#include <vector>

Q_LOGGING_CATEGORY(lcRouting, "holdfast.routing")

namespace {

// The methods APISIX's schema allows, one bit each; anything else is compared by name.
enum : quint32
{
    MethodGet = 1u << 0,
    MethodPost = 1u << 1,
    MethodPut = 1u << 2,
    MethodDelete = 1u << 3,
    MethodPatch = 1u << 4,
    MethodHead = 1u << 5,
    MethodOptions = 1u << 6,
    MethodConnect = 1u << 7,
    MethodTrace = 1u << 8,
    MethodPurge = 1u << 9,
    MethodOther = 1u << 31,
};

bool equals(QByteArrayView a, const char *b, qsizetype size)
{
    return a.size() == size && std::memcmp(a.data(), b, std::size_t(size)) == 0;
}

quint32 methodBit(QByteArrayView m)
{
    switch (m.size()) {
    case 3:
        if (equals(m, "GET", 3))
            return MethodGet;
        if (equals(m, "PUT", 3))
            return MethodPut;
        break;
    case 4:
        if (equals(m, "POST", 4))
            return MethodPost;
        if (equals(m, "HEAD", 4))
            return MethodHead;
        break;
    case 5:
        if (equals(m, "PATCH", 5))
            return MethodPatch;
        if (equals(m, "TRACE", 5))
            return MethodTrace;
        if (equals(m, "PURGE", 5))
            return MethodPurge;
        break;
    case 6:
        if (equals(m, "DELETE", 6))
            return MethodDelete;
        break;
    case 7:
        if (equals(m, "OPTIONS", 7))
            return MethodOptions;
        if (equals(m, "CONNECT", 7))
            return MethodConnect;
        break;
    default:
        break;
    }
    return MethodOther;
}

// One route under one uri key. The slots of one key lie side by side in priority order, so the scan of
// a crowded key (radixtree_uri with many routes that differ only by host) reads memory in sequence.
struct Slot
{
    quint32 target = 0;    // into Data::targets
    quint32 methods = 0;   // 0: any method
    quint32 hostBegin = 0; // into Data::hosts; radixtree_uri only, host_uri has filtered by host already
    quint32 hostCount = 0;
};

struct Bucket
{
    quint32 begin = 0; // into Data::routeSlots
    quint32 end = 0;
};

// Lower case; for a wildcard the suffix after '*' (".example.com"). The first 8 bytes are kept inline so
// that most mismatches are settled without reading the text.
struct HostPattern
{
    quint64 head = 0;
    quint32 begin = 0; // into Data::hostText
    quint32 size = 0;
    bool wildcard = false;
};

quint64 headOf(const char *bytes, quint32 size)
{
    quint64 head = 0;
    std::memcpy(&head, bytes, std::min<quint32>(size, 8));
    return head;
}

bool hostMatches(const HostPattern &pattern, const char *text, QByteArrayView host)
{
    const std::size_t size = std::size_t(host.size());
    if (pattern.wildcard ? size < pattern.size : size != pattern.size)
        return false;
    const char *at = host.data() + (size - pattern.size);
    if (pattern.size && headOf(at, pattern.size) != pattern.head)
        return false;
    return pattern.size <= 8 || std::memcmp(at + 8, text + pattern.begin + 8, pattern.size - 8) == 0;
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

// A route's uri waiting to be compiled into a tree.
struct Pending
{
    QByteArray key; // the uri up to its first '*'
    bool prefix = false;
    quint32 target = 0;
};

void addUris(std::vector<Pending> *pending, const Route &route, quint32 target)
{
    for (const QByteArray &uri : route.uris) {
        const qsizetype star = uri.indexOf('*');
        if (star < 0)
            pending->push_back({uri, false, target});
        else
            pending->push_back({uri.left(star), true, target});
    }
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
    std::vector<RouteTarget> targets;
    std::vector<quint32> targetMethods; // method bits per target
    std::vector<Slot> routeSlots;
    std::vector<Bucket> buckets;
    std::vector<HostPattern> hosts;
    QByteArray hostText;
    RadixTree uris;                    // Uri: every route; HostUri: the routes without a host
    RadixTree hostTree;                // HostUri: reversed host, exact or wildcard suffix -> hostTables
    std::vector<RadixTree> hostTables; // HostUri: the uris of the routes of one host pattern

    // Groups `pending` (in priority order) by key into buckets of routeSlots; the tree maps keys to buckets.
    RadixTree compile(std::vector<Pending> pending,
                      const std::vector<std::vector<std::pair<QByteArray, bool>>> &hostFilters);
    const RouteTarget *matchIn(const RadixTree &tree, QByteArrayView method, quint32 methodBits,
                               QByteArrayView host, QByteArrayView path) const;
};

RadixTree Router::Data::compile(std::vector<Pending> pending,
                                const std::vector<std::vector<std::pair<QByteArray, bool>>> &hostFilters)
{
    std::stable_sort(pending.begin(), pending.end(), [](const Pending &a, const Pending &b) {
        return a.prefix != b.prefix ? a.prefix < b.prefix : a.key < b.key;
    });
    std::vector<RadixTree::Key> keys;
    for (std::size_t i = 0; i < pending.size();) {
        std::size_t j = i;
        Bucket bucket;
        bucket.begin = quint32(routeSlots.size());
        for (;
             j < pending.size() && pending[j].prefix == pending[i].prefix && pending[j].key == pending[i].key;
             ++j) {
            Slot slot;
            slot.target = pending[j].target;
            slot.methods = targetMethods[slot.target];
            slot.hostBegin = quint32(hosts.size());
            if (slot.target < hostFilters.size()) {
                for (const auto &[text, wildcard] : hostFilters[slot.target]) {
                    HostPattern pattern;
                    pattern.begin = quint32(hostText.size());
                    pattern.size = quint32(text.size());
                    pattern.head = headOf(text.constData(), pattern.size);
                    pattern.wildcard = wildcard;
                    hostText.append(text);
                    hosts.push_back(pattern);
                }
            }
            slot.hostCount = quint32(hosts.size()) - slot.hostBegin;
            routeSlots.push_back(slot);
        }
        bucket.end = quint32(routeSlots.size());
        keys.push_back({pending[i].key, pending[i].prefix, quint32(buckets.size())});
        buckets.push_back(bucket);
        i = j;
    }
    return RadixTree(std::move(keys));
}

const RouteTarget *Router::Data::matchIn(const RadixTree &tree, QByteArrayView method, quint32 methodBits,
                                         QByteArrayView host, QByteArrayView path) const
{
    const RouteTarget *found = nullptr;
    const char *text = hostText.constData();
    tree.visit(path, [&](quint32 bucketIndex) {
        const Bucket &bucket = buckets[bucketIndex];
        for (quint32 s = bucket.begin; s < bucket.end; ++s) {
            const Slot &slot = routeSlots[s];
            if (slot.methods && !(slot.methods & methodBits))
                continue;
            if (methodBits == MethodOther && slot.methods) {
                const QVector<QByteArray> &names = targets[slot.target].route->methods;
                if (std::none_of(names.cbegin(), names.cend(),
                                 [method](const QByteArray &name) { return QByteArrayView(name) == method; }))
                    continue;
            }
            if (slot.hostCount) {
                bool any = false;
                for (quint32 h = slot.hostBegin; h < slot.hostBegin + slot.hostCount && !any; ++h)
                    any = hostMatches(hosts[h], text, host);
                if (!any)
                    continue;
            }
            found = &targets[slot.target];
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

    // Snapshot order is ascending id; a stable sort by priority keeps it for equal priorities, and every
    // tree keeps its input order among values of one key.
    std::vector<RoutePtr> routes;
    routes.reserve(std::size_t(snapshot.routes().size()));
    for (const RoutePtr &route : snapshot.routes()) {
        if (!route || !route->enabled)
            continue;
        if (route->uris.isEmpty()) {
            qCDebug(lcRouting) << "routes/" << route->id << "has no uri; left out";
            continue;
        }
        routes.push_back(route);
    }
    std::stable_sort(routes.begin(), routes.end(),
                     [](const RoutePtr &a, const RoutePtr &b) { return a->priority > b->priority; });

    d.targets.reserve(routes.size());
    d.targetMethods.reserve(routes.size());
    std::vector<Pending> uriPending;
    std::vector<std::vector<Pending>> hostPending;
    std::vector<RadixTree::Key> hostKeys;
    QHash<QByteArray, quint32> hostTableIndex; // "*.example.com" / "example.com" -> hostPending
    std::vector<std::vector<std::pair<QByteArray, bool>>> hostFilters; // per target, Uri only

    for (const RoutePtr &route : routes) {
        const quint32 target = quint32(d.targets.size());
        const UpstreamPtr upstream = snapshot.upstreamFor(*route);
        d.targets.push_back({route, upstream, upstreamKeyFor(snapshot, *route, upstream)});
        quint32 methods = 0;
        for (const QByteArray &method : route->methods)
            methods |= methodBit(method);
        d.targetMethods.push_back(methods);

        if (kind == RouterKind::Uri) {
            hostFilters.emplace_back();
            for (const QByteArray &host : route->hosts)
                hostFilters.back().push_back(splitHost(host));
            addUris(&uriPending, *route, target);
            continue;
        }
        if (route->hosts.isEmpty()) {
            addUris(&uriPending, *route, target);
            continue;
        }
        QVector<QByteArray> seen;
        for (const QByteArray &host : route->hosts) {
            const QByteArray lower = host.toLower();
            if (seen.contains(lower))
                continue;
            seen.append(lower);
            auto it = hostTableIndex.constFind(lower);
            if (it == hostTableIndex.constEnd()) {
                const quint32 table = quint32(hostPending.size());
                it = hostTableIndex.insert(lower, table);
                hostPending.emplace_back();
                const auto [text, wildcard] = splitHost(lower);
                hostKeys.push_back({reversed(text), wildcard, table});
            }
            addUris(&hostPending[it.value()], *route, target);
        }
    }

    d.uris = d.compile(std::move(uriPending), hostFilters);
    d.hostTree = RadixTree(std::move(hostKeys));
    d.hostTables.reserve(hostPending.size());
    for (std::vector<Pending> &pending : hostPending)
        d.hostTables.push_back(d.compile(std::move(pending), {}));

    qCDebug(lcRouting).nospace() << "compiled " << d.targets.size() << " routes ("
                                 << (kind == RouterKind::HostUri ? "radixtree_host_uri" : "radixtree_uri")
                                 << ", " << d.hostTables.size() << " hosts) in " << timer.elapsed() << " ms";
    return router;
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

    if (d->kind == RouterKind::HostUri && !d->hostTree.isEmpty()) {
        QVarLengthArray<char, 256> reversedHost(lower.size());
        std::reverse_copy(lower.cbegin(), lower.cend(), reversedHost.begin());
        const RouteTarget *found = nullptr;
        d->hostTree.visit(QByteArrayView(reversedHost.constData(), reversedHost.size()), [&](quint32 table) {
            found = d->matchIn(d->hostTables[table], method, methodBits, lowerHost, path);
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
    return int(d->targets.size());
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
