#include "httpclock.h"

#include <chrono>

#ifdef Q_OS_LINUX
#include <time.h>
#endif

qint64 HttpClock::nowMs()
{
#if defined(Q_OS_LINUX) && defined(CLOCK_MONOTONIC_COARSE)
    // Deadlines are checked by a 100 ms tick, so the clock of the last scheduler tick (a few ms
    // behind) serves; it is read several times per request and costs a fraction of the precise one.
    timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return qint64(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
#endif
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
