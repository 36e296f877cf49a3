#include "leastconnbalancer.h"

LeastConnBalancer::LeastConnBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health)
    : Balancer(std::move(upstream), std::move(health))
    , m_active(size_t(m_upstream->nodes.size()), 0)
    , m_currentWeight(size_t(m_upstream->nodes.size()), 0)
{}

int LeastConnBalancer::pick(QByteArrayView hashKey, quint64 triedMask)
{
    Q_UNUSED(hashKey);
    if (selectCandidates(triedMask) == 0)
        return -1;

    const QVector<UpstreamNode> &nodes = m_upstream->nodes;
    const int count = int(nodes.size());

    // active/weight compared by cross-multiplying, as nginx does, to stay in integers.
    int least = -1;
    for (int i = 0; i < count; ++i) {
        if (!m_candidate[size_t(i)])
            continue;
        if (least < 0 ||
            m_active[size_t(i)] * nodes.at(least).weight < m_active[size_t(least)] * nodes.at(i).weight)
            least = i;
    }

    // Equally loaded nodes share by smooth weighted round robin, so idle nodes take turns instead of the
    // first one taking every request.
    qint64 total = 0;
    int best = -1;
    for (int i = least; i < count; ++i) {
        if (!m_candidate[size_t(i)] ||
            m_active[size_t(i)] * nodes.at(least).weight != m_active[size_t(least)] * nodes.at(i).weight)
            continue;
        const qint64 weight = nodes.at(i).weight;
        m_currentWeight[size_t(i)] += weight;
        total += weight;
        if (best < 0 || m_currentWeight[size_t(i)] > m_currentWeight[size_t(best)])
            best = i;
    }
    m_currentWeight[size_t(best)] -= total;
    return best;
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
