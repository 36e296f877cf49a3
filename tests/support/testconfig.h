// Configuration snapshots for the suites: a config object validated the way holdfastd validates it.
#pragma once

#include "configsnapshot.h"

#include <QJsonObject>

namespace TestSupport {

// The snapshot of `config` ({"routes":…, "upstreams":…, "services":…}); null, with each validation error
// printed as a warning, when it does not validate.
SnapshotPtr snapshotOf(const QJsonObject &config);

} // namespace TestSupport
