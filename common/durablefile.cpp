#include "durablefile.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSaveFile>

namespace {

// QSaveFile writes to "<name>.XXXXXX" beside the target where the system has no unnamed temporary files
// (Windows; Linux uses O_TMPFILE): a process killed before the rename leaves that file behind, and each
// such crash would add one. Only this process writes the target, so any such file is a dead one.
void removeAbandonedTemporaries(const QString &path)
{
    const QFileInfo target(path);
    const QRegularExpression pattern(
        QStringLiteral("^%1\\.[A-Za-z0-9]{6}$").arg(QRegularExpression::escape(target.fileName())));
    QDir dir = target.absoluteDir();
    const QStringList names = dir.entryList(QDir::Files | QDir::Hidden | QDir::System);
    for (const QString &name : names) {
        if (pattern.match(name).hasMatch())
            dir.remove(name);
    }
}

} // namespace

bool DurableFile::write(const QString &path, const QByteArray &bytes, QString *error,
                        const std::function<void()> &beforeRename)
{
    removeAbandonedTemporaries(path);
    QSaveFile file(path);
    const auto fail = [&](const QString &why) {
        *error = QStringLiteral("%1: %2").arg(path, why);
        file.cancelWriting();
        return false;
    };
    if (!file.open(QIODevice::WriteOnly))
        return fail(QStringLiteral("cannot write: %1").arg(file.errorString()));
    if (!file.setPermissions(QFile::ReadOwner | QFile::WriteOwner))
        return fail(QStringLiteral("cannot set mode 0600: %1").arg(file.errorString()));
    // write() may stop short when the disk fills (it reports the bytes that fitted, with no error), and
    // QSaveFile would then commit a truncated file: keep writing until it is all out or the error shows.
    for (qint64 written = 0; written < bytes.size();) {
        const qint64 n = file.write(bytes.constData() + written, bytes.size() - written);
        if (n <= 0)
            return fail(QStringLiteral("cannot write: %1")
                            .arg(n < 0 ? file.errorString() : QStringLiteral("short write")));
        written += n;
    }
    // QSaveFile::commit() (Qt 6.4) renames the temporary file even when flushing its buffer failed, and it
    // ignores a failed fsync: a full disk would then replace a good file with an empty or truncated one.
    // Flushing and syncing here first lets such a failure cancel the write instead.
    if (!file.flush())
        return fail(QStringLiteral("cannot write: %1").arg(file.errorString()));
    QString syncError;
    if (!syncData(file, &syncError))
        return fail(QStringLiteral("cannot write: %1").arg(syncError));
    if (beforeRename)
        beforeRename();
    if (!file.commit()) {
        *error = QStringLiteral("%1: cannot commit: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}
