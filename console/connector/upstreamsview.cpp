#include "upstreamsview.h"

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
    const QJsonValue list = json.value(QLatin1String("upstreams"));
    if (!list.isArray()) {
        *error = QStringLiteral("/upstreams: expected an array");
        return std::nullopt;
    }
    UpstreamsView out;
    const QJsonArray upstreams = list.toArray();
    for (qsizetype i = 0; i < upstreams.size(); ++i) {
        const QJsonObject u = upstreams.at(i).toObject();
        if (!u.value(QLatin1String("key")).isString() || !u.value(QLatin1String("nodes")).isArray()) {
            *error = QStringLiteral("/upstreams/%1: expected {key, nodes}").arg(i);
            return std::nullopt;
        }
        Upstream up;
        up.key = u.value(QLatin1String("key")).toString();
        up.type = u.value(QLatin1String("type")).toString();
        const QJsonObject checks = u.value(QLatin1String("checks")).toObject();
        up.activeChecks = checks.value(QLatin1String("active")).toBool();
        up.passiveChecks = checks.value(QLatin1String("passive")).toBool();
        for (const QJsonValue &v : u.value(QLatin1String("nodes")).toArray()) {
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
    }
    return out;
}
