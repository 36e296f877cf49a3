#include "configobjects.h"

QString collectionName(ObjectKind kind)
{
    switch (kind) {
    case ObjectKind::Route:
        return QStringLiteral("routes");
    case ObjectKind::Upstream:
        return QStringLiteral("upstreams");
    case ObjectKind::Service:
        return QStringLiteral("services");
    }
    return QString();
}
