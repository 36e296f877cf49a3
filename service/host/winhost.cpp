#include "winhost.h"

#include "windatadir.h"
#include "wineventlog.h"
#include "winservice.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QMetaObject>
#include <QPointer>

#include <cstdio>
#include <cstring>
#include <vector>
#include <windows.h>

Q_LOGGING_CATEGORY(lcHost, "holdfast.host")

namespace {

QPointer<WinHost> instance;
int (*programMain)(int, char **) = nullptr;
QtMessageHandler previousHandler = nullptr;

// Drain time of the proxy (ProxyServer::stop's grace) plus the time to close the rest.
constexpr unsigned stopWaitHintMs = 35000;

const wchar_t *wide(const QString &text)
{
    return reinterpret_cast<const wchar_t *>(text.utf16());
}

// Runs on a thread of the SCM or of the console: only hand the request to the event loop.
void onStopRequested()
{
    if (WinHost *host = instance.data())
        QMetaObject::invokeMethod(host, &PlatformHost::stopRequested, Qt::QueuedConnection);
}

// A service has no console: what the gateway logs (start, state changes, warnings, errors) goes to the
// event log as well as to the debugger output Qt uses without a console.
void logToEventLog(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type != QtDebugMsg) {
        const bool named = context.category && std::strcmp(context.category, "default") != 0;
        const QString text =
            named ? QStringLiteral("%1: %2").arg(QLatin1String(context.category), message) : message;
        WinEventLog::report(type == QtInfoMsg      ? WinEventLog::Type::Information
                            : type == QtWarningMsg ? WinEventLog::Type::Warning
                                                   : WinEventLog::Type::Error,
                            wide(text));
    }
    if (previousHandler)
        previousHandler(type, context, message);
}

int runService(int argc, char **argv)
{
    previousHandler = qInstallMessageHandler(logToEventLog);
    WinEventLog::report(WinEventLog::Type::Information, L"holdfastd service starting");
    const int exitCode = programMain(argc, argv);
    const QString text = QStringLiteral("holdfastd service stopped (exit code %1)").arg(exitCode);
    WinEventLog::report(exitCode == 0 ? WinEventLog::Type::Information : WinEventLog::Type::Error,
                        wide(text));
    qInstallMessageHandler(previousHandler);
    return exitCode;
}

} // namespace

std::unique_ptr<PlatformHost> PlatformHost::create(QObject *parent)
{
    return std::make_unique<WinHost>(parent);
}

int PlatformHost::runMain(int argc, char **argv, int (*serviceMain)(int, char **))
{
    programMain = serviceMain;
    std::vector<char *> args(argv, argv + argc);
    bool console = false;
    for (auto it = args.begin(); it != args.end();) {
        if (std::strcmp(*it, "--console") == 0) {
            console = true;
            it = args.erase(it);
        } else {
            ++it;
        }
    }
    args.push_back(nullptr);
    const int count = int(args.size()) - 1;
    if (console) {
        // Started from Explorer or a shortcut there is no console yet: open one to log into.
        if (!GetConsoleWindow() && AllocConsole()) {
            std::freopen("CONOUT$", "w", stdout);
            std::freopen("CONOUT$", "w", stderr);
        }
        return serviceMain(count, args.data());
    }
    int exitCode = 0;
    if (WinService::runAsService(runService, count, args.data(), &exitCode))
        return exitCode;
    return serviceMain(count, args.data());
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

bool WinHost::prepareDataDir(const QString &dir, QString *error)
{
    const QString native = QDir::toNativeSeparators(QDir::cleanPath(QDir(dir).absolutePath()));
    const QString parent = QFileInfo(native).absolutePath();
    if (!QDir().mkpath(parent)) {
        *error = QStringLiteral("cannot create %1").arg(parent);
        return false;
    }
    // Under the SCM: SYSTEM and the Administrators only, and a folder made by someone else (the
    // installer, an older version) gets the same. From a console: the user running it too, and an
    // existing folder is left as its owner made it.
    const bool service = WinService::isService();
    std::wstring message;
    if (!WinDataDir::create(native.toStdWString(), service ? std::wstring() : WinDataDir::currentUserSid(),
                            service, &message)) {
        *error = QStringLiteral("data_dir: %1").arg(QString::fromStdWString(message));
        return false;
    }
    return true;
}

void WinHost::notifyReady()
{
    // Also called after a reload: the SCM hears "running" once.
    if (m_running)
        return;
    m_running = true;
    WinService::reportRunning();
    qCInfo(lcHost, "running");
}

void WinHost::notifyStopping()
{
    WinService::reportStopPending(stopWaitHintMs);
    qCInfo(lcHost, "stopping: draining connections");
}

void WinHost::notifyStatus(const QString &)
{
    // The change was logged where it happened, and the log reaches the event log; the SCM has no place
    // for a status text.
}
