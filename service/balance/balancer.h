// Picks the upstream node for one try of one request. One instance per upstream per worker: not shared.
#pragma once

#include "configobjects.h"

#include <QByteArrayView>

#include <memory>
#include <vector>

class UpstreamHealth;

class Balancer
{
public:
    virtual ~Balancer() = default;

    // roundrobin (smooth weighted, as nginx), chash or least_conn, from upstream.type. `health` may be
    // null (every node counts as healthy).
    static std::unique_ptr<Balancer> create(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health);

    // Index into upstream->nodes, or -1 when there is no node at all. `hashKey` is used by chash only
    // (see HashKey). Nodes whose bit is set in `triedMask` (1 << index) are avoided while others remain.
    // Unhealthy nodes are skipped; when every node is unhealthy, they are tried anyway (as APISIX does).
    // Nodes of weight 0 are never picked. Among the remaining nodes only those of the highest `priority`
    // are considered, so a lower priority serves only once the higher ones are down or tried.
    virtual int pick(QByteArrayView hashKey, quint64 triedMask) = 0;

    // A connection to `node` started or ended a request: least_conn counts them.
    virtual void requestStarted(int node) { Q_UNUSED(node); }
    virtual void requestFinished(int node) { Q_UNUSED(node); }

    const UpstreamPtr &upstream() const { return m_upstream; }
    const std::shared_ptr<UpstreamHealth> &health() const { return m_health; }

protected:
    explicit Balancer(UpstreamPtr upstream, std::shared_ptr<UpstreamHealth> health = nullptr);

    // Marks in m_candidate the nodes this pick may choose, narrowing in APISIX's order: weight above 0,
    // then healthy (unless none is), then not tried (unless all are), then the highest priority left.
    // Returns how many are marked.
    int selectCandidates(quint64 triedMask);

    UpstreamPtr m_upstream;
    std::shared_ptr<UpstreamHealth> m_health; // null, or one entry per node of m_upstream
    std::vector<quint8> m_candidate;          // one per node, reused by every pick
};
