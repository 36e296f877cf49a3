// The Windows event log (Application log, source "holdfastd"), in plain Win32 so CI compiles it with MinGW.
#pragma once

namespace WinEventLog {

enum class Type
{
    Information,
    Warning,
    Error
};

// Reports one event with `text` as its message. The source's message table is holdfastd.exe itself
// (holdfastd.mc, registered by the MSI), so the Event Viewer shows the text without a "cannot be found"
// preamble. Safe from any thread; does nothing when the log cannot be opened.
void report(Type type, const wchar_t *text);

} // namespace WinEventLog
