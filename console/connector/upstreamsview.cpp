#include "upstreamsview.h"

#include "jsonreader.h"

#include <QJsonArray>

int UpstreamsView::Upstream::healthyNodes() const
{
    int n = 0;
    for (const Node &node : nodes)
        n += node.healthy ? 1 : 0;
    return n;
}

std::optional<UpstreamsView> UpstreamsView::fromJson(const QJsonObject &json, QString *error)
{
    error->clear();
    JsonReader top(json, QString(), error);
    UpstreamsView out;
    top.forEachElement("upstreams", [&out](JsonReader &u) {
        Upstream up;
        up.key = u.string("key");
        const QJsonArray nodes = u.array("nodes");
        up.type = u.value("type").toString();
        const QJsonObject checks = u.value("checks").toObject();
        up.activeChecks = checks.value(QLatin1String("active")).toBool();
        up.passiveChecks = checks.value(QLatin1String("passive")).toBool();
        for (const QJsonValue &v : nodes) {
            const QJsonObject n = v.toObject();
            Node node;
            node.address = n.value(QLatin1String("node")).toString();
            node.weight = n.value(QLatin1String("weight")).toInt();
            node.checked = up.activeChecks || up.passiveChecks;
            node.healthy = n.value(QLatin1String("healthy")).toBool(true);
            const QJsonObject c = n.value(QLatin1String("connections")).toObject();
            node.openConnections = c.value(QLatin1String("open")).toInt();
            node.idleConnections = c.value(QLatin1String("idle")).toInt();
            up.nodes.append(node);
        }
        out.upstreams.append(up);
    });
    if (!top.ok())
        return std::nullopt;
    return out;
}
