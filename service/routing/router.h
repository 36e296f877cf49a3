// Matches a request to a route: compiled per config snapshot (updated from the previous one), read by every
// worker.
#pragma once

#include "configsnapshot.h"

#include <QByteArrayView>

#include <memory>

enum class RouterKind
{
    HostUri, // "radixtree_host_uri" (APISIX's default): routes whose host matches come before host-less ones
    Uri,     // "radixtree_uri": the host is only a filter
};

// What a matched request is sent to. `upstream` is null when the route names no upstream that exists
// (APISIX answers 503 then).
struct RouteTarget
{
    RoutePtr route;
    UpstreamPtr upstream;
    // Stable identity of the upstream, so balancer and health state survive a rebuild: "upstreams/<id>"
    // (from upstream_id, the route's or its service's), "routes/<id>" or "services/<id>" for an inline
    // one; empty when `upstream` is null.
    QString upstreamKey;
    // enable_websocket of the route, or of its service when the route does not say (as APISIX).
    bool websocket = false;
};

// The order a request is tried against the routes, as APISIX's routers (lua-resty-radixtree):
// - HostUri: the routes of the exact request host, then those of matching wildcard hosts, the longest
//   suffix first ("*.a.example.com" before "*.example.com"), then the routes without a host;
//   Uri: all routes in one tree, a route's hosts only filter it.
// - Within one such group: an exact uri, then prefix uris ("/api/*") from the longest prefix down; among
//   routes of the same uri a higher `priority` first, then ascending route id. A route is taken when
//   its methods (none: any) and, with Uri, its hosts (none: any) accept the request.
// Hosts compare case-insensitively; "*.example.com" matches "a.example.com" and "a.b.example.com", not
// "example.com". A uri's first '*' ends its prefix; what follows it is not compared.
class Router
{
public:
    // Disabled routes (status 0) are left out.
    static std::shared_ptr<const Router> build(const ConfigSnapshot &snapshot, RouterKind kind);
    // The router of `after`, made from `base` (the router of `before`) by recompiling only the routes in
    // `changes` and those that reach a changed upstream or service; everything else is shared with
    // `base`, which stays valid and unchanged for whoever still reads it. Equal to build(after, kind).
    static std::shared_ptr<const Router> update(const Router &base, const ConfigSnapshot &before,
                                                const ConfigSnapshot &after,
                                                const ConfigSnapshot::Changes &changes);

    // Hex SHA-256 of everything that decides a match (keys, route order, methods, hosts, targets):
    // equal for two routers that match alike, however each was made. O(routes); for self-checks.
    QByteArray digest() const;

    // `path` without the query string (anything from a '?' on is ignored); `host` without the port, in
    // any case. Null when nothing matches. Never allocates on the common path (a host longer than 255
    // bytes is the exception); safe to call from many threads at once.
    const RouteTarget *match(QByteArrayView method, QByteArrayView host, QByteArrayView path) const;

    RouterKind kind() const;
    // Enabled routes that were compiled in (status 1 and at least one uri).
    int routeCount() const;

    // "radixtree_host_uri" / "radixtree_uri"; false for anything else.
    static bool kindFromName(QStringView name, RouterKind *kind);

    ~Router();

private:
    Router();
    struct Data;
    std::unique_ptr<Data> d;
};
using RouterPtr = std::shared_ptr<const Router>;
