// holdfastctl: a gateway's admin API from a terminal or a script (see HoldfastCtl::usage()).
#include "holdfastctl.h"

#include <QCoreApplication>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("holdfastctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HOLDFAST_VERSION));
    HoldfastCtl ctl;
    QObject::connect(&ctl, &HoldfastCtl::finished, &app, [](int code) { QCoreApplication::exit(code); });
    ctl.run(app.arguments().mid(1));
    return app.exec();
}
