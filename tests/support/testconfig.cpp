#include "testconfig.h"

#include <QDebug>

namespace TestSupport {

SnapshotPtr snapshotOf(const QJsonObject &config)
{
    ValidationErrors errors;
    SnapshotPtr snapshot = ConfigSnapshot::fromJson(config, &errors);
    for (const ValidationError &error : errors)
        qWarning() << "test config rejected:" << error.toString();
    return snapshot;
}

} // namespace TestSupport
