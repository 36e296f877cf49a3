#include "statusfacts.h"

#include "enumnames.h"

#include <iterator>

QString StatusFacts::describe(GatewayStatus::State state)
{
    static const char *const names[] = {"starting", "offline (local copy)", "syncing",
                                        "in sync",  "reconnecting",         "standalone"};
    static_assert(std::size(names) == std::size_t(GatewayStatus::State::Standalone) + 1);
    return enumName(names, state);
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
