// store_writer's sudden death on Windows: TerminateProcess, no unwinding, no flush, as SIGKILL on POSIX.
#include <qt_windows.h>

#include <cstdlib>

[[noreturn]] void terminateAtOnce();

[[noreturn]] void terminateAtOnce()
{
    // 0xf291 is the code QProcess::kill() terminates with: the parent's QProcess reports a CrashExit.
    TerminateProcess(GetCurrentProcess(), 0xf291);
    std::abort(); // not reached: TerminateProcess on the current process does not return
}
