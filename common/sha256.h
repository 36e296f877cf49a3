// SHA-256 over data given in pieces: the digest of persisted files and of canonical configurations.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <memory>

// One implementation per build, chosen by CMake: OpenSSL's libcrypto where it is found (it uses the
// CPU's SHA extensions: ~1.5 GB/s against ~60-200 MB/s for QCryptographicHash on the same machine, which
// decides whether a 20 MB configuration can be hashed for every change), QCryptographicHash elsewhere
// (the Windows cross build). Both give the same digest.
class Sha256
{
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;

    void addData(QByteArrayView bytes);
    // The 32-byte digest of everything added; the object is then spent.
    QByteArray result();

    static QByteArray hash(QByteArrayView bytes);

private:
    struct State;
    std::unique_ptr<State> m_state;
};
