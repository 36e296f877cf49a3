#include "leastconnbalancer.h"

LeastConnBalancer::LeastConnBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health)
    : RoundRobinBalancer(std::move(upstream), std::move(health))
    , m_active(size_t(m_upstream->nodes.size()), 0)
{}

void LeastConnBalancer::narrowCandidates()
{
    const QVector<UpstreamNode> &nodes = m_upstream->nodes;
    const int count = int(nodes.size());
    // active/weight compared by cross-multiplying, as nginx does, to stay in integers.
    const auto lessLoaded = [&](int a, int b) {
        return m_active[size_t(a)] * nodes.at(b).weight < m_active[size_t(b)] * nodes.at(a).weight;
    };
    int least = -1;
    for (int i = 0; i < count; ++i) {
        if (m_candidate[size_t(i)] && (least < 0 || lessLoaded(i, least)))
            least = i;
    }
    // Equally loaded nodes share by smooth weighted round robin, so idle nodes take turns instead of the
    // first one taking every request.
    for (int i = 0; i < count; ++i) {
        if (lessLoaded(least, i))
            m_candidate[size_t(i)] = 0;
    }
}

void LeastConnBalancer::requestStarted(int node)
{
    if (node >= 0 && node < int(m_active.size()))
        ++m_active[size_t(node)];
}

void LeastConnBalancer::requestFinished(int node)
{
    if (node >= 0 && node < int(m_active.size()) && m_active[size_t(node)] > 0)
        --m_active[size_t(node)];
}

int LeastConnBalancer::active(int node) const
{
    return node >= 0 && node < int(m_active.size()) ? int(m_active[size_t(node)]) : 0;
}
