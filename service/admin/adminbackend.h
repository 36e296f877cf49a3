// What the admin API shows of the gateway and can ask of it; the gateway implements this.
#pragma once

#include <QByteArray>
#include <QJsonObject>

#include <optional>

class AdminBackend
{
public:
    virtual ~AdminBackend() = default;

    // The /v1/status document (DESIGN.md lists its fields).
    virtual QJsonObject status() const = 0;
    // Whether a configuration is being served (from the control plane or a local copy).
    virtual bool ready() const = 0;
    // {"revision", "sha256", "config"} of what is live, and of the persisted generation when there is one.
    virtual QJsonObject liveConfig() const = 0;
    virtual std::optional<QJsonObject> persistedConfig() const = 0;
    // GET /v1/upstreams: {"upstreams": [{key, type, checks: {active, passive}, nodes: [{node, weight,
    // healthy, connections: {open, idle}}]}]}; healthy is null for an upstream without checks.
    virtual QJsonObject upstreams() const = 0;
    // Prometheus text exposition.
    virtual QByteArray metrics() = 0;
    // POST /v1/resync and /v1/reload-local: {"accepted": bool, "message": "..."}.
    virtual QJsonObject resync() = 0;
    virtual QJsonObject reloadLocal() = 0;
};
