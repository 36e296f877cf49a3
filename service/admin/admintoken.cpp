#include "admintoken.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QSaveFile>

Q_LOGGING_CATEGORY(lcAdminToken, "holdfast.admin")

namespace {
constexpr QFile::Permissions OwnerOnly = QFile::ReadOwner | QFile::WriteOwner;
}

bool AdminToken::loadOrCreate(const QString &path, QString *error)
{
    QFile file(path);
    if (file.exists()) {
        if (!file.open(QIODevice::ReadOnly)) {
            *error = QStringLiteral("admin token %1: %2").arg(path, file.errorString());
            return false;
        }
        m_token = file.readAll().trimmed();
        file.close();
        if (!m_token.isEmpty()) {
            if ((file.permissions() & ~(OwnerOnly | QFile::ReadUser | QFile::WriteUser)) != 0) {
                qCWarning(lcAdminToken).noquote()
                    << "admin token" << path << "was readable by others; now 0600";
                file.setPermissions(OwnerOnly);
            }
            return true;
        }
    }

    QDir().mkpath(QFileInfo(path).absolutePath());
    quint64 words[4];
    QRandomGenerator::system()->fillRange(words);
    m_token = QByteArray(reinterpret_cast<const char *>(words), sizeof words).toHex();
    QSaveFile out(path);
    if (!out.open(QIODevice::WriteOnly) || out.write(m_token + '\n') < 0 || !out.setPermissions(OwnerOnly) ||
        !out.commit()) {
        *error = QStringLiteral("admin token %1: cannot write: %2").arg(path, out.errorString());
        m_token.clear();
        return false;
    }
    qCInfo(lcAdminToken).noquote() << "created admin token file" << path;
    return true;
}

bool AdminToken::accepts(QByteArrayView authorization) const
{
    constexpr QByteArrayView scheme("Bearer ");
    if (m_token.isEmpty() || authorization.size() != scheme.size() + m_token.size() ||
        !authorization.startsWith(scheme))
        return false;
    // Constant time, so the answer's timing does not leak how much of a guess was right.
    unsigned char difference = 0;
    const QByteArrayView given = authorization.sliced(scheme.size());
    for (qsizetype i = 0; i < m_token.size(); ++i)
        difference |= static_cast<unsigned char>(given[i] ^ m_token[i]);
    return difference == 0;
}
