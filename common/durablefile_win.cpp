// DurableFile's platform steps on Windows: MoveFileExW with write-through; copies stand in for links.
#include "durablefile.h"

#include <QDir>
#include <QFile>
#include <qt_windows.h>

namespace {

QString lastErrorString()
{
    return qt_error_string(int(GetLastError()));
}

} // namespace

bool DurableFile::removeIfPresent(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.exists() || file.remove())
        return true;
    *error = QStringLiteral("%1: cannot remove: %2").arg(path, file.errorString());
    return false;
}

// No hard links here: a copy (then renamed into place) plays the same role.
bool DurableFile::link(const QString &from, const QString &to, QString *error)
{
    if (QFile::copy(from, to))
        return true;
    *error = QStringLiteral("%1: cannot copy to %2").arg(from, to);
    return false;
}

bool DurableFile::replace(const QString &from, const QString &to, QString *error)
{
    if (MoveFileExW(reinterpret_cast<const wchar_t *>(QDir::toNativeSeparators(from).utf16()),
                    reinterpret_cast<const wchar_t *>(QDir::toNativeSeparators(to).utf16()),
                    MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return true;
    *error = QStringLiteral("%1: cannot rename to %2: %3").arg(from, to, lastErrorString());
    return false;
}

bool DurableFile::syncDirectory(const QString &, QString *)
{
    return true; // NTFS journals the rename; MOVEFILE_WRITE_THROUGH and the flushed file cover the data
}

bool DurableFile::syncData(QFileDevice &, QString *)
{
    // QSaveFile::commit() calls FlushFileBuffers before it renames (it ignores a failure, as fsync's on
    // POSIX, but there is no other handle-level sync to add here).
    return true;
}
