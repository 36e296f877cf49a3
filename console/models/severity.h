// How bad a gateway's situation is, for colours, icons and the tray's worst-of-the-fleet icon.
#pragma once

#include <QColor>
#include <QIcon>
#include <QString>

class Severity
{
public:
    enum Level
    {
        Ok = 0,      // in sync, standalone
        Busy = 1,    // starting, syncing, connecting
        Warning = 2, // serving, but offline, reconnecting, not persisted, or with rejections
        Error = 3    // not reachable, wrong token, not a gateway
    };

    static QColor color(Level level);
    static QIcon icon(Level level);
    static QString name(Level level); // "ok", "busy", "warning", "error"
};
