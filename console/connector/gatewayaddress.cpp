#include "gatewayaddress.h"

#include <QFile>

QString GatewayAddress::displayName() const
{
    if (!name.trimmed().isEmpty())
        return name.trimmed();
    return adminUrl.authority();
}

QByteArray GatewayAddress::resolveToken(QString *error) const
{
    if (!token.trimmed().isEmpty())
        return token.trimmed().toUtf8();
    if (tokenFile.isEmpty()) {
        *error = QStringLiteral("no token given (paste it, or name the gateway's admin.token file)");
        return {};
    }
    QFile file(tokenFile);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("token file %1: %2").arg(tokenFile, file.errorString());
        return {};
    }
    const QByteArray value = file.readLine(4096).trimmed();
    if (value.isEmpty())
        *error = QStringLiteral("token file %1 is empty").arg(tokenFile);
    return value;
}

bool GatewayAddress::validUrl(const QUrl &url, QString *error)
{
    if (!url.isValid()) {
        *error = QStringLiteral("\"%1\" is not a URL: %2").arg(url.toString(), url.errorString());
        return false;
    }
    if (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) {
        *error = QStringLiteral("\"%1\": expected http:// or https://").arg(url.toString());
        return false;
    }
    if (url.host().isEmpty()) {
        *error = QStringLiteral("\"%1\" names no host").arg(url.toString());
        return false;
    }
    return true;
}

QUrl GatewayAddress::urlFor(const QString &path) const
{
    QUrl url = adminUrl;
    QString base = url.path();
    while (base.endsWith(QLatin1Char('/')))
        base.chop(1);
    url.setPath(base + path);
    url.setQuery(QString());
    url.setFragment(QString());
    return url;
}
