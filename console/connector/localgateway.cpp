#include "localgateway.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>

QStringList LocalGateway::settingsCandidates()
{
    QStringList out;
    const QString env = qEnvironmentVariable("HOLDFAST_SETTINGS");
    if (!env.isEmpty())
        out << env;
    out << QStringLiteral("/etc/holdfast/holdfastd.json");
    const QString programData = qEnvironmentVariable("ProgramData");
    if (!programData.isEmpty())
        out << QDir(programData).filePath(QStringLiteral("Holdfast/holdfastd.json"));
    return out;
}

std::optional<GatewayAddress> LocalGateway::fromSettings(const QString &settingsFile, QString *why)
{
    QFile file(settingsFile);
    if (!file.open(QIODevice::ReadOnly)) {
        *why = QStringLiteral("%1: %2").arg(settingsFile, file.errorString());
        return std::nullopt;
    }
    QJsonParseError parse;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parse);
    if (!doc.isObject()) {
        *why = QStringLiteral("%1: not a JSON object (%2)").arg(settingsFile, parse.errorString());
        return std::nullopt;
    }
    // The defaults are holdfastd's (README, bootstrap settings): only the keys the console needs.
    const QJsonObject settings = doc.object();
    const QJsonObject admin = settings.value(QLatin1String("admin")).toObject();
    const QString dataDir =
        settings.value(QLatin1String("data_dir")).toString(QStringLiteral("/var/lib/holdfast"));
    QString address = admin.value(QLatin1String("address")).toString(QStringLiteral("127.0.0.1"));
    const int port = admin.value(QLatin1String("port")).toInt(9180);
    const QString tokenFile =
        admin.value(QLatin1String("token_file")).toString(QStringLiteral("admin.token"));
    if (port == 0) {
        *why = QStringLiteral("%1: admin.port is 0 (no admin API)").arg(settingsFile);
        return std::nullopt;
    }
    const QHostAddress host(address);
    if (host == QHostAddress::AnyIPv4 || host == QHostAddress::Any)
        address = QStringLiteral("127.0.0.1");
    else if (host == QHostAddress::AnyIPv6)
        address = QStringLiteral("::1");

    GatewayAddress out;
    out.name = QStringLiteral("this machine");
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(address);
    url.setPort(port);
    out.adminUrl = url;
    out.tokenFile = QFileInfo(tokenFile).isAbsolute() ? tokenFile : QDir(dataDir).filePath(tokenFile);
    QString tokenError;
    if (out.resolveToken(&tokenError).isEmpty()) {
        *why = tokenError;
        return std::nullopt;
    }
    return out;
}

std::optional<GatewayAddress> LocalGateway::find(QString *why)
{
    QStringList reasons;
    for (const QString &candidate : settingsCandidates()) {
        QString reason;
        if (auto found = fromSettings(candidate, &reason))
            return found;
        reasons << reason;
    }
    *why = reasons.join(QLatin1String("; "));
    return std::nullopt;
}
