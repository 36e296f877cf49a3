// An immutable, validated configuration with its canonical JSON and digest, shared between threads.
#pragma once

#include "configobjects.h"
#include "persistentmap.h"
#include "validationerror.h"

#include <QByteArray>
#include <QJsonObject>
#include <QSet>
#include <QStringList>

#include <memory>
#include <mutex>

class ConfigSnapshot;
using SnapshotPtr = std::shared_ptr<const ConfigSnapshot>;

class ConfigSnapshot
{
public:
    // Persistent maps: a snapshot derived from another shares every chunk of objects the change left.
    using Routes = PersistentMap<RoutePtr>;
    using Upstreams = PersistentMap<UpstreamPtr>;
    using Services = PersistentMap<ServicePtr>;

    // Parses a "config" object: {"routes": {...}, "upstreams": {...}, "services": {...}}. Each collection
    // is an object keyed by id or an array of objects with an "id" field. Every error is appended;
    // null when there is any. Other top-level members are kept as they are and ignored.
    static SnapshotPtr fromJson(const QJsonObject &config, ValidationErrors *errors);

    // From objects that were validated one by one (the sync controller's path).
    static SnapshotPtr fromObjects(Routes routes, Upstreams upstreams, Services services,
                                   QJsonObject extra = {});

    static SnapshotPtr empty();

    // The ids put or deleted between two generations.
    struct Changes
    {
        QSet<QString> routes;
        QSet<QString> upstreams;
        QSet<QString> services;
        bool isEmpty() const { return routes.isEmpty() && upstreams.isEmpty() && services.isEmpty(); }
    };

    // Like fromObjects, for objects that differ from `base`'s only by `changes`: whoever compiled `base`
    // (the router) may then update its result for the changed ids instead of starting again.
    static SnapshotPtr derive(const SnapshotPtr &base, Routes routes, Upstreams upstreams, Services services,
                              Changes changes);
    // The generation this one was derived from, while it is still alive, and what changed since.
    SnapshotPtr base() const { return m_base.lock(); }
    const Changes &changes() const { return m_changes; }

    const Routes &routes() const { return m_routes; }
    const Upstreams &upstreams() const { return m_upstreams; }
    const Services &services() const { return m_services; }
    // The config object's members other than the three collections, kept as they came.
    const QJsonObject &extra() const { return m_extra; }

    // The upstream a route sends to: inline, then upstream_id, then its service's; null when none
    // resolves (APISIX answers 503 then).
    UpstreamPtr upstreamFor(const Route &route) const;

    // References to objects that do not exist ("routes/7: /upstream_id: no upstream \"9\""). Not errors:
    // a control plane may write them in any order, and APISIX serves 503 for such a route meanwhile.
    // Computed on first use, as json() is.
    const QStringList &warnings() const;

    // {"routes": {id: object}, "upstreams": ..., "services": ...} plus the kept extra members. Built on
    // first use (by the persister or the admin API), off the path that takes a change to the proxy.
    const QJsonObject &json() const;
    // The canonical JSON of json(), made from each object's own canonical text (Route::canonical, ...);
    // not kept: the digest streams it.
    QByteArray canonicalJson() const;
    // Hex SHA-256 of canonicalJson(). Computed on first use, once, by whichever thread asks first: a
    // change reaches the proxy without waiting for the digest of the whole configuration.
    const QByteArray &sha256() const;

    // {"routes": n, "upstreams": n, "services": n}
    QJsonObject counts() const;

private:
    ConfigSnapshot() = default;
    void build() const; // json and warnings, once
    template<typename Out>
    void writeCanonical(Out &&out) const; // canonicalJson() in pieces, each passed to out(QByteArray)

    Routes m_routes;
    Upstreams m_upstreams;
    Services m_services;
    QJsonObject m_extra;
    std::weak_ptr<const ConfigSnapshot> m_base;
    Changes m_changes;
    mutable std::once_flag m_built;
    mutable QJsonObject m_json;
    mutable QStringList m_warnings;
    mutable std::once_flag m_digested;
    mutable QByteArray m_sha256;
};
