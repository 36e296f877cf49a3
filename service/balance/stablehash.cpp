#include "stablehash.h"

namespace {

constexpr quint32 Prime1 = 2654435761U;
constexpr quint32 Prime2 = 2246822519U;
constexpr quint32 Prime3 = 3266489917U;
constexpr quint32 Prime4 = 668265263U;
constexpr quint32 Prime5 = 374761393U;

inline quint32 rotl(quint32 x, int r)
{
    return (x << r) | (x >> (32 - r));
}

// Byte-wise little-endian read: the result must not depend on the host's byte order or alignment.
inline quint32 read32(const uchar *p)
{
    return quint32(p[0]) | (quint32(p[1]) << 8) | (quint32(p[2]) << 16) | (quint32(p[3]) << 24);
}

inline quint32 round(quint32 acc, quint32 input)
{
    acc += input * Prime2;
    acc = rotl(acc, 13);
    return acc * Prime1;
}

} // namespace

quint32 stableHash32(QByteArrayView data, quint32 seed)
{
    const auto *p = reinterpret_cast<const uchar *>(data.data());
    const qsizetype len = data.size();
    const uchar *const end = p + len;
    quint32 h;

    if (len >= 16) {
        const uchar *const limit = end - 16;
        quint32 v1 = seed + Prime1 + Prime2;
        quint32 v2 = seed + Prime2;
        quint32 v3 = seed;
        quint32 v4 = seed - Prime1;
        do {
            v1 = round(v1, read32(p));
            v2 = round(v2, read32(p + 4));
            v3 = round(v3, read32(p + 8));
            v4 = round(v4, read32(p + 12));
            p += 16;
        } while (p <= limit);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    } else {
        h = seed + Prime5;
    }
    h += quint32(len);

    while (p + 4 <= end) {
        h += read32(p) * Prime3;
        h = rotl(h, 17) * Prime4;
        p += 4;
    }
    while (p < end) {
        h += quint32(*p) * Prime5;
        h = rotl(h, 11) * Prime1;
        ++p;
    }

    h ^= h >> 15;
    h *= Prime2;
    h ^= h >> 13;
    h *= Prime3;
    h ^= h >> 16;
    return h;
}
