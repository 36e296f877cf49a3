// The /v1/status document as a type: the gateway writes it, the console and holdfastctl read it.
#pragma once

#include "configobjects.h"
#include "jsonreader.h"

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

// Every member is written in both modes (synced and standalone), null where it does not apply, so a
// reader never has to know which mode it talks to. toJson() and fromJson() are exact inverses for every
// document toJson() writes; fromJson() names the first member that is missing or of the wrong type.
class GatewayStatus
{
public:
    // Wire names: starting, offline_local, syncing, in_sync, reconnecting, standalone.
    enum class State
    {
        Starting,
        OfflineLocal, // serving the local copy, control plane unreachable
        Syncing,      // connected, reading everything
        InSync,
        Reconnecting, // serving from memory, control plane lost
        Standalone    // serving a configuration file, no control plane
    };
    static QString stateName(State state);
    static std::optional<State> stateFromName(const QString &name);
    static const QList<State> &allStates();

    struct ControlPlane
    {
        QString type;          // "etcd", or "file" when standalone
        QStringList endpoints; // etcd URLs, or the standalone file
        QString prefix;        // etcd key prefix; "" (null) when standalone
        bool connected = false;
        QString endpoint; // in use or last tried; "" (null) when none
        QDateTime lastOk; // last answer from the control plane
        QString lastError;
        int retryInMs = -1; // next attempt; -1 (null) when none is scheduled
        QString clusterId;
        int ignoredKeys = 0; // keys under the prefix that are not routes, upstreams or services
        bool operator==(const ControlPlane &o) const;
    };

    struct Counts
    {
        qint64 routes = 0;
        qint64 upstreams = 0;
        qint64 services = 0;
        bool operator==(const Counts &o) const;
        QJsonObject toJson() const; // {"routes": n, "upstreams": n, "services": n}
        static Counts read(JsonReader &reader);
    };

    // Where the live configuration came from. Wire names: null, control_plane, local_copy, file.
    enum class Origin
    {
        None,
        ControlPlane,
        LocalCopy,
        File
    };
    static QString originName(Origin origin); // "" for None

    // Nothing live: revision, sha256 and from are null and counts is {}.
    struct Live
    {
        std::optional<qint64> revision;
        QString sha256;
        Counts counts;
        Origin from = Origin::None;
        bool operator==(const Live &o) const;
    };

    // The persisted generation: the one loaded at start, then each one saved. Standalone: none.
    struct Persisted
    {
        QString file; // "config.json", "config.prev.json"; "" (null) when none
        QString loadedAtStart;
        QStringList attempts; // why newer generations were not loaded at start
        std::optional<qint64> revision;
        QString sha256;
        QDateTime savedAt;
        bool edited = false; // its digest no longer matches: edited by hand
        QString editedKeptAs;
        QString error; // the last write failed; "" (null) when it worked
        QDateTime errorSince;
        int retryInMs = -1; // next write attempt while error is set; -1 (null) otherwise
        bool operator==(const Persisted &o) const;
    };

    struct Rejection
    {
        QString key; // "routes/12"; standalone: the file
        QString reason;
        qint64 revision = 0; // the control plane's revision of the rejected value; 0 (null) when none
        bool operator==(const Rejection &o) const;
        QJsonObject toJson() const;
        static Rejection read(JsonReader &reader);
    };

    State state = State::Starting;
    QDateTime since;
    QString cause; // why the gateway entered `state`
    bool ready = false;
    QString version;
    ControlPlane controlPlane;
    Live live;
    Persisted persisted;
    QList<Rejection> rejected;

    QJsonObject toJson() const;
    // nullopt with *error ("control_plane.retry_in_ms: expected integer or null, got string") when the
    // document is not a status.
    static std::optional<GatewayStatus> fromJson(const QJsonObject &json, QString *error);

    bool operator==(const GatewayStatus &o) const;
    bool operator!=(const GatewayStatus &o) const { return !(*this == o); }
};
