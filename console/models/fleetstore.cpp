#include "fleetstore.h"

#include <QFile>
#include <QSettings>

QList<FleetStore::Entry> FleetStore::load(QSettings &settings)
{
    QList<Entry> out;
    const int n = settings.beginReadArray(QStringLiteral("gateways"));
    for (int i = 0; i < n; ++i) {
        settings.setArrayIndex(i);
        Entry e;
        e.id = settings.value(QStringLiteral("id")).toString();
        e.address.name = settings.value(QStringLiteral("name")).toString();
        e.address.adminUrl = QUrl(settings.value(QStringLiteral("url")).toString());
        e.address.token = settings.value(QStringLiteral("token")).toString();
        e.address.tokenFile = settings.value(QStringLiteral("token_file")).toString();
        if (e.address.adminUrl.isValid())
            out.append(e);
    }
    settings.endArray();
    return out;
}

void FleetStore::save(QSettings &settings, const QList<Entry> &entries)
{
    settings.remove(QStringLiteral("gateways"));
    settings.beginWriteArray(QStringLiteral("gateways"), int(entries.size()));
    for (int i = 0; i < entries.size(); ++i) {
        settings.setArrayIndex(i);
        const Entry &e = entries.at(i);
        settings.setValue(QStringLiteral("id"), e.id);
        settings.setValue(QStringLiteral("name"), e.address.name);
        settings.setValue(QStringLiteral("url"), e.address.adminUrl.toString());
        settings.setValue(QStringLiteral("token"), e.address.token);
        settings.setValue(QStringLiteral("token_file"), e.address.tokenFile);
    }
    settings.endArray();
    settings.sync();
    if (settings.format() != QSettings::NativeFormat || QFile::exists(settings.fileName()))
        QFile::setPermissions(settings.fileName(), QFile::ReadOwner | QFile::WriteOwner);
}
