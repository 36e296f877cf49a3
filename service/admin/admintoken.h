// The admin API's bearer token: read from its 0600 file, created on first start, compared in constant time.
#pragma once

#include <QByteArray>
#include <QString>

class AdminToken
{
public:
    // Reads the token file, creating it (mode 0600, 256 random bits as hex) when missing or empty.
    // A file that others may read is tightened to 0600 with a warning. False with *error on failure.
    bool loadOrCreate(const QString &path, QString *error);

    // Whether an Authorization header value is "Bearer <token>".
    bool accepts(QByteArrayView authorization) const;

    const QByteArray &token() const { return m_token; }

private:
    QByteArray m_token;
};
