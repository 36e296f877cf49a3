#include "winservice.h"

#include <windows.h>

namespace {

// The start-up wait hint covers the control plane wait (3 s by default) and opening the listeners; the
// check point advances every second, so a longer start is still seen as progress.
constexpr DWORD startWaitHintMs = 10000;
constexpr DWORD progressIntervalMs = 1000;

SERVICE_STATUS_HANDLE statusHandle = nullptr;
CRITICAL_SECTION statusLock;
SERVICE_STATUS serviceStatus = {};
HANDLE progressTimer = nullptr;
bool runningAsService = false;
WinService::MainFunction mainFunction = nullptr;
int mainArgc = 0;
char **mainArgv = nullptr;
int mainExitCode = 0;
void (*volatile stopHandler)() = nullptr;

void report(DWORD state, DWORD exitCode, DWORD waitHintMs)
{
    if (!statusHandle)
        return;
    EnterCriticalSection(&statusLock);
    const bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
    serviceStatus.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    serviceStatus.dwCurrentState = state;
    serviceStatus.dwWin32ExitCode = exitCode == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
    serviceStatus.dwServiceSpecificExitCode = exitCode;
    serviceStatus.dwWaitHint = waitHintMs;
    serviceStatus.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN
                                 : 0;
    serviceStatus.dwCheckPoint = pending ? serviceStatus.dwCheckPoint + 1 : 0;
    SetServiceStatus(statusHandle, &serviceStatus);
    LeaveCriticalSection(&statusLock);
}

// Runs on a thread-pool thread: tells the SCM that a pending start or stop is still progressing.
void CALLBACK onProgressTimer(PVOID, BOOLEAN)
{
    EnterCriticalSection(&statusLock);
    if (serviceStatus.dwCurrentState == SERVICE_START_PENDING ||
        serviceStatus.dwCurrentState == SERVICE_STOP_PENDING) {
        ++serviceStatus.dwCheckPoint;
        SetServiceStatus(statusHandle, &serviceStatus);
    }
    LeaveCriticalSection(&statusLock);
}

DWORD WINAPI controlHandler(DWORD control, DWORD, LPVOID, LPVOID)
{
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        // The gateway reports its own drain time once the request reached it; until then this one.
        report(SERVICE_STOP_PENDING, 0, 30000);
        if (auto handler = stopHandler)
            handler();
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI serviceMainEntry(DWORD, LPWSTR *)
{
    statusHandle = RegisterServiceCtrlHandlerExW(WinService::name, controlHandler, nullptr);
    if (!statusHandle)
        return;
    runningAsService = true;
    report(SERVICE_START_PENDING, 0, startWaitHintMs);
    CreateTimerQueueTimer(&progressTimer, nullptr, onProgressTimer, nullptr, progressIntervalMs,
                          progressIntervalMs, WT_EXECUTEDEFAULT);
    mainExitCode = mainFunction(mainArgc, mainArgv);
    if (progressTimer) {
        // Waits for a callback in progress, so none reports after STOPPED.
        DeleteTimerQueueTimer(nullptr, progressTimer, INVALID_HANDLE_VALUE);
        progressTimer = nullptr;
    }
    report(SERVICE_STOPPED, DWORD(mainExitCode), 0);
}

BOOL WINAPI consoleHandler(DWORD event)
{
    switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        if (auto handler = stopHandler) {
            handler();
            return TRUE;
        }
        return FALSE;
    default:
        return FALSE;
    }
}

} // namespace

namespace WinService {

bool runAsService(MainFunction serviceMain, int argc, char **argv, int *exitCode)
{
    InitializeCriticalSection(&statusLock);
    mainFunction = serviceMain;
    mainArgc = argc;
    mainArgv = argv;
    SERVICE_TABLE_ENTRYW table[] = {{const_cast<LPWSTR>(name), serviceMainEntry}, {nullptr, nullptr}};
    // Fails with ERROR_FAILED_SERVICE_CONTROLLER_CONNECT when started from a console.
    if (!StartServiceCtrlDispatcherW(table))
        return false;
    *exitCode = mainExitCode;
    return true;
}

bool isService()
{
    return runningAsService;
}

void setStopHandler(void (*handler)())
{
    stopHandler = handler;
    if (!runningAsService)
        SetConsoleCtrlHandler(consoleHandler, handler ? TRUE : FALSE);
}

void reportRunning()
{
    report(SERVICE_RUNNING, 0, 0);
}

void reportStopPending(unsigned waitHintMs)
{
    report(SERVICE_STOP_PENDING, 0, waitHintMs);
}

} // namespace WinService
