// The console's reading of GET /v1/upstreams: each upstream's nodes, their health and connections.
#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

class UpstreamsView
{
public:
    struct Node
    {
        QString address; // host:port
        int weight = 0;
        bool checked = false; // active or passive checks watch this upstream
        bool healthy = true;  // as the checks see it; always true when unchecked
        int openConnections = 0;
        int idleConnections = 0;
    };
    struct Upstream
    {
        QString key; // "upstreams/1", "routes/7" for an inline one
        QString type;
        bool activeChecks = false;
        bool passiveChecks = false;
        QList<Node> nodes;
        int healthyNodes() const;
    };

    QList<Upstream> upstreams;

    static std::optional<UpstreamsView> fromJson(const QJsonObject &json, QString *error);
};
