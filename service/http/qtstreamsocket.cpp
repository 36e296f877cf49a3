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
    m_connections[3] = QObject::connect(m_socket, &QTcpSocket::connected, [this] {
        m_connecting = false;
        m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_handler->socketConnected();
    });
    m_connections[4] =
        QObject::connect(m_socket, &QTcpSocket::errorOccurred, [this](QAbstractSocket::SocketError error) {
            // After the connection is up, disconnected() reports the end.
            if (!m_connecting || m_quiet || m_closedReported)
                return;
            m_connecting = false;
            m_connectError = error == QAbstractSocket::HostNotFoundError       ? ConnectError::HostNotFound
                             : error == QAbstractSocket::RemoteHostClosedError ? ConnectError::Reset
                                                                               : ConnectError::Refused;
            m_closedReported = true;
            m_handler->socketClosed();
        });
}

std::unique_ptr<QtStreamSocket> QtStreamSocket::connectTo(const QByteArray &host, quint16 port,
                                                          qint64 readBufferSize, Handler *handler)
{
    auto *socket = new QTcpSocket;
    socket->setReadBufferSize(readBufferSize);
    auto stream = std::make_unique<QtStreamSocket>(socket);
    stream->setHandler(handler);
    stream->connectToHost(QString::fromLatin1(host), port);
    return stream;
}

void QtStreamSocket::connectToHost(const QString &host, quint16 port)
{
    m_connecting = true;
    m_socket->connectToHost(host, port);
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
