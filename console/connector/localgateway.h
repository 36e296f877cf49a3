// Quick setup: the gateway on this machine, found through its own bootstrap settings and token file.
#pragma once

#include "gatewayaddress.h"

#include <QStringList>

#include <optional>

class LocalGateway
{
public:
    // $HOLDFAST_SETTINGS, /etc/holdfast/holdfastd.json, %ProgramData%\Holdfast\holdfastd.json.
    static QStringList settingsCandidates();
    // The admin address and token file a holdfastd started with `settingsFile` uses, when the file and
    // the token file are readable; nullopt with *why otherwise. A wildcard admin address becomes
    // 127.0.0.1.
    static std::optional<GatewayAddress> fromSettings(const QString &settingsFile, QString *why);
    // The first candidate that works.
    static std::optional<GatewayAddress> find(QString *why);
};
