#include "pathnormalizer.h"

namespace {

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// RFC 3986 pchar without '%', plus '/': what a path carries literally.
bool isPathChar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '-':
    case '.':
    case '_':
    case '~': // unreserved
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+': // sub-delims
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '/':
        return true;
    default:
        return false;
    }
}

// True when the path may need work: a '%', a "//", or a segment that is "." or "..".
bool needsWork(QByteArrayView path)
{
    const qsizetype n = path.size();
    for (qsizetype i = 0; i < n; ++i) {
        const char c = path[i];
        if (c == '%')
            return true;
        if (c != '/' || i + 1 >= n)
            continue;
        const char next = path[i + 1];
        if (next == '/')
            return true;
        if (next == '.') {
            const qsizetype after = i + 2;
            if (after >= n || path[after] == '/')
                return true;
            if (path[after] == '.' && (after + 1 >= n || path[after + 1] == '/'))
                return true;
        }
    }
    return false;
}

} // namespace

void PathNormalizer::encode(QByteArrayView decoded, QByteArray *out)
{
    static const char hex[] = "0123456789ABCDEF";
    out->resize(0);
    out->reserve(decoded.size() + 16);
    for (const char c : decoded) {
        const auto u = static_cast<unsigned char>(c);
        if (isPathChar(u)) {
            out->append(c);
        } else {
            out->append('%');
            out->append(hex[u >> 4]);
            out->append(hex[u & 0xf]);
        }
    }
}

PathNormalizer::Result PathNormalizer::normalize(QByteArrayView path, QByteArray *decoded,
                                                 QByteArray *encoded)
{
    if (path.isEmpty() || path.front() != '/' || !needsWork(path))
        return Result::Unchanged;

    // Decode first, so "%2e%2e" and "..%2f" are dot segments and separators like their literal forms
    // (nginx decodes "%2F" in $uri too).
    QByteArray &out = *decoded;
    out.resize(0);
    out.reserve(path.size());
    for (qsizetype i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (c == '%') {
            const int high = i + 2 < path.size() ? hexValue(path[i + 1]) : -1;
            const int low = high >= 0 ? hexValue(path[i + 2]) : -1;
            if (low < 0)
                return Result::BadEncoding;
            c = char(high * 16 + low);
            if (c == '\0')
                return Result::BadEncoding;
            i += 2;
        }
        out.append(c);
    }

    // Resolve segments in place: `w` is the length of the normalized prefix, always ending before a '/'.
    qsizetype w = 0;
    qsizetype r = 0;
    const qsizetype n = out.size();
    char *d = out.data();
    while (r < n) {
        // d[r] == '/': the start of a segment.
        qsizetype end = r + 1;
        while (end < n && d[end] != '/')
            ++end;
        const qsizetype length = end - r - 1;
        const char *segment = d + r + 1;
        const bool last = end >= n;
        if (length == 0 && !last) {
            // "//": merged
        } else if (length == 1 && segment[0] == '.') {
            if (last)
                d[w++] = '/';
        } else if (length == 2 && segment[0] == '.' && segment[1] == '.') {
            if (w == 0)
                return Result::AboveRoot;
            while (w > 0 && d[w - 1] != '/')
                --w;
            --w; // drop the '/' before the removed segment too
            if (last)
                d[w++] = '/';
        } else {
            d[w++] = '/';
            for (qsizetype k = 0; k < length; ++k)
                d[w++] = segment[k];
        }
        r = end;
    }
    if (w == 0)
        d[w++] = '/';
    out.resize(w);
    encode(out, encoded);
    return Result::Changed;
}
