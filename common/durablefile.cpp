#include "durablefile.h"

#include "sha256.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSaveFile>

#include <optional>

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
    return write(path, QList<QByteArrayView>{QByteArrayView(bytes)}, error, beforeRename);
}

bool DurableFile::write(const QString &path, const QList<QByteArrayView> &parts, QString *error,
                        const std::function<void()> &beforeRename, QByteArray *sha256)
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
    const auto writeAll = [&file](QByteArrayView bytes) -> qint64 {
        for (qint64 written = 0; written < bytes.size();) {
            const qint64 n = file.write(bytes.data() + written, bytes.size() - written);
            if (n <= 0)
                return n;
            written += n;
        }
        return 1;
    };
    // Small parts (one object each) are gathered into large writes.
    std::optional<Sha256> sha;
    if (sha256)
        sha.emplace();
    QByteArray buffer;
    constexpr qsizetype chunk = 1 << 20;
    buffer.reserve(chunk);
    for (qsizetype i = 0; i <= parts.size(); ++i) {
        const bool last = i == parts.size();
        if (!last && buffer.size() + parts.at(i).size() <= chunk) {
            buffer.append(parts.at(i));
            continue;
        }
        const QByteArrayView out = buffer.isEmpty() && !last ? parts.at(i) : QByteArrayView(buffer);
        if (sha)
            sha->addData(out);
        const qint64 n = writeAll(out);
        if (n <= 0)
            return fail(QStringLiteral("cannot write: %1")
                            .arg(n < 0 ? file.errorString() : QStringLiteral("short write")));
        if (out.data() == buffer.constData()) {
            buffer.resize(0); // keeps the capacity
            if (!last)
                buffer.append(parts.at(i));
        }
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
    if (sha)
        *sha256 = sha->result();
    return true;
}
