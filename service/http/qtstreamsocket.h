// A StreamSocket over a QTcpSocket: the client side on Windows, and the upstream side of a tunnel.
#pragma once

#include "streamsocket.h"

#include <QMetaObject>

class QTcpSocket;

// QTcpSocket reads through its own buffer (bounded by its read buffer size), so setReading() has nothing
// to do. Output goes straight to the descriptor while nothing is queued (see directsend.h).
class QtStreamSocket final : public StreamSocket
{
public:
    // Takes `socket` (connected, or being connected by its owner) and deletes it with itself.
    explicit QtStreamSocket(QTcpSocket *socket);
    ~QtStreamSocket() override;

    QTcpSocket *socket() const { return m_socket; }

    void setHandler(Handler *handler) override;
    qint64 read(char *data, qint64 max) override;
    qint64 bytesAvailable() const override;
    void write(QByteArrayView data) override;
    qint64 bytesToWrite() const override;
    void setReading(bool on) override { Q_UNUSED(on); }
    void closeAfterFlush() override;
    void abort() override;
    bool isOpen() const override;
    QHostAddress peerAddress() const override;
    quint16 peerPort() const override;
    quint16 localPort() const override;

private:
    QTcpSocket *m_socket;
    Handler *m_handler = nullptr;
    QMetaObject::Connection m_connections[3];
    bool m_quiet = false; // inside closeAfterFlush()/abort(): Qt reports the close synchronously
    bool m_closedReported = false;
};
