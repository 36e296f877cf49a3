#include "configobjects.h"

#include <QJsonDocument>

namespace {

// The one table of collection names.
const std::pair<ObjectKind, const char *> collectionNames[] = {
    {ObjectKind::Route, "routes"}, {ObjectKind::Upstream, "upstreams"}, {ObjectKind::Service, "services"}};

} // namespace

QString collectionName(ObjectKind kind)
{
    for (const auto &[k, name] : collectionNames)
        if (k == kind)
            return QLatin1String(name);
    return QString();
}

std::optional<ObjectKind> kindOfCollection(QStringView name)
{
    for (const auto &[k, text] : collectionNames)
        if (name == QLatin1String(text))
            return k;
    return std::nullopt;
}

QJsonObject writtenJson(const Route &route)
{
    return QJsonDocument::fromJson(route.canonical).object();
}
