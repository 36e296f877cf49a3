// The bytes a chash upstream hashes for a request, from hash_on and key, with APISIX's fallbacks.
#pragma once

#include "configobjects.h"

#include <QByteArray>
#include <QByteArrayView>

#include <functional>
#include <utility>

// What HashKey may read from a request. Views into the proxy's own buffers: nothing is copied.
struct HashKeyRequest
{
    using HeaderField = std::pair<QByteArrayView, QByteArrayView>;

    QByteArrayView remoteAddr; // client address, no port
    QByteArrayView host;       // nginx's $host: the request's host, lower case, no port
    QByteArrayView serverName; // the matched server (listener) name; the host when there is none
    QByteArrayView requestUri; // the request target as received: path and query (nginx's $request_uri)
    QByteArrayView path;       // the normalised path without query (nginx's $uri)
    QByteArrayView method;
    QByteArrayView consumerName; // hash_on consumer; empty while there is no authentication

    // Headers, either as a flat list or through a lookup (tried first when set). Names compare case-
    // insensitively. The lookup returns a null view for a missing header.
    const HeaderField *headers = nullptr;
    qsizetype headerCount = 0;
    std::function<QByteArrayView(QByteArrayView name)> headerLookup;
};

class HashKey
{
public:
    // The chash key: a variable, a header or a cookie per hash_on, `$var` templates for
    // vars_combinations, the consumer name; when that has no value, the client address (as APISIX).
    // The result views into `request`, or into `scratch` for vars_combinations.
    static QByteArrayView compute(const Upstream &upstream, const HashKeyRequest &request,
                                  QByteArray *scratch);

    // One nginx variable: remote_addr, uri, request_uri, host, server_name, request_method, args,
    // query_string, arg_<name>, http_<name> ('_' matches '-'), cookie_<name>. False when the request has
    // no such value or the variable is unknown; an empty value present in the request is true.
    static bool variable(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value);

    static bool header(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value);
    static bool cookie(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value);
    static bool queryArgument(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value);
};
