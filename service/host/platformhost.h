// What the operating system's service manager sees of holdfastd: readiness, and stop/reload requests.
#pragma once

#include <QObject>

#include <memory>

class PlatformHost : public QObject
{
    Q_OBJECT

public:
    // The implementation for this platform (CMake picks the file): POSIX signals and systemd's notify
    // socket on Linux, the console control handler on Windows.
    static std::unique_ptr<PlatformHost> create(QObject *parent = nullptr);

    // Runs the program's main: directly on POSIX; under the Service Control Manager on Windows when
    // the SCM started the process.
    static int runMain(int argc, char **argv, int (*serviceMain)(int, char **));

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
