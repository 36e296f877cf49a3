// Listening sockets for the workers: one SO_REUSEPORT socket per worker where the platform has it.
#pragma once

#include <QHostAddress>
#include <QList>
#include <QString>

// With SO_REUSEPORT the kernel spreads new connections over the workers' own sockets: no shared accept
// queue, no thread handing sockets to another. Elsewhere ProxyServer falls back to one listener whose
// connections it deals out (SharedListener). Implemented per platform: listenersockets_linux.cpp,
// listenersockets_generic.cpp.
class ListenerSockets
{
public:
    static bool supportsReusePort();

    // `count` listening, non-blocking sockets bound to the same address and port (port 0: whatever
    // port the first one got). Empty, and `error` set, on failure; nothing is left open then.
    static QList<qintptr> openReusePort(const QHostAddress &address, quint16 port, int count, QString *error);
    static quint16 localPort(qintptr descriptor);
    static void closeDescriptor(qintptr descriptor);
};
