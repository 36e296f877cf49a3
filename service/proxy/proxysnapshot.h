// What every proxy worker serves from: a config snapshot, its compiled router and its upstreams' health.
#pragma once

#include "configsnapshot.h"
#include "healthregistry.h"
#include "router.h"

#include <QHash>

#include <memory>

class ProxySnapshot;
using ProxySnapshotPtr = std::shared_ptr<const ProxySnapshot>;

// Built once per configuration change by ProxyServer::publish() and shared, immutable, by every worker.
// A worker keeps the snapshot a request started with until that request is over.
class ProxySnapshot
{
public:
    static ProxySnapshotPtr create(SnapshotPtr config, RouterPtr router, HealthMapPtr health,
                                   quint64 generation);

    const SnapshotPtr &config() const { return m_config; }
    const RouterPtr &router() const { return m_router; }
    const HealthMapPtr &health() const { return m_health; }
    quint64 generation() const { return m_generation; }

    // Every upstream a route of `config` can send to, by the identity the router gives it
    // ("upstreams/1", "routes/7", "services/3"): what the health registry tracks.
    static QHash<QString, UpstreamPtr> upstreamsByKey(const ConfigSnapshot &config);

private:
    ProxySnapshot() = default;

    SnapshotPtr m_config;
    RouterPtr m_router;
    HealthMapPtr m_health;
    quint64 m_generation = 0;
};
