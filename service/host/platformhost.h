// What the operating system's service manager sees of holdfastd: readiness, and stop/reload requests.
#pragma once

#include <QObject>

#include <memory>

class PlatformHost : public QObject
{
    Q_OBJECT

public:
    // The implementation for this platform (CMake picks the file): POSIX signals and systemd's notify
    // socket on Linux, the Service Control Manager or the console control handler on Windows.
    static std::unique_ptr<PlatformHost> create(QObject *parent = nullptr);

    // Runs the program's main: directly on POSIX; under the Service Control Manager on Windows when
    // the SCM started the process (`holdfastd.exe --console` runs in a console window instead).
    static int runMain(int argc, char **argv, int (*serviceMain)(int, char **));

    // Creates the data directory (if missing) so that only the service's own account and the
    // administrators can read it: it holds the admin token and the configuration. False with *error.
    virtual bool prepareDataDir(const QString &dir, QString *error) = 0;

    virtual void notifyReady() = 0;
    virtual void notifyReloading() = 0;
    virtual void notifyStopping() = 0;
    virtual void notifyStatus(const QString &status) = 0;

signals:
    void stopRequested();   // SIGTERM, SIGINT, a service stop
    void reloadRequested(); // SIGHUP

protected:
    using QObject::QObject;
};
