// Least connections: the node with the fewest requests in flight for its weight, as nginx's least_conn;
// equally loaded nodes take turns by smooth weighted round robin.
#pragma once

#include "roundrobinbalancer.h"

class LeastConnBalancer : public RoundRobinBalancer
{
public:
    LeastConnBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health);

    void requestStarted(int node) override;
    void requestFinished(int node) override;

    int active(int node) const;

protected:
    void narrowCandidates() override;

private:
    std::vector<qint64> m_active; // requests in flight per node, counted by this worker
};
