// Smooth weighted round robin, step for step as nginx's ngx_http_upstream_get_peer.
#pragma once

#include "balancer.h"

class RoundRobinBalancer : public Balancer
{
public:
    RoundRobinBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health);

    int pick(QByteArrayView hashKey, quint64 triedMask) override;

protected:
    // Called with the candidates of a pick marked in m_candidate (at least one): may unmark some, as long
    // as one stays. Round robin keeps them all; least_conn keeps the least loaded.
    virtual void narrowCandidates() {}

private:
    std::vector<qint64> m_currentWeight; // nginx's current_weight, one per node
};
