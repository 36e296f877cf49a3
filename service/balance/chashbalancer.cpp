#include "chashbalancer.h"

#include "stablehash.h"
#include "upstreamhealth.h"

#include <algorithm>

namespace {

// Large weights on many nodes would make a ring of millions of points per worker; past this size the
// points are scaled down evenly, which keeps the proportions.
constexpr qint64 MaxRingPoints = 160 * 1024;

} // namespace

ChashBalancer::ChashBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health)
    : Balancer(std::move(upstream), std::move(health))
{
    const QVector<UpstreamNode> &nodes = m_upstream->nodes;
    qint64 totalWeight = 0;
    for (const UpstreamNode &node : nodes)
        totalWeight += std::max(node.weight, 0);
    const qint64 wanted = totalWeight * PointsPerWeight;

    m_ring.reserve(size_t(std::min(wanted, MaxRingPoints)));
    for (int i = 0; i < int(nodes.size()); ++i) {
        const UpstreamNode &node = nodes.at(i);
        if (node.weight <= 0)
            continue;
        qint64 points = qint64(node.weight) * PointsPerWeight;
        if (wanted > MaxRingPoints)
            points = std::max<qint64>(1, points * MaxRingPoints / wanted);
        // Points hang on the node's address, not its index, so a node keeps its points when others
        // are added or removed.
        const QByteArray name = UpstreamHealth::nodeName(node);
        for (qint64 p = 0; p < points; ++p)
            m_ring.push_back({stableHash32(name, quint32(p)), i});
    }
    std::sort(m_ring.begin(), m_ring.end(), [&nodes](const Point &a, const Point &b) {
        if (a.hash != b.hash)
            return a.hash < b.hash;
        return UpstreamHealth::nodeName(nodes.at(a.node)) < UpstreamHealth::nodeName(nodes.at(b.node));
    });
}

int ChashBalancer::pick(QByteArrayView hashKey, quint64 triedMask)
{
    if (m_ring.empty() || selectCandidates(triedMask) == 0)
        return -1;

    const quint32 hash = stableHash32(hashKey);
    auto it = std::lower_bound(m_ring.begin(), m_ring.end(), hash,
                               [](const Point &point, quint32 value) { return point.hash < value; });
    size_t index = size_t(it - m_ring.begin());
    for (size_t step = 0; step < m_ring.size(); ++step) {
        const Point &point = m_ring[(index + step) % m_ring.size()];
        if (m_candidate[size_t(point.node)])
            return point.node;
    }
    return -1; // unreachable: every candidate has at least one point
}
