// The request path a gateway routes on: percent-decoded, dot segments resolved, slashes merged (nginx's
// $uri).
#pragma once

#include <QByteArray>
#include <QByteArrayView>

// Routing on the raw target would let "/public/../admin" match a "/public/*" route while the upstream
// serves "/admin". So the path is normalized first, as nginx and APISIX do, and the upstream is sent the
// normalized path re-encoded: it always receives the path the route was chosen for.
class PathNormalizer
{
public:
    enum class Result
    {
        Unchanged,   // the path was already normal: route on it and forward it as sent
        Changed,     // route on *decoded, forward *encoded (equal to the path when only %XX of bytes that
                     // must stay encoded were decoded, as in "/a%20b")
        BadEncoding, // a '%' not followed by two hex digits, or "%00": 400
        AboveRoot,   // a ".." would climb above "/": 400
    };

    // `path` is the target up to the '?'. A path that does not begin with '/' ("*") is left Unchanged.
    // `decoded`: the normalized path as bytes (what routes match); `encoded`: the same re-encoded for the
    // request line (bytes outside RFC 3986 pchar and '/' as %XX). Both are reused buffers; nothing is
    // allocated for an Unchanged path.
    static Result normalize(QByteArrayView path, QByteArray *decoded, QByteArray *encoded);

    // Percent-encodes the bytes a path segment may not carry as they are.
    static void encode(QByteArrayView decoded, QByteArray *out);
};
