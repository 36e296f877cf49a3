// PlatformHost on Windows: stop requests from the Service Control Manager or the console, states reported
// back to the SCM (through WinService), the log to the event log, and the data folder's ACL.
#pragma once

#include "platformhost.h"

class WinHost : public PlatformHost
{
    Q_OBJECT

public:
    explicit WinHost(QObject *parent = nullptr);
    ~WinHost() override;

    bool prepareDataDir(const QString &dir, QString *error) override;
    void notifyReady() override;
    void notifyReloading() override {}
    void notifyStopping() override;
    void notifyStatus(const QString &status) override;

private:
    bool m_running = false;
};
