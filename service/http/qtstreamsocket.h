// A StreamSocket over a QTcpSocket: both sides on Windows, and upstreams named by host name on Linux.
#pragma once

#include "streamsocket.h"

#include <QMetaObject>

#include <memory>

class QTcpSocket;

// QTcpSocket reads through its own buffer (bounded by its read buffer size), so setReading() has nothing
// to do. Output goes straight to the descriptor while nothing is queued (see directsend.h).
class QtStreamSocket final : public StreamSocket
{
public:
    // Takes `socket` (connected, or being connected by its owner) and deletes it with itself.
    explicit QtStreamSocket(QTcpSocket *socket);
    ~QtStreamSocket() override;

    // A socket connecting to `host` for `handler`, which hears socketConnected() or socketClosed() (maybe
    // before this returns).
    static std::unique_ptr<QtStreamSocket> connectTo(const QByteArray &host, quint16 port,
                                                     qint64 readBufferSize, Handler *handler);

    QTcpSocket *socket() const { return m_socket; }
    // Connects the (unconnected) socket: the handler hears socketConnected() or socketClosed().
    void connectToHost(const QString &host, quint16 port);

    void setHandler(Handler *handler) override;
    qint64 read(char *data, qint64 max) override;
    qint64 bytesAvailable() const override;
    void write(QByteArrayView data) override;
    qint64 bytesToWrite() const override;
    void setReading(bool on) override { Q_UNUSED(on); }
    void closeAfterFlush() override;
    void abort() override;
    bool isOpen() const override;
    ConnectError connectError() const override { return m_connectError; }
    QHostAddress peerAddress() const override;
    quint16 peerPort() const override;
    quint16 localPort() const override;

private:
    QTcpSocket *m_socket;
    Handler *m_handler = nullptr;
    QMetaObject::Connection m_connections[5];
    ConnectError m_connectError = ConnectError::None;
    bool m_connecting = false;
    bool m_quiet = false; // inside closeAfterFlush()/abort(): Qt reports the close synchronously
    bool m_closedReported = false;
};
