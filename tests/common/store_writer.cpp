// Test helper for tst_configstore: saves one generation from a child process, so that the test can kill
// it at a given step of the save or limit the size of the files it may write.
//
// store_writer <data_dir> <config_file> <revision> [--crash-at <step>] [--max-file-size <bytes>]
// Exit 0: saved; 1: save failed (the error on stdout); 2: bad usage or config. --crash-at kills itself
// (SIGKILL; TerminateProcess on Windows) when save() reaches that SaveStep (its number).
#include "configstore.h"

#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QStringList>

#include <cstdio>

#ifdef Q_OS_UNIX
#include <csignal>
#include <sys/resource.h>
#endif

#ifdef Q_OS_WIN
// TerminateProcess on ourselves, the Windows counterpart of SIGKILL (store_writer_win.cpp).
[[noreturn]] void terminateAtOnce();
#endif

namespace {

int usage(const QString &why)
{
    std::fprintf(stderr, "store_writer: %s\n", qPrintable(why));
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 4)
        return usage(QStringLiteral("usage: store_writer DATA_DIR CONFIG_FILE REVISION [--crash-at STEP] "
                                    "[--max-file-size BYTES]"));
    const QString dataDir = args.at(1);
    bool ok = false;
    const qint64 revision = args.at(3).toLongLong(&ok);
    if (!ok)
        return usage(QStringLiteral("bad revision %1").arg(args.at(3)));

    int crashAt = -1;
    qint64 maxFileSize = -1;
    for (int i = 4; i + 1 < args.size(); i += 2) {
        if (args.at(i) == QLatin1String("--crash-at"))
            crashAt = args.at(i + 1).toInt();
        else if (args.at(i) == QLatin1String("--max-file-size"))
            maxFileSize = args.at(i + 1).toLongLong();
        else
            return usage(QStringLiteral("unknown option %1").arg(args.at(i)));
    }

    QFile configFile(args.at(2));
    if (!configFile.open(QIODevice::ReadOnly))
        return usage(QStringLiteral("%1: %2").arg(configFile.fileName(), configFile.errorString()));
    ValidationErrors errors;
    const SnapshotPtr snapshot =
        ConfigSnapshot::fromJson(QJsonDocument::fromJson(configFile.readAll()).object(), &errors);
    if (!snapshot)
        return usage(QStringLiteral("invalid config: %1")
                         .arg(errors.isEmpty() ? QString() : errors.first().toString()));

    // The same order as holdfastd: load what is on disk, then save over it.
    ConfigStore store(dataDir);
    store.load();

#ifdef Q_OS_UNIX
    if (maxFileSize >= 0) {
        // Without ignoring SIGXFSZ the kernel would kill us; ignored, write() fails with EFBIG instead,
        // which is what a full disk looks like to the store.
        std::signal(SIGXFSZ, SIG_IGN);
        const struct rlimit limit = {rlim_t(maxFileSize), rlim_t(maxFileSize)};
        if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
            return usage(QStringLiteral("setrlimit failed"));
    }
    if (crashAt >= 0) {
        store.setStepHook([crashAt](ConfigStore::SaveStep step) {
            if (int(step) == crashAt)
                std::raise(SIGKILL);
        });
    }
#else
    if (maxFileSize >= 0)
        return usage(QStringLiteral("--max-file-size needs POSIX"));
    if (crashAt >= 0) {
        store.setStepHook([crashAt](ConfigStore::SaveStep step) {
            if (int(step) == crashAt)
                terminateAtOnce();
        });
    }
#endif

    QString error;
    if (!store.save(*snapshot, revision, QJsonObject{{QStringLiteral("type"), QStringLiteral("test")}},
                    &error)) {
        std::printf("%s\n", qPrintable(error));
        return 1;
    }
    return 0;
}
