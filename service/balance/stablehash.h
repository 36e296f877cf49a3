// A hash that is the same in every process and on every platform, for the consistent-hash ring.
#pragma once

#include <QByteArrayView>

// xxHash32 (Yann Collet's reference algorithm). qHash is seeded per process, so a ring built with it
// would send the same key to different nodes from different gateways or after a restart.
quint32 stableHash32(QByteArrayView data, quint32 seed = 0);
