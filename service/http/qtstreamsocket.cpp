#include "qtstreamsocket.h"

#include "directsend.h"

#include <QTcpSocket>

QtStreamSocket::QtStreamSocket(QTcpSocket *socket)
    : m_socket(socket)
{}

QtStreamSocket::~QtStreamSocket()
{
    setHandler(nullptr);
    delete m_socket;
}

void QtStreamSocket::setHandler(Handler *handler)
{
    for (QMetaObject::Connection &c : m_connections)
        QObject::disconnect(c);
    m_handler = handler;
    if (!handler)
        return;
    m_connections[0] =
        QObject::connect(m_socket, &QTcpSocket::readyRead, [this] { m_handler->socketReadable(); });
    m_connections[1] =
        QObject::connect(m_socket, &QTcpSocket::bytesWritten, [this] { m_handler->socketWritten(); });
    m_connections[2] = QObject::connect(m_socket, &QTcpSocket::disconnected, [this] {
        if (m_quiet || m_closedReported)
            return;
        m_closedReported = true;
        m_handler->socketClosed();
    });
}

qint64 QtStreamSocket::read(char *data, qint64 max)
{
    const qint64 n = m_socket->read(data, max);
    if (n == 0 && m_socket->state() != QAbstractSocket::ConnectedState)
        return -1;
    return n;
}

qint64 QtStreamSocket::bytesAvailable() const
{
    return m_socket->bytesAvailable();
}

void QtStreamSocket::write(QByteArrayView data)
{
    if (m_socket->bytesToWrite() == 0 && m_socket->state() == QAbstractSocket::ConnectedState) {
        const qint64 sent = sendDirect(m_socket->socketDescriptor(), data.data(), data.size());
        if (sent >= data.size())
            return;
        data = data.sliced(sent);
    }
    m_socket->write(data.data(), data.size());
}

qint64 QtStreamSocket::bytesToWrite() const
{
    return m_socket->bytesToWrite();
}

void QtStreamSocket::closeAfterFlush()
{
    m_quiet = true;
    m_socket->disconnectFromHost();
    m_quiet = false;
}

void QtStreamSocket::abort()
{
    m_quiet = true;
    m_socket->abort();
    m_quiet = false;
}

bool QtStreamSocket::isOpen() const
{
    return m_socket->state() != QAbstractSocket::UnconnectedState;
}

QHostAddress QtStreamSocket::peerAddress() const
{
    return m_socket->peerAddress();
}

quint16 QtStreamSocket::peerPort() const
{
    return m_socket->peerPort();
}

quint16 QtStreamSocket::localPort() const
{
    return m_socket->localPort();
}
