// DurableFile's platform steps on POSIX: link(2), rename(2), fsync(2) of the file and of its directory.
#include "durablefile.h"

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

QString errnoString(int e)
{
    return QString::fromLocal8Bit(std::strerror(e));
}

} // namespace

bool DurableFile::removeIfPresent(const QString &path, QString *error)
{
    // lstat first: on a read-only file system unlink() fails with EROFS even for a missing name.
    struct stat st;
    const QByteArray name = QFile::encodeName(path);
    if ((::lstat(name.constData(), &st) != 0 && errno == ENOENT) || ::unlink(name.constData()) == 0 ||
        errno == ENOENT)
        return true;
    *error = QStringLiteral("%1: cannot remove: %2").arg(path, errnoString(errno));
    return false;
}

bool DurableFile::link(const QString &from, const QString &to, QString *error)
{
    if (::link(QFile::encodeName(from).constData(), QFile::encodeName(to).constData()) == 0)
        return true;
    const int linkErrno = errno;
    // File systems without hard links (vfat, some network mounts): a synced copy does the same job.
    if (linkErrno == EPERM || linkErrno == EOPNOTSUPP || linkErrno == ENOTSUP || linkErrno == EMLINK ||
        linkErrno == EXDEV) {
        QFile in(from);
        QFile out(to);
        if (in.open(QIODevice::ReadOnly) && out.open(QIODevice::WriteOnly | QIODevice::NewOnly)) {
            const QByteArray bytes = in.readAll();
            if (in.error() == QFileDevice::NoError && out.write(bytes) == bytes.size() && out.flush() &&
                ::fsync(out.handle()) == 0 && out.setPermissions(QFile::ReadOwner | QFile::WriteOwner))
                return true;
            out.remove();
        }
    }
    *error = QStringLiteral("%1: cannot create (a link to %2): %3").arg(to, from, errnoString(linkErrno));
    return false;
}

bool DurableFile::replace(const QString &from, const QString &to, QString *error)
{
    if (::rename(QFile::encodeName(from).constData(), QFile::encodeName(to).constData()) == 0)
        return true;
    *error = QStringLiteral("%1: cannot rename to %2: %3").arg(from, to, errnoString(errno));
    return false;
}

// A rename is durable only once the directory holding it is; QSaveFile syncs the file, not the directory.
bool DurableFile::syncDirectory(const QString &dir, QString *error)
{
    const int fd = ::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *error = QStringLiteral("%1: cannot open to sync: %2").arg(dir, errnoString(errno));
        return false;
    }
    const bool ok = ::fsync(fd) == 0;
    const int syncErrno = errno;
    ::close(fd);
    if (!ok)
        *error = QStringLiteral("%1: cannot sync: %2").arg(dir, errnoString(syncErrno));
    return ok;
}

bool DurableFile::syncData(QFileDevice &file, QString *error)
{
    if (::fsync(file.handle()) == 0)
        return true;
    *error = errnoString(errno);
    return false;
}
