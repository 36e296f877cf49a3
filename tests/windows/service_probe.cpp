// service_probe: holdfastd's Windows service layer (WinService, WinEventLog, WinDataDir) with a stand-in
// for the gateway, so that scripts/windows/check-service.sh can prove the SCM states, the event log, the
// data folder's ACL and the MSI under Wine without Qt. Built by that script with MinGW, statically.
//
//   holdfastd.exe --config C:\ProgramData\Holdfast\holdfastd.json     (as the MSI installs the service)
//
// Like holdfastd it starts pending (here for 4 s, so a start is long enough to watch), creates
// <settings folder>\data with the service's ACL and writes that ACL to data\acl.txt, runs until the SCM
// stops it, then drains (3 s) while stop-pending.
#include "windatadir.h"
#include "wineventlog.h"
#include "winservice.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <windows.h>

namespace {

HANDLE stopEvent = nullptr;

void onStop()
{
    SetEvent(stopEvent);
}

std::wstring settingsFolder(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--config") == 0) {
            std::string path = argv[i + 1];
            const size_t slash = path.find_last_of("\\/");
            path = slash == std::string::npos ? std::string(".") : path.substr(0, slash);
            return std::wstring(path.begin(), path.end());
        }
    }
    return L".";
}

int probeMain(int argc, char **argv)
{
    WinEventLog::report(WinEventLog::Type::Information, L"service_probe: starting");
    WinService::setStopHandler(onStop);
    const std::wstring data = settingsFolder(argc, argv) + L"\\data";
    std::wstring error;
    if (!WinDataDir::create(data, std::wstring(), WinService::isService(), &error)) {
        WinEventLog::report(WinEventLog::Type::Error, (L"service_probe: " + error).c_str());
        return 3;
    }
    if (FILE *out = _wfopen((data + L"\\acl.txt").c_str(), L"w")) {
        std::fputws(WinDataDir::daclOf(data).c_str(), out);
        std::fclose(out);
    }
    Sleep(4000); // "opening the listeners": the SCM sees START_PENDING with advancing check points
    WinService::reportRunning();
    WinEventLog::report(WinEventLog::Type::Information, L"service_probe: running");
    WaitForSingleObject(stopEvent, INFINITE);
    WinService::reportStopPending(35000);
    WinEventLog::report(WinEventLog::Type::Warning, L"service_probe: stopping: draining");
    Sleep(3000); // "draining": STOP_PENDING with advancing check points
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    stopEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    int exitCode = 0;
    if (WinService::runAsService(probeMain, argc, argv, &exitCode)) {
        WinEventLog::report(WinEventLog::Type::Information, L"service_probe: stopped (exit code 0)");
        return exitCode;
    }
    std::puts("service_probe: not started by the SCM");
    return 2;
}
