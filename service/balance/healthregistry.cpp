#include "healthregistry.h"

#include <QMutexLocker>

namespace {

bool sameActive(const ActiveHealthCheck &a, const ActiveHealthCheck &b)
{
    return a.enabled == b.enabled && a.type == b.type && a.httpPath == b.httpPath && a.host == b.host &&
           a.port == b.port && a.timeout == b.timeout && a.healthyInterval == b.healthyInterval &&
           a.healthyStatuses == b.healthyStatuses && a.healthySuccesses == b.healthySuccesses &&
           a.unhealthyInterval == b.unhealthyInterval && a.unhealthyStatuses == b.unhealthyStatuses &&
           a.httpFailures == b.httpFailures && a.tcpFailures == b.tcpFailures && a.timeouts == b.timeouts;
}

bool samePassive(const PassiveHealthCheck &a, const PassiveHealthCheck &b)
{
    return a.enabled == b.enabled && a.healthyStatuses == b.healthyStatuses &&
           a.healthySuccesses == b.healthySuccesses && a.unhealthyStatuses == b.unhealthyStatuses &&
           a.httpFailures == b.httpFailures && a.tcpFailures == b.tcpFailures && a.timeouts == b.timeouts;
}

} // namespace

HealthRegistry::HealthRegistry()
    : m_current(std::make_shared<const HealthMap>())
{}

bool HealthRegistry::sameHealthSubject(const UpstreamHealth &health, const Upstream &upstream)
{
    if (health.nodeCount() != upstream.nodes.size())
        return false;
    for (int i = 0; i < health.nodeCount(); ++i) {
        const UpstreamNode &a = health.node(i);
        const UpstreamNode &b = upstream.nodes.at(i);
        // Weight and priority do not change what a node's health means, but the balancer indexes health
        // by position, so the order must match too.
        if (a.host != b.host || a.port != b.port)
            return false;
    }
    return sameActive(health.active(), upstream.active) && samePassive(health.passive(), upstream.passive);
}

HealthMapPtr HealthRegistry::update(const QHash<QString, UpstreamPtr> &upstreams)
{
    const HealthMapPtr previous = current();
    auto next = std::make_shared<HealthMap>();
    for (auto it = upstreams.cbegin(); it != upstreams.cend(); ++it) {
        const UpstreamPtr &upstream = it.value();
        if (!upstream || (!upstream->active.enabled && !upstream->passive.enabled))
            continue;
        const std::shared_ptr<UpstreamHealth> old = previous->value(it.key());
        if (old && sameHealthSubject(*old, *upstream)) {
            next->insert(it.key(), old);
            continue;
        }
        auto fresh = std::make_shared<UpstreamHealth>(it.key(), *upstream);
        if (old)
            fresh->inheritFrom(*old);
        next->insert(it.key(), std::move(fresh));
    }

    HealthMapPtr published = std::move(next);
    QMutexLocker locker(&m_mutex);
    m_current = published;
    return published;
}

HealthMapPtr HealthRegistry::current() const
{
    QMutexLocker locker(&m_mutex);
    return m_current;
}

std::shared_ptr<UpstreamHealth> HealthRegistry::health(const QString &key) const
{
    return current()->value(key);
}
