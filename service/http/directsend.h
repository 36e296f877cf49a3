// Writing straight to a connected TCP socket's descriptor, bypassing QTcpSocket's write buffer.
#pragma once

#include <QtGlobal>

#if defined(Q_OS_UNIX)
#include <cerrno>
#include <sys/socket.h>
#include <sys/types.h>
#endif

// QTcpSocket::write() copies into a ring buffer and arms a write notifier that the next flush disarms:
// a register/unregister pair in the event dispatcher per response. When nothing is queued the bytes
// can go out at once instead. Returns the bytes sent (possibly fewer than `size`), or 0 when the caller
// must queue everything through QTcpSocket, which then meets and reports any error itself.
inline qint64 sendDirect(qintptr descriptor, const char *data, qint64 size)
{
#if defined(Q_OS_UNIX) && defined(MSG_NOSIGNAL)
    if (descriptor < 0 || size <= 0)
        return 0;
    for (;;) {
        const ssize_t n = ::send(int(descriptor), data, size_t(size), MSG_NOSIGNAL);
        if (n >= 0)
            return qint64(n);
        if (errno != EINTR)
            return 0;
    }
#else
    Q_UNUSED(descriptor);
    Q_UNUSED(data);
    Q_UNUSED(size);
    return 0;
#endif
}
