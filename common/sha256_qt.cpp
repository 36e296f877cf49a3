// Sha256 on QCryptographicHash, for builds without OpenSSL's libcrypto.
#include "sha256.h"

#include <QCryptographicHash>

struct Sha256::State
{
    QCryptographicHash hash{QCryptographicHash::Sha256};
};

Sha256::Sha256()
    : m_state(std::make_unique<State>())
{}

Sha256::~Sha256() = default;

void Sha256::addData(QByteArrayView bytes)
{
    m_state->hash.addData(bytes);
}

QByteArray Sha256::result()
{
    return m_state->hash.result();
}

QByteArray Sha256::hash(QByteArrayView bytes)
{
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256);
}
