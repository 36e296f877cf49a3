#include "filesource.h"

#include "configstore.h"

#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcFileSource, "holdfast.sync.file")

FileSource::FileSource(QString path, QObject *parent)
    : ConfigSource(parent)
    , m_path(QFileInfo(path).absoluteFilePath())
{
    m_settle.setSingleShot(true);
    m_settle.setInterval(100);
    connect(&m_settle, &QTimer::timeout, this, [this] {
        watch();
        reload();
    });
    // Editors often replace the file by renaming over it, which drops the file from the watch list:
    // watching the directory too catches that.
    connect(&m_watcher, &QFileSystemWatcher::fileChanged, &m_settle, qOverload<>(&QTimer::start));
    connect(&m_watcher, &QFileSystemWatcher::directoryChanged, &m_settle, qOverload<>(&QTimer::start));
}

void FileSource::start()
{
    m_started = true;
    watch();
    reload();
}

ResyncAnswer FileSource::requestResync()
{
    if (reload())
        return {true, QStringLiteral("re-read %1").arg(m_path)};
    return {false, QStringLiteral("%1 is not valid; see status.rejected").arg(m_path)};
}

SourceStatus FileSource::status() const
{
    SourceStatus status;
    status.connected = m_started;
    return status;
}

QString FileSource::describe() const
{
    return QStringLiteral("file %1").arg(m_path);
}

void FileSource::watch()
{
    const QString dir = QFileInfo(m_path).absolutePath();
    if (!m_watcher.directories().contains(dir))
        m_watcher.addPath(dir);
    if (QFileInfo::exists(m_path) && !m_watcher.files().contains(m_path))
        m_watcher.addPath(m_path);
}

bool FileSource::reload()
{
    QFile file(m_path);
    QStringList errors;
    std::optional<PersistedConfig> config;
    if (!file.open(QIODevice::ReadOnly))
        errors.append(QStringLiteral("%1: %2").arg(m_path, file.errorString()));
    else
        config = ConfigStore::parse(file.readAll(), &errors);

    if (!config) {
        qCWarning(lcFileSource).noquote()
            << m_path << "is not valid; still serving the previous configuration:";
        for (const QString &e : std::as_const(errors))
            qCWarning(lcFileSource).noquote() << "  " << e;
        emit configurationRejected(errors);
        return false;
    }
    if (config->snapshot->sha256() == m_lastDigest)
        return true;
    m_lastDigest = config->snapshot->sha256();
    // A persisted envelope carries its revision; a bare config file counts its own generations.
    const qint64 revision = config->revision > 0 ? config->revision : ++m_generation;
    qCInfo(lcFileSource).noquote() << "loaded" << m_path
                                   << QStringLiteral("(%1 routes, %2 upstreams, %3 services, sha256 %4)")
                                          .arg(config->snapshot->routes().size())
                                          .arg(config->snapshot->upstreams().size())
                                          .arg(config->snapshot->services().size())
                                          .arg(QString::fromLatin1(config->snapshot->sha256().left(12)));
    emit configurationReady(config->snapshot, revision);
    return true;
}
