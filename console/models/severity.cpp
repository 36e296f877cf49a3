#include "severity.h"

QColor Severity::color(Level level)
{
    switch (level) {
    case Ok:
        return QColor(0x1e, 0x84, 0x49);
    case Busy:
        return QColor(0x1f, 0x6f, 0xb5);
    case Warning:
        return QColor(0xb3, 0x6b, 0x00);
    case Error:
        return QColor(0xc0, 0x25, 0x25);
    }
    return {};
}

QString Severity::name(Level level)
{
    switch (level) {
    case Ok:
        return QStringLiteral("ok");
    case Busy:
        return QStringLiteral("busy");
    case Warning:
        return QStringLiteral("warning");
    case Error:
        return QStringLiteral("error");
    }
    return {};
}

QIcon Severity::icon(Level level)
{
    QIcon icon;
    for (int size : {16, 24, 32, 48})
        icon.addFile(QStringLiteral(":/icons/%1/state-%2.png").arg(size).arg(name(level)), QSize(size, size));
    return icon;
}
