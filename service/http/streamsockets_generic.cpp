#include "qtstreamsocket.h"
#include "streamsockets.h"

#include <QTcpSocket>

struct StreamSockets::Private
{};

StreamSockets::StreamSockets() = default;

StreamSockets::~StreamSockets() = default;

std::unique_ptr<StreamSocket> StreamSockets::adopt(qintptr descriptor, qint64 readBufferSize, QString *error)
{
    auto *socket = new QTcpSocket;
    if (!socket->setSocketDescriptor(descriptor)) {
        if (error)
            *error = socket->errorString();
        delete socket;
        return nullptr;
    }
    socket->setReadBufferSize(readBufferSize);
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    return std::make_unique<QtStreamSocket>(socket);
}

std::unique_ptr<StreamSocket> StreamSockets::connectTo(const QByteArray &host, quint16 port,
                                                       qint64 readBufferSize, StreamSocket::Handler *handler,
                                                       StreamSocket::ConnectError *failure)
{
    Q_UNUSED(failure); // Qt reports every failure through the handler
    return QtStreamSocket::connectTo(host, port, readBufferSize, handler);
}
