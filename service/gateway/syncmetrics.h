// The sync state machine's figures as Prometheus gauges and counters: state, control plane, persisting.
#pragma once

#include "gatewaystatus.h"

class MetricsRegistry;
class SyncController;

// Kept apart from Gateway so the composition root only says which figures exist, and a new sync
// figure is added here, beside the others, in one place.
class SyncMetrics
{
public:
    // Every mode: the gateway's state, whether it serves, and the live revision.
    static void collectGateway(MetricsRegistry *registry, GatewayStatus::State state, bool ready,
                               qint64 liveRevision);
    // Synced mode: the control plane, validation and the local copy.
    static void collectSync(MetricsRegistry *registry, const SyncController &sync);
};
