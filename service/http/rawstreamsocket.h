// A StreamSocket over a non-blocking TCP descriptor in a SocketPoller (Linux).
#pragma once

#include "socketpoller.h"
#include "streamsocket.h"

#include <QByteArray>

#include <sys/socket.h>

// What QTcpSocket does per read (an ioctl(FIONREAD), a copy through its ring buffer, a queued signal) and
// per write (a ring buffer and a write notifier armed and disarmed) is left out: read() is one recv() into
// the caller's buffer; write() sends at once and queues only what the kernel does not take, and only then
// is the descriptor watched for writability. Nothing is allocated while nothing is queued.
class RawStreamSocket final : public StreamSocket, private SocketPoller::Client
{
public:
    // Takes `descriptor` (connected; made non-blocking here). `poller` must outlive the socket.
    RawStreamSocket(int descriptor, SocketPoller *poller);
    ~RawStreamSocket() override;
    RawStreamSocket(const RawStreamSocket &) = delete;
    RawStreamSocket &operator=(const RawStreamSocket &) = delete;

    // False (the descriptor closed, `error` set) when it cannot be watched.
    bool start(QString *error);
    // As start(), for a descriptor whose non-blocking connect() is under way: the handler hears
    // socketConnected() once it is up, or socketClosed() (with connectError()) if it fails.
    bool startConnecting(QString *error);

    void setHandler(Handler *handler) override { m_handler = handler; }
    qint64 read(char *data, qint64 max) override;
    qint64 bytesAvailable() const override;
    void write(QByteArrayView data) override;
    qint64 bytesToWrite() const override { return m_out.size() - m_outPos; }
    void setReading(bool on) override;
    void closeAfterFlush() override;
    void abort() override;
    bool isOpen() const override { return m_fd >= 0; }
    ConnectError connectError() const override { return m_connectError; }
    QHostAddress peerAddress() const override;
    quint16 peerPort() const override;
    quint16 localPort() const override;

private:
    void pollEvents(quint32 events) override;
    void connectDone(quint32 events);
    void flushQueue();
    void updateInterest();
    void closeDescriptor();
    void reportClosed(bool closeCompleted);
    // The port of getpeername() or getsockname().
    quint16 port(int (*name)(int, sockaddr *, socklen_t *)) const;

    int m_fd;
    SocketPoller *m_poller;
    Handler *m_handler = nullptr;
    QByteArray m_out; // m_out[m_outPos, size) is queued
    qsizetype m_outPos = 0;
    quint32 m_interest = 0;
    ConnectError m_connectError = ConnectError::None;
    bool m_reading = true;
    bool m_connecting = false;     // writes queue until the connection is up
    bool m_closing = false;        // closeAfterFlush() waits for the queue to drain
    bool m_failed = false;         // a send failed, or the peer reset: nothing more goes out
    bool m_peerClosed = false;     // reported by the poller (hang-up) while not reading
    bool m_closedReported = false; // the peer's close
};
