// Writing files so that a crash, a power loss or a full disk never leaves a partial file under its name.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>

#include <functional>

class QFileDevice;

// The portable sequence (write() in durablefile.cpp) over a few platform steps, implemented once per
// platform in durablefile_posix.cpp and durablefile_win.cpp (CMake picks one). Every function returns
// false with *error naming the path and the reason; on failure the target name is untouched.
class DurableFile
{
public:
    // Writes `bytes` to `path` through a temporary file: mode 0600, every byte out (a full disk may take
    // a short write without an error), flushed and synced, then renamed over `path`. `beforeRename` runs
    // when the temporary file is complete (crash tests hook in there). The directory is not synced:
    // call syncDirectory() once the caller's renames are all done.
    static bool write(const QString &path, const QByteArray &bytes, QString *error,
                      const std::function<void()> &beforeRename = {});
    // The same for the concatenation of `parts` (a large file assembled from kept pieces, never joined
    // in memory). When `sha256` is given, it receives the SHA-256 (raw) of the bytes written.
    static bool write(const QString &path, const QList<QByteArrayView> &parts, QString *error,
                      const std::function<void()> &beforeRename = {}, QByteArray *sha256 = nullptr);

    // --- platform steps ---
    static bool removeIfPresent(const QString &path, QString *error);
    // `to` names the same content as `from`: a hard link, or a synced copy where links do not exist.
    static bool link(const QString &from, const QString &to, QString *error);
    // Renames `from` over `to` atomically.
    static bool replace(const QString &from, const QString &to, QString *error);
    // Makes the renames in `dir` durable (a no-op where the file system journals them).
    static bool syncDirectory(const QString &dir, QString *error);
    // Forces the written data of an open file to the disk.
    static bool syncData(QFileDevice &file, QString *error);
};
