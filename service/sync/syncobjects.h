// The objects a sync holds, and how one stored value becomes one of them: pure, safe on any thread.
#pragma once

#include "configsnapshot.h"

#include <QByteArray>
#include <QString>

#include <functional>
#include <optional>

// The control plane's (or the local copy's) valid objects by kind. The static parts read keys and values
// without touching any controller state, so a full sync parses its pages on every core.
struct SyncObjects
{
    // One stored value read and validated.
    struct Parsed
    {
        ObjectKind kind = ObjectKind::Route;
        QString id;
        RoutePtr route; // the one of kind's three that is set, when valid
        UpstreamPtr upstream;
        ServicePtr service;
        QString rejection; // why not, when invalid
    };

    ConfigSnapshot::Routes routes;
    ConfigSnapshot::Upstreams upstreams;
    ConfigSnapshot::Services services;

    // Stores a valid parsed object.
    void put(const Parsed &parsed);
    void remove(ObjectKind kind, const QString &id);
    // Copies the object `id` of `kind` from `from`, when it has one.
    void copyFrom(const SyncObjects &from, ObjectKind kind, const QString &id);

    // The kind of "routes/12" (and "12" in *id); nullopt for keys the gateway ignores.
    static std::optional<ObjectKind> classify(const QString &key, QString *id);
    // With `known`, an object whose canonical JSON equals that of the one `known` holds under its id is
    // that object, not a new one: a full sync after a restart from the local copy (or a resync) then
    // shares what did not change instead of holding the configuration twice.
    static Parsed parse(ObjectKind kind, const QString &id, const QByteArray &value,
                        const SyncObjects *known = nullptr);
    // Calls fn(i) for every i in [0, count), on every core when there is enough to share: a full sync of
    // 100k objects is mostly JSON parsing and validation, which touch nothing shared.
    static void parallelFor(qsizetype count, const std::function<void(qsizetype)> &fn);
};
