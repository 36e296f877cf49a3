// A tiny upstream for health-check suites: answers every request with the status given on its command line.
//
//   health_upstream --port P [--status 200] [--hang]
//
// With --hang it accepts connections and never answers (a probe must time out). Every request head is
// printed to stdout as "REQUEST <request line> | Host: <host>" so that a suite can check what was asked.

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTcpServer>
#include <QTcpSocket>

#include <cstdio>
#include <memory>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addOption(
        {QStringLiteral("port"), QStringLiteral("TCP port on 127.0.0.1."), QStringLiteral("port")});
    parser.addOption({QStringLiteral("status"), QStringLiteral("Status code to answer."),
                      QStringLiteral("code"), QStringLiteral("200")});
    parser.addOption({QStringLiteral("hang"), QStringLiteral("Accept, never answer.")});
    parser.process(app);

    bool ok = false;
    const quint16 port = quint16(parser.value(QStringLiteral("port")).toUInt(&ok));
    const int status = parser.value(QStringLiteral("status")).toInt();
    const bool hang = parser.isSet(QStringLiteral("hang"));
    if (!ok || port == 0 || status < 100 || status > 999) {
        std::fprintf(stderr, "health_upstream: --port and --status (100-999) are required\n");
        return 2;
    }

    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, port)) {
        std::fprintf(stderr, "health_upstream: cannot listen on 127.0.0.1:%u: %s\n", unsigned(port),
                     qPrintable(server.errorString()));
        return 1;
    }
    QObject::connect(&server, &QTcpServer::newConnection, &server, [&server, status, hang] {
        while (QTcpSocket *socket = server.nextPendingConnection()) {
            QObject::connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
            auto buffer = std::make_shared<QByteArray>();
            QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket, buffer, status, hang] {
                QByteArray &head = *buffer;
                head += socket->readAll();
                const qsizetype end = head.indexOf("\r\n\r\n");
                if (end < 0)
                    return;
                const QList<QByteArray> lines = head.left(end).split('\n');
                QByteArray host;
                for (const QByteArray &line : lines) {
                    if (line.toLower().startsWith("host:"))
                        host = line.mid(5).trimmed();
                }
                std::printf("REQUEST %s | Host: %s\n", lines.value(0).trimmed().constData(),
                            host.constData());
                std::fflush(stdout);
                head.clear();
                if (hang)
                    return;
                const QByteArray body = "status " + QByteArray::number(status) + '\n';
                socket->write("HTTP/1.1 " + QByteArray::number(status) +
                              " Test\r\nContent-Type: text/plain\r\n" + "Content-Length: " +
                              QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
                socket->disconnectFromHost();
            });
        }
    });
    std::printf("listening on 127.0.0.1:%u, status %d%s\n", unsigned(port), status, hang ? ", hanging" : "");
    std::fflush(stdout);
    return app.exec();
}
