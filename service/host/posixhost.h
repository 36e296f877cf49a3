// PlatformHost on POSIX: signals become Qt events through a socket pair; readiness and watchdog pings go
// to systemd.
#pragma once

#include "platformhost.h"

class QSocketNotifier;
class QTimer;

class PosixHost : public PlatformHost
{
    Q_OBJECT

public:
    explicit PosixHost(QObject *parent = nullptr);
    ~PosixHost() override;

    bool prepareDataDir(const QString &dir, QString *error) override;
    void notifyReady() override;
    void notifyReloading() override;
    void notifyStopping() override;
    void notifyStatus(const QString &status) override;

private:
    void onSignal();
    // sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, when systemd set it.
    void sdNotify(const QByteArray &state);

    QSocketNotifier *m_notifier = nullptr;
    QTimer *m_watchdog = nullptr;
};
