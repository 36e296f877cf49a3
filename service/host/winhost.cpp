#include "winhost.h"

#include "winservice.h"

#include <QLoggingCategory>
#include <QMetaObject>
#include <QPointer>

Q_LOGGING_CATEGORY(lcHost, "holdfast.host")

namespace {

QPointer<WinHost> instance;

// Runs on a thread of the SCM or of the console: only hand the request to the event loop.
void onStopRequested()
{
    if (WinHost *host = instance.data())
        QMetaObject::invokeMethod(host, &PlatformHost::stopRequested, Qt::QueuedConnection);
}

} // namespace

std::unique_ptr<PlatformHost> PlatformHost::create(QObject *parent)
{
    return std::make_unique<WinHost>(parent);
}

int PlatformHost::runMain(int argc, char **argv, int (*serviceMain)(int, char **))
{
    int exitCode = 0;
    if (WinService::runAsService(L"Holdfast", serviceMain, argc, argv, &exitCode))
        return exitCode;
    return serviceMain(argc, argv);
}

WinHost::WinHost(QObject *parent)
    : PlatformHost(parent)
{
    instance = this;
    WinService::setStopHandler(onStopRequested);
}

WinHost::~WinHost()
{
    WinService::setStopHandler(nullptr);
}

void WinHost::notifyReady()
{
    WinService::reportRunning();
}

void WinHost::notifyStopping()
{
    WinService::reportStopPending(30000);
}

void WinHost::notifyStatus(const QString &status)
{
    qCInfo(lcHost).noquote() << status;
}
