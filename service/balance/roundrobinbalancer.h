// Smooth weighted round robin, step for step as nginx's ngx_http_upstream_get_peer.
#pragma once

#include "balancer.h"

class RoundRobinBalancer : public Balancer
{
public:
    RoundRobinBalancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health);

    int pick(QByteArrayView hashKey, quint64 triedMask) override;

private:
    std::vector<qint64> m_currentWeight; // nginx's current_weight, one per node
};
