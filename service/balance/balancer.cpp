#include "balancer.h"

#include "chashbalancer.h"
#include "leastconnbalancer.h"
#include "roundrobinbalancer.h"
#include "upstreamhealth.h"

Balancer::Balancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health)
    : m_upstream(std::move(upstream))
    , m_health(std::move(health))
    , m_candidate(size_t(m_upstream->nodes.size()), 0)
{
    // A health object built for another node list would answer for the wrong nodes.
    if (m_health && m_health->nodeCount() != m_upstream->nodes.size())
        m_health.reset();
}

std::unique_ptr<Balancer> Balancer::create(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health)
{
    if (!upstream)
        return nullptr;
    switch (upstream->type) {
    case Upstream::Type::ConsistentHash:
        return std::make_unique<ChashBalancer>(std::move(upstream), std::move(health));
    case Upstream::Type::LeastConn:
        return std::make_unique<LeastConnBalancer>(std::move(upstream), std::move(health));
    case Upstream::Type::RoundRobin:
        break;
    }
    return std::make_unique<RoundRobinBalancer>(std::move(upstream), std::move(health));
}

int Balancer::selectCandidates(quint64 triedMask)
{
    const QVector<UpstreamNode> &nodes = m_upstream->nodes;
    const int count = int(nodes.size());
    auto healthy = [this](int i) { return !m_health || m_health->isHealthy(i); };
    // Bits past 63 cannot be expressed in the mask: such nodes never count as tried.
    auto tried = [triedMask](int i) { return i < 64 && (triedMask & (quint64(1) << i)); };

    bool anyHealthy = false;
    for (int i = 0; i < count && !anyHealthy; ++i)
        anyHealthy = nodes.at(i).weight > 0 && healthy(i);

    bool anyUntried = false;
    for (int i = 0; i < count && !anyUntried; ++i)
        anyUntried = nodes.at(i).weight > 0 && (!anyHealthy || healthy(i)) && !tried(i);

    bool any = false;
    int topPriority = 0;
    for (int i = 0; i < count; ++i) {
        const UpstreamNode &node = nodes.at(i);
        const bool ok = node.weight > 0 && (!anyHealthy || healthy(i)) && (!anyUntried || !tried(i));
        m_candidate[size_t(i)] = ok ? 1 : 0;
        if (ok && (!any || node.priority > topPriority)) {
            topPriority = node.priority;
            any = true;
        }
    }

    int marked = 0;
    for (int i = 0; i < count; ++i) {
        if (m_candidate[size_t(i)] && nodes.at(i).priority != topPriority)
            m_candidate[size_t(i)] = 0;
        marked += m_candidate[size_t(i)];
    }
    return marked;
}
