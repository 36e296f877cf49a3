#include "winservice.h"

#include <windows.h>

namespace {

SERVICE_STATUS_HANDLE statusHandle = nullptr;
SERVICE_STATUS serviceStatus = {};
WinService::MainFunction mainFunction = nullptr;
int mainArgc = 0;
char **mainArgv = nullptr;
int mainExitCode = 0;
void (*stopHandler)() = nullptr;
const wchar_t *serviceName = L"";

void report(DWORD state, DWORD exitCode, DWORD waitHintMs)
{
    if (!statusHandle)
        return;
    static DWORD checkPoint = 1;
    serviceStatus.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    serviceStatus.dwCurrentState = state;
    serviceStatus.dwWin32ExitCode = exitCode == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
    serviceStatus.dwServiceSpecificExitCode = exitCode;
    serviceStatus.dwWaitHint = waitHintMs;
    serviceStatus.dwControlsAccepted =
        state == SERVICE_START_PENDING ? 0 : SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN;
    serviceStatus.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : checkPoint++;
    SetServiceStatus(statusHandle, &serviceStatus);
}

DWORD WINAPI controlHandler(DWORD control, DWORD, LPVOID, LPVOID)
{
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        report(SERVICE_STOP_PENDING, 0, 30000);
        if (stopHandler)
            stopHandler();
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI serviceMainEntry(DWORD, LPWSTR *)
{
    statusHandle = RegisterServiceCtrlHandlerExW(serviceName, controlHandler, nullptr);
    if (!statusHandle)
        return;
    report(SERVICE_START_PENDING, 0, 10000);
    mainExitCode = mainFunction(mainArgc, mainArgv);
    report(SERVICE_STOPPED, DWORD(mainExitCode), 0);
}

BOOL WINAPI consoleHandler(DWORD event)
{
    switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        if (stopHandler) {
            stopHandler();
            return TRUE;
        }
        return FALSE;
    default:
        return FALSE;
    }
}

} // namespace

namespace WinService {

bool runAsService(const wchar_t *name, MainFunction serviceMain, int argc, char **argv, int *exitCode)
{
    serviceName = name;
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

void setStopHandler(void (*handler)())
{
    stopHandler = handler;
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
