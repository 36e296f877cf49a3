// One connected TCP byte stream: the seam between the HTTP code and the platform's sockets.
#pragma once

#include <QByteArrayView>
#include <QHostAddress>
#include <QtGlobal>

// Implemented by RawStreamSocket (Linux: a non-blocking descriptor in an epoll set, read straight into the
// caller's buffer) and by QtStreamSocket (a QTcpSocket: Windows, and upstream host names). Not a
// QObject: a connection's socket costs no more than its descriptor and a few fields. Everything runs in
// the thread that adopted the socket; the handler is called from the event loop, never from within a
// call the handler made (read, write, closeAfterFlush, abort).
class StreamSocket
{
public:
    // Why an outgoing connection (StreamSockets::connectTo()) did not come up.
    enum class ConnectError
    {
        None,
        Refused,
        HostNotFound,
        Reset
    };

    class Handler
    {
    public:
        // An outgoing connection is up (not called for accepted ones).
        virtual void socketConnected() {}
        // Bytes, or the end of the stream, can be read.
        virtual void socketReadable() = 0;
        // Queued output went out (some of it, or the last of it).
        virtual void socketWritten() = 0;
        // The connection ended: the peer closed or reset it while nothing was reading (what it sent before
        // may still be read), or the socket failed (called once for these); or a closeAfterFlush()
        // completed (called again then). For an outgoing connection that did not come up, connectError()
        // says why.
        virtual void socketClosed() = 0;

    protected:
        ~Handler() = default;
    };

    virtual ~StreamSocket() = default;

    virtual void setHandler(Handler *handler) = 0;
    // Up to `max` bytes into `data`: the count read, 0 when nothing is there now, -1 at the end of the
    // stream (the peer closed its side) or on an error.
    virtual qint64 read(char *data, qint64 max) = 0;
    // Bytes received and not read yet (a system call: for rare decisions, not for every read).
    virtual qint64 bytesAvailable() const = 0;
    // Sends what the kernel takes now and queues the rest, which goes out as the peer reads.
    virtual void write(QByteArrayView data) = 0;
    virtual qint64 bytesToWrite() const = 0;
    // While off, socketReadable() is not called, so a reader that must wait leaves the bytes to TCP (which
    // pushes back on the peer); a peer closing meanwhile is reported by socketClosed().
    virtual void setReading(bool on) = 0;
    // Closes once the queued output is sent; socketClosed() follows unless it closed at once (isOpen()).
    virtual void closeAfterFlush() = 0;
    // Closes now; queued output is dropped; no callback.
    virtual void abort() = 0;
    virtual bool isOpen() const = 0;
    virtual ConnectError connectError() const { return ConnectError::None; }

    virtual QHostAddress peerAddress() const = 0;
    virtual quint16 peerPort() const = 0;
    virtual quint16 localPort() const = 0;
};
