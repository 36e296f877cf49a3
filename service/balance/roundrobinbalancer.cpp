#include "roundrobinbalancer.h"

RoundRobinBalancer::RoundRobinBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health)
    : Balancer(std::move(upstream), std::move(health))
    , m_currentWeight(size_t(m_upstream->nodes.size()), 0)
{}

// Every candidate gains its weight, the richest is picked and pays back the total. Over one cycle (the sum
// of the weights) each node is picked exactly weight times, interleaved rather than in bursts. Nodes left
// out of a pick keep their current weight, as nginx leaves tried and down peers untouched.
int RoundRobinBalancer::pick(QByteArrayView hashKey, quint64 triedMask)
{
    Q_UNUSED(hashKey);
    if (selectCandidates(triedMask) == 0)
        return -1;
    narrowCandidates();

    const QVector<UpstreamNode> &nodes = m_upstream->nodes;
    qint64 total = 0;
    int best = -1;
    for (int i = 0; i < int(nodes.size()); ++i) {
        if (!m_candidate[size_t(i)])
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
