// Where a gateway's admin API is and how to prove the right to use it: URL and bearer token (or its file).
#pragma once

#include <QByteArray>
#include <QString>
#include <QUrl>

class GatewayAddress
{
public:
    QString name;      // what the operator calls it; the URL's host:port when empty
    QUrl adminUrl;     // http(s)://host:port, without /v1
    QString token;     // pasted; wins over tokenFile when both are set
    QString tokenFile; // read at each connection, so a rotated token is picked up

    QString displayName() const;
    // The token to send: `token`, or the first line of `tokenFile`. Empty with *error set when the file
    // cannot be read or holds nothing.
    QByteArray resolveToken(QString *error) const;
    // An http or https URL with a host; *error says why not.
    static bool validUrl(const QUrl &url, QString *error);
    // The URL of an admin path ("/v1/status") under adminUrl, keeping a path prefix a proxy may add.
    QUrl urlFor(const QString &path) const;
};
