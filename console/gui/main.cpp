// holdfast-console: watches Holdfast gateways through their admin API.
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("holdfast-console"));
    QApplication::setOrganizationName(QStringLiteral("Holdfast"));
    QApplication::setApplicationVersion(QStringLiteral(HOLDFAST_VERSION));
    QApplication::setQuitOnLastWindowClosed(false); // the tray keeps it running; Quit ends it

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Watches Holdfast gateways through their admin API."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption connect(
        QStringLiteral("connect"),
        QStringLiteral("Open straight onto the gateway at URL (added when not listed)."),
        QStringLiteral("URL"));
    const QCommandLineOption tokenFile(QStringLiteral("token-file"),
                                       QStringLiteral("The token file for --connect."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption minimized(QStringLiteral("minimized"),
                                       QStringLiteral("Start in the tray (used at login)."));
    parser.addOptions({connect, tokenFile, minimized});
    parser.process(app);

    MainWindow window;
    if (parser.isSet(connect)) {
        GatewayAddress address;
        address.adminUrl = QUrl(parser.value(connect));
        address.tokenFile = parser.value(tokenFile);
        if (address.tokenFile.isEmpty())
            address.tokenFile = qEnvironmentVariable("HOLDFAST_TOKEN_FILE");
        QString error;
        if (!GatewayAddress::validUrl(address.adminUrl, &error)) {
            QMessageBox::critical(nullptr, QStringLiteral("Holdfast Console"),
                                  QStringLiteral("--connect: %1").arg(error));
            return 2;
        }
        window.connectTo(address);
    }
    if (!(parser.isSet(minimized) && window.canHideInTray()))
        window.show();
    QObject::connect(&app, &QApplication::lastWindowClosed, &app, [&window] {
        if (!window.canHideInTray())
            QApplication::quit();
    });
    return app.exec();
}
