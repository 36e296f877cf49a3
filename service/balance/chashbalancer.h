// Consistent hashing: a ring of points per node, so removing a node moves only the keys it held.
#pragma once

#include "balancer.h"

class ChashBalancer : public Balancer
{
public:
    // Points per unit of weight, as nginx's and APISIX's rings.
    static constexpr int PointsPerWeight = 160;

    ChashBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health);

    // The node owning the first ring point at or after the key's hash; tried or unhealthy nodes pass
    // the key on to the next point that belongs to a candidate.
    int pick(QByteArrayView hashKey, quint64 triedMask) override;

    int ringSize() const { return int(m_ring.size()); }

private:
    struct Point
    {
        quint32 hash;
        int node;
    };
    std::vector<Point> m_ring; // sorted by hash
};
