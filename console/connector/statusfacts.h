// What a console says about a GatewayStatus: words for its state, and the facts the badges come from.
#pragma once

#include "gatewaystatus.h"

class StatusFacts
{
public:
    // "in sync", "offline (local copy)": words for people (the wire names are GatewayStatus::stateName).
    static QString describe(GatewayStatus::State state);
    // Serving what the control plane (or the standalone file) says, nothing pending on disk.
    static bool healthy(const GatewayStatus &status);
    // Something is served from a control plane or a local copy whose revision or digest differs from the
    // persisted generation's (none persisted counts as different). Standalone: nothing is persisted.
    static bool liveDiffersFromPersisted(const GatewayStatus &status);
    static QString revisionText(const std::optional<qint64> &revision); // "—" for none
};
