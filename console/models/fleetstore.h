// The console's list of gateways in QSettings: name, admin URL, token or token file, one entry each.
#pragma once

#include "gatewayaddress.h"

#include <QList>
#include <QString>

class QSettings;

class FleetStore
{
public:
    struct Entry
    {
        QString id; // stable across renames, so window state can follow a gateway
        GatewayAddress address;
    };

    static QList<Entry> load(QSettings &settings);
    // Writes the list and makes the settings file readable by its owner only: it may hold tokens.
    static void save(QSettings &settings, const QList<Entry> &entries);
};
