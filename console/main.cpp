// holdfast-console: watches gateways through their admin API.
#include "mainwindow.h"

#include <QApplication>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("holdfast-console"));
    QApplication::setOrganizationName(QStringLiteral("Holdfast"));
    QApplication::setApplicationVersion(QStringLiteral(HOLDFAST_VERSION));
    MainWindow window;
    window.show();
    return app.exec();
}
