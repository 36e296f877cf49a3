// Keeps each upstream's node health across config snapshots, so a change elsewhere does not revive dead
// nodes.
#pragma once

#include "configobjects.h"
#include "upstreamhealth.h"

#include <QHash>
#include <QMutex>
#include <QString>

#include <memory>

// Upstream identity ("upstreams/1", "routes/7" for an inline one) to its health.
using HealthMap = QHash<QString, std::shared_ptr<UpstreamHealth>>;
using HealthMapPtr = std::shared_ptr<const HealthMap>;

class HealthRegistry
{
public:
    HealthRegistry();

    // Takes the upstreams of a new snapshot by identity and returns the health to hand to the workers
    // (and to ActiveHealthChecker::setTargets) with it. Only upstreams with active or passive checks get
    // an entry; the others have no health to track. An entry whose nodes and checks are unchanged is the
    // same object as before, state and all; otherwise a new object is built, and nodes that kept their
    // host and port keep their state in it. Upstreams no longer present are dropped.
    HealthMapPtr update(const QHash<QString, UpstreamPtr> &upstreams);

    // Safe from any thread; not meant for the per-request path (take the map handed out with a snapshot).
    HealthMapPtr current() const;
    std::shared_ptr<UpstreamHealth> health(const QString &key) const;

    // Whether two versions of an upstream can share one health object.
    static bool sameHealthSubject(const UpstreamHealth &health, const Upstream &upstream);

private:
    mutable QMutex m_mutex;
    HealthMapPtr m_current;
};
