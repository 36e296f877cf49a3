#include "persister.h"

#include "configstore.h"

#include <QLoggingCategory>
#include <QMutexLocker>
#include <QThread>

#include <utility>

Q_LOGGING_CATEGORY(lcPersist, "holdfast.sync.persist")

Persister::Persister(QString dataDir, QObject *parent)
    : QObject(parent)
    , m_dataDir(std::move(dataDir))
{
    m_thread.reset(QThread::create([this] { run(); }));
    m_thread->setObjectName(QStringLiteral("holdfast-persist"));
    m_thread->start();
}

Persister::~Persister()
{
    {
        QMutexLocker lock(&m_mutex);
        m_stop = true;
        m_wake.wakeAll();
    }
    m_thread->wait();
}

void Persister::setRetryBackoff(int initialMs, int maxMs)
{
    QMutexLocker lock(&m_mutex);
    m_backoffInitialMs = qMax(1, initialMs);
    m_backoffMaxMs = qMax(m_backoffInitialMs, maxMs);
}

void Persister::submit(const SnapshotPtr &snapshot, qint64 revision, const QJsonObject &source)
{
    QMutexLocker lock(&m_mutex);
    if (!m_pending) {
        m_pending = std::make_unique<Pending>();
        m_pendingSince.start();
    }
    m_pending->snapshot = snapshot;
    m_pending->revision = revision;
    m_pending->source = source;
    m_wake.wakeAll();
}

void Persister::keepEditedBeforeNextSave(const QString &file)
{
    QMutexLocker lock(&m_mutex);
    m_keepEdited = file;
}

void Persister::recogniseCurrentFile(const QByteArray &fileDigest)
{
    QMutexLocker lock(&m_mutex);
    m_recognise = fileDigest;
}

bool Persister::idle() const
{
    QMutexLocker lock(&m_mutex);
    return !m_pending && !m_busy;
}

bool Persister::waitIdle(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    QMutexLocker lock(&m_mutex);
    while (m_pending || m_busy) {
        if (!m_idle.wait(&m_mutex, deadline))
            break;
    }
    return !m_pending && !m_busy;
}

void Persister::run()
{
    ConfigStore store(m_dataDir);
    QMutexLocker lock(&m_mutex);
    for (;;) {
        if (!m_pending) {
            m_idle.wakeAll();
            if (m_stop)
                break;
            m_wake.wait(&m_mutex);
            continue;
        }
        // After a failure the disk gets time to recover; newer generations wait with the retry.
        if (!m_stop && m_failures > 0 && !m_retryAt.hasExpired()) {
            m_wake.wait(&m_mutex, m_retryAt);
            continue;
        }

        const Pending job = std::move(*m_pending);
        m_pending.reset();
        const QString keepEdited = m_keepEdited;
        if (!m_recognise.isEmpty())
            store.setKnownGoodFileDigest(std::exchange(m_recognise, {}));
        m_busy = true;
        lock.unlock();

        Result result;
        result.revision = job.revision;
        result.snapshot = job.snapshot;
        result.source = job.source;
        QString error;
        bool ok = true;
        if (!keepEdited.isEmpty())
            ok = store.keepEdited(keepEdited, &result.editedKeptAs, &error);
        if (ok)
            ok = store.save(*job.snapshot, job.revision, job.source, &error);
        const QDateTime finishedAt = QDateTime::currentDateTimeUtc();

        lock.relock();
        m_busy = false;
        result.ok = ok;
        result.latencyMs = m_pendingSince.isValid() ? m_pendingSince.elapsed() : 0;
        if (ok) {
            if (m_keepEdited == keepEdited)
                m_keepEdited.clear();
            result.savedAt = finishedAt;
            result.sha256 = store.savedSha256();
            m_failures = 0;
            m_retryAt = QDeadlineTimer(QDeadlineTimer::Forever);
            // A generation that came during this save waits from its own submit() on.
            if (m_pending)
                m_pendingSince.start();
            else
                m_pendingSince.invalidate();
        } else {
            result.error = error;
            result.failures = ++m_failures;
            if (m_stop) {
                m_pending.reset(); // shutting down: one last attempt only
            } else {
                const int shift = qMin(m_failures - 1, 16);
                const int backoff = int(qMin<qint64>(qint64(m_backoffInitialMs) << shift, m_backoffMaxMs));
                m_retryAt = QDeadlineTimer(backoff);
                result.retryInMs = backoff;
                if (!m_pending)
                    m_pending = std::make_unique<Pending>(job);
            }
        }
        lock.unlock();
        if (ok)
            qCDebug(lcPersist).noquote()
                << "revision" << job.revision << "on disk after" << result.latencyMs << "ms";
        else
            qCWarning(lcPersist).noquote()
                << "revision" << job.revision << "not saved (attempt" << result.failures << "):" << error
                << (result.retryInMs >= 0 ? QStringLiteral("; retrying in %1 ms").arg(result.retryInMs)
                                          : QString());
        emit finished(result);
        lock.relock();
    }
}
