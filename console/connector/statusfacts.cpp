#include "statusfacts.h"

QString StatusFacts::describe(GatewayStatus::State state)
{
    using S = GatewayStatus::State;
    switch (state) {
    case S::Starting:
        return QStringLiteral("starting");
    case S::OfflineLocal:
        return QStringLiteral("offline (local copy)");
    case S::Syncing:
        return QStringLiteral("syncing");
    case S::InSync:
        return QStringLiteral("in sync");
    case S::Reconnecting:
        return QStringLiteral("reconnecting");
    case S::Standalone:
        return QStringLiteral("standalone");
    }
    return {};
}

bool StatusFacts::healthy(const GatewayStatus &status)
{
    return status.state == GatewayStatus::State::InSync || status.state == GatewayStatus::State::Standalone;
}

bool StatusFacts::liveDiffersFromPersisted(const GatewayStatus &s)
{
    using Origin = GatewayStatus::Origin;
    if (!s.live.revision || s.live.from == Origin::None || s.live.from == Origin::File)
        return false;
    return !s.persisted.revision || s.live.sha256 != s.persisted.sha256 ||
           *s.live.revision != *s.persisted.revision;
}

QString StatusFacts::revisionText(const std::optional<qint64> &revision)
{
    return revision ? QString::number(*revision) : QStringLiteral("—");
}
