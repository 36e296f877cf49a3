// holdfastd under the Windows Service Control Manager, in plain Win32 (no Qt) so CI compiles it with MinGW.
#pragma once

namespace WinService {

using MainFunction = int (*)(int argc, char **argv);

// The service's name in the SCM (sc query holdfastd) and its event log source.
constexpr const wchar_t *name = L"holdfastd";

// When the Service Control Manager started this process, runs `serviceMain` as the service on the SCM's
// service thread, returns true and sets *exitCode once it returns. Returns false at once when the
// process was started from a console: the caller then runs `serviceMain` itself.
bool runAsService(MainFunction serviceMain, int argc, char **argv, int *exitCode);

// True while this process runs under the SCM.
bool isService();

// Called (on a thread of the SCM or of the console) when a stop, a shutdown, a pre-shutdown, Ctrl+C,
// Ctrl+Break or the closing of the console asks the service to end. Must only hand the request over.
void setStopHandler(void (*handler)());

// States reported to the SCM; without the SCM they do nothing. While a state is pending, a timer
// advances the check point every second so that the SCM sees progress within the wait hint.
void reportRunning();
void reportStopPending(unsigned waitHintMs);

} // namespace WinService
