// PlatformHost on Windows: stop requests from the Service Control Manager or the console, and states
// reported back to the SCM (through WinService).
#pragma once

#include "platformhost.h"

class WinHost : public PlatformHost
{
    Q_OBJECT

public:
    explicit WinHost(QObject *parent = nullptr);
    ~WinHost() override;

    void notifyReady() override;
    void notifyReloading() override {}
    void notifyStopping() override;
    void notifyStatus(const QString &status) override;
};
