// The monotonic millisecond clock every HTTP deadline (client and upstream side) is measured with.
#pragma once

#include <QtGlobal>

class HttpClock
{
public:
    static qint64 nowMs();
};
