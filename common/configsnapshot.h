// An immutable, validated configuration with its canonical JSON and digest, shared between threads.
#pragma once

#include "configobjects.h"
#include "validationerror.h"

#include <QByteArray>
#include <QJsonObject>
#include <QMap>
#include <QStringList>

#include <memory>
#include <mutex>

class ConfigSnapshot;
using SnapshotPtr = std::shared_ptr<const ConfigSnapshot>;

class ConfigSnapshot
{
public:
    using Routes = QMap<QString, RoutePtr>;
    using Upstreams = QMap<QString, UpstreamPtr>;
    using Services = QMap<QString, ServicePtr>;

    // Parses a "config" object: {"routes": {...}, "upstreams": {...}, "services": {...}}. Each collection
    // is an object keyed by id or an array of objects with an "id" field. Every error is appended;
    // null when there is any. Other top-level members are kept as they are and ignored.
    static SnapshotPtr fromJson(const QJsonObject &config, ValidationErrors *errors);

    // From objects that were validated one by one (the sync controller's path).
    static SnapshotPtr fromObjects(Routes routes, Upstreams upstreams, Services services,
                                   QJsonObject extra = {});

    static SnapshotPtr empty();

    const Routes &routes() const { return m_routes; }
    const Upstreams &upstreams() const { return m_upstreams; }
    const Services &services() const { return m_services; }

    // The upstream a route sends to: inline, then upstream_id, then its service's; null when none
    // resolves (APISIX answers 503 then).
    UpstreamPtr upstreamFor(const Route &route) const;

    // References to objects that do not exist ("routes/7: /upstream_id: no upstream \"9\""). Not errors:
    // a control plane may write them in any order, and APISIX serves 503 for such a route meanwhile.
    const QStringList &warnings() const { return m_warnings; }

    // {"routes": {id: object}, "upstreams": ..., "services": ...} plus the kept extra members.
    const QJsonObject &json() const { return m_json; }
    // Computed on first use, once, by whichever thread asks first: a change reaches the proxy without
    // waiting for the digest of the whole configuration.
    const QByteArray &canonicalJson() const;
    const QByteArray &sha256() const; // hex of canonicalJson()

    // {"routes": n, "upstreams": n, "services": n}
    QJsonObject counts() const;

private:
    ConfigSnapshot() = default;
    void finish(); // builds json and warnings once
    void digest() const;

    Routes m_routes;
    Upstreams m_upstreams;
    Services m_services;
    QJsonObject m_extra;
    QJsonObject m_json;
    mutable std::once_flag m_digested;
    mutable QByteArray m_canonical;
    mutable QByteArray m_sha256;
    QStringList m_warnings;
};
