// Least connections: the node with the fewest requests in flight for its weight, as nginx's least_conn.
#pragma once

#include "balancer.h"

class LeastConnBalancer : public Balancer
{
public:
    LeastConnBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health);

    int pick(QByteArrayView hashKey, quint64 triedMask) override;
    void requestStarted(int node) override;
    void requestFinished(int node) override;

    int active(int node) const;

private:
    std::vector<qint64> m_active;        // requests in flight per node, counted by this worker
    std::vector<qint64> m_currentWeight; // smooth round robin among equally loaded nodes
};
