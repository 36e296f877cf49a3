// holdfastd under the Windows Service Control Manager, in plain Win32 (no Qt) so CI compiles it with MinGW.
#pragma once

namespace WinService {

using MainFunction = int (*)(int argc, char **argv);

// When the Service Control Manager started this process, runs `serviceMain` as the service `name` on
// the SCM's service thread, returns true and sets *exitCode once it returns. Returns false at once when
// the process was started from a console: the caller then runs `serviceMain` itself.
bool runAsService(const wchar_t *name, MainFunction serviceMain, int argc, char **argv, int *exitCode);

// Called (on a thread of the SCM or of the console) when a stop, a shutdown, Ctrl+C, Ctrl+Break or the
// closing of the console asks the service to end. Must only hand the request over to the event loop.
void setStopHandler(void (*handler)());

// States reported to the SCM; without the SCM they do nothing.
void reportRunning();
void reportStopPending(unsigned waitHintMs);

} // namespace WinService
