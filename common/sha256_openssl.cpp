// Sha256 on OpenSSL's EVP interface (libcrypto), which picks the CPU's SHA instructions when present.
#include "sha256.h"

#include <cstdlib>
#include <openssl/evp.h>

struct Sha256::State
{
    EVP_MD_CTX *context = nullptr;
};

Sha256::Sha256()
    : m_state(std::make_unique<State>())
{
    m_state->context = EVP_MD_CTX_new();
    // Failing here means no memory or a libcrypto without SHA-256: nothing sensible can follow.
    if (!m_state->context || EVP_DigestInit_ex(m_state->context, EVP_sha256(), nullptr) != 1)
        qFatal("Sha256: libcrypto cannot start a SHA-256 digest");
}

Sha256::~Sha256()
{
    EVP_MD_CTX_free(m_state->context);
}

void Sha256::addData(QByteArrayView bytes)
{
    if (!bytes.isEmpty() && EVP_DigestUpdate(m_state->context, bytes.data(), size_t(bytes.size())) != 1)
        qFatal("Sha256: libcrypto failed to update a SHA-256 digest");
}

QByteArray Sha256::result()
{
    QByteArray digest(EVP_MAX_MD_SIZE, Qt::Uninitialized);
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(m_state->context, reinterpret_cast<unsigned char *>(digest.data()), &size) != 1)
        qFatal("Sha256: libcrypto failed to finish a SHA-256 digest");
    digest.resize(qsizetype(size));
    return digest;
}

QByteArray Sha256::hash(QByteArrayView bytes)
{
    Sha256 sha;
    sha.addData(bytes);
    return sha.result();
}
