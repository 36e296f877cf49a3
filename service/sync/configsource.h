// Where configuration comes from (a file, a control plane): the sync side sees only this interface.
#pragma once

#include "configsnapshot.h"

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QStringList>

// One object under the control plane's prefix, by its key relative to the prefix ("routes/12").
struct SourceObject
{
    QString key;
    QByteArray value; // the stored bytes, APISIX-format JSON
    qint64 modRevision = 0;
};

struct SourceEvent
{
    enum class Type
    {
        Put,
        Delete
    };
    Type type = Type::Put;
    QString key;
    QByteArray value; // empty for Delete
    qint64 modRevision = 0;
};

// How the source sees its control plane, for status and logs.
struct SourceStatus
{
    bool connected = false;
    QString endpoint;   // the endpoint in use or last tried
    QDateTime lastOk;   // last answer from the control plane
    QString lastError;  // "" when none since the last success
    int retryInMs = -1; // next attempt, -1 when connected or not scheduled
    QString clusterId;
};

// The answer to an operator's resync: whether the source took it, and what it did, for the admin API.
struct ResyncAnswer
{
    bool accepted = false;
    QString message;
};

class ConfigSource : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    virtual void start() = 0;
    virtual QString describe() const = 0; // for logs and status: "file /etc/holdfast/routes.json"
    // Read everything again (an operator's POST /v1/resync, SIGHUP in standalone mode, a source that
    // lost its place). A control plane answers later through snapshotLoaded; a file is re-read at once.
    virtual ResyncAnswer requestResync() = 0;
    virtual SourceStatus status() const = 0;

signals:
    // --- Object sources (a control plane) ---
    // A full sync begins (after connecting, and again whenever the source cannot trust its history:
    // compaction, a new cluster, a revision that went backwards): every part sent before is void.
    void snapshotStarted();
    // Objects of the full sync in progress, read at `revision`, sent as they arrive so that the caller
    // can parse them while the rest is still being read. They count only when snapshotLoaded follows
    // at the same revision without a snapshotStarted in between.
    void snapshotPart(qint64 revision, const QList<SourceObject> &objects);
    // The full sync is complete: the parts since snapshotStarted and `objects` are everything under the
    // prefix at `revision`; an object in none of them no longer exists.
    void snapshotLoaded(qint64 revision, const QList<SourceObject> &objects);
    // Changes after the last snapshot or batch, in order, up to `revision`.
    void changesArrived(qint64 revision, const QList<SourceEvent> &events);
    void statusChanged(const SourceStatus &status);

    // --- Whole-configuration sources (standalone file) ---
    // A complete, valid configuration to serve from now on.
    void configurationReady(const SnapshotPtr &snapshot, qint64 revision);
    // The source holds content that cannot be served; what is live stays live.
    void configurationRejected(const QStringList &errors);
};
