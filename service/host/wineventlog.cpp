#include "wineventlog.h"

#include "winservice.h"

#include <windows.h>

namespace {

// Message ids of holdfastd.mc with their severity bits (the top two bits of an event id).
constexpr DWORD eventInfo = 0x40000001;
constexpr DWORD eventWarning = 0x80000002;
constexpr DWORD eventError = 0xC0000003;

HANDLE openSource()
{
    // Opened once and kept for the process: RegisterEventSource is cheap but not free, and an event
    // may be reported from any thread.
    static HANDLE source = RegisterEventSourceW(nullptr, WinService::name);
    return source;
}

} // namespace

namespace WinEventLog {

void report(Type type, const wchar_t *text)
{
    HANDLE source = openSource();
    if (!source)
        return;
    WORD eventType = EVENTLOG_INFORMATION_TYPE;
    DWORD id = eventInfo;
    if (type == Type::Warning) {
        eventType = EVENTLOG_WARNING_TYPE;
        id = eventWarning;
    } else if (type == Type::Error) {
        eventType = EVENTLOG_ERROR_TYPE;
        id = eventError;
    }
    LPCWSTR strings[] = {text};
    ReportEventW(source, eventType, 0, id, nullptr, 1, 0, strings, nullptr);
}

} // namespace WinEventLog
