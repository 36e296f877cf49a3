// Writes configuration generations to data_dir on a thread of its own: newest wins, failures retried.
#pragma once

#include "configsnapshot.h"

#include <QDateTime>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QMutex>
#include <QObject>
#include <QWaitCondition>

#include <memory>

class QThread;

// Saving 10k routes (serialising, fsync of the file and the directory) takes long enough to stall the
// event loop that serves the admin API and applies changes, so it happens here. A generation submitted
// while another is being written replaces any still waiting: only the newest reaches disk, which is what
// coalesces a burst of changes. A failed save (disk full, read-only, no permission) leaves the files as
// they were and is retried with backoff until it succeeds or a newer generation replaces it.
class Persister : public QObject
{
    Q_OBJECT

public:
    struct Result
    {
        bool ok = false;
        qint64 revision = 0;
        SnapshotPtr snapshot;
        QByteArray sha256; // when ok: the digest recorded, equal to snapshot->sha256() (which may not be
                           // computed yet: a receiver need not wait for it)
        QJsonObject source;
        QDateTime savedAt;    // when ok
        QString error;        // when not ok
        qint64 latencyMs = 0; // from the oldest unsaved submit() to this result
        int failures = 0;     // consecutive failed attempts, 0 when ok
        int retryInMs = -1;   // the next attempt after a failure, -1 when none is scheduled
        QString editedKeptAs; // a hand-edited file copied aside before this save
    };

    explicit Persister(QString dataDir, QObject *parent = nullptr);
    // Writes what is still waiting (one attempt), then stops the thread.
    ~Persister() override;

    void setRetryBackoff(int initialMs, int maxMs);

    // Thread-safe. The snapshot is immutable, so the thread reads it without a copy.
    void submit(const SnapshotPtr &snapshot, qint64 revision, const QJsonObject &source);

    // Before the next save, copy <data_dir>/<file> to config.edited-<time>.json: it holds an operator's
    // edit that the rotation of generations would otherwise throw away.
    void keepEditedBeforeNextSave(const QString &file);

    // config.json as a load found it valid (ConfigStore::knownGoodFileDigest()): the first save then
    // recognises it by its digest instead of parsing it again (seconds at 100k routes) before keeping it
    // as the previous generation. An empty digest tells nothing.
    void recogniseCurrentFile(const QByteArray &fileDigest);

    // Whether nothing waits to be written (the last attempt may have failed).
    bool idle() const;
    // Blocks until nothing waits or the timeout ends; for shutdown and tests. True when idle.
    bool waitIdle(int timeoutMs);

signals:
    // Emitted from the persister's thread: receivers in other threads get it queued.
    void finished(const Persister::Result &result);

private:
    struct Pending
    {
        SnapshotPtr snapshot;
        qint64 revision = 0;
        QJsonObject source;
    };

    void run();

    QString m_dataDir;
    std::unique_ptr<QThread> m_thread;

    mutable QMutex m_mutex;
    QWaitCondition m_wake;
    QWaitCondition m_idle;
    std::unique_ptr<Pending> m_pending; // newest generation not yet on disk
    bool m_busy = false;                // a save is running outside the lock
    bool m_stop = false;
    QString m_keepEdited;
    QByteArray m_recognise;       // for the store, taken at the next save
    QElapsedTimer m_pendingSince; // started at the first submit() after the last successful save
    QDeadlineTimer m_retryAt{QDeadlineTimer::Forever};
    int m_failures = 0;
    int m_backoffInitialMs = 250;
    int m_backoffMaxMs = 5000;
};

Q_DECLARE_METATYPE(Persister::Result)
