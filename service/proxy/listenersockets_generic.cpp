#include "listenersockets.h"

// No SO_REUSEPORT load balancing here (Windows has no equivalent; the BSDs' does not balance):
// ProxyServer uses one SharedListener instead.

bool ListenerSockets::supportsReusePort()
{
    return false;
}

QList<qintptr> ListenerSockets::openReusePort(const QHostAddress &, quint16, int, QString *error)
{
    if (error)
        *error = QStringLiteral("SO_REUSEPORT listeners are not supported on this platform");
    return {};
}

quint16 ListenerSockets::localPort(qintptr)
{
    return 0;
}

void ListenerSockets::closeDescriptor(qintptr) {}
