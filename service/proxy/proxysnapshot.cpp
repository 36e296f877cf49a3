#include "proxysnapshot.h"

ProxySnapshotPtr ProxySnapshot::create(SnapshotPtr config, RouterPtr router, HealthMapPtr health,
                                       quint64 generation)
{
    auto snapshot = std::shared_ptr<ProxySnapshot>(new ProxySnapshot);
    snapshot->m_config = std::move(config);
    snapshot->m_router = std::move(router);
    snapshot->m_health = std::move(health);
    snapshot->m_generation = generation;
    return snapshot;
}

QHash<QString, UpstreamPtr> ProxySnapshot::upstreamsByKey(const ConfigSnapshot &config)
{
    // The same identities as Router's RouteTarget::upstreamKey, so health found by key is the health
    // of the upstream a matched request goes to.
    QHash<QString, UpstreamPtr> result;
    for (auto it = config.upstreams().cbegin(); it != config.upstreams().cend(); ++it)
        result.insert(QStringLiteral("upstreams/") + it.key(), it.value());
    for (const RoutePtr &route : config.routes()) {
        const UpstreamPtr upstream = config.upstreamFor(*route);
        if (!upstream)
            continue;
        const ServicePtr service =
            route->serviceId.isEmpty() ? ServicePtr() : config.services().value(route->serviceId);
        if (route->upstream && upstream == route->upstream)
            result.insert(QStringLiteral("routes/") + route->id, upstream);
        else if (service && service->upstream && upstream == service->upstream)
            result.insert(QStringLiteral("services/") + service->id, upstream);
    }
    return result;
}
