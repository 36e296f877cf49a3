#include "hashkey.h"

#include <algorithm>

namespace {

inline char foldHeaderChar(char c)
{
    if (c >= 'A' && c <= 'Z')
        return char(c - 'A' + 'a');
    return c == '_' ? '-' : c;
}

// nginx's $http_x_user matches "X-User": case and '-' versus '_' do not matter.
bool sameHeaderName(QByteArrayView a, QByteArrayView b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return foldHeaderChar(x) == foldHeaderChar(y);
           });
}

bool sameCaseInsensitive(QByteArrayView a, QByteArrayView b)
{
    return a.size() == b.size() && a.compare(b, Qt::CaseInsensitive) == 0;
}

QByteArrayView trimmed(QByteArrayView v)
{
    while (!v.isEmpty() && (v.front() == ' ' || v.front() == '\t'))
        v = v.sliced(1);
    while (!v.isEmpty() && (v.back() == ' ' || v.back() == '\t'))
        v.chop(1);
    return v;
}

// Calls visit(piece) for each piece of list between separators, until a visit returns true.
template<typename Visit>
bool anyPiece(QByteArrayView list, char separator, Visit visit)
{
    qsizetype from = 0;
    while (from <= list.size()) {
        qsizetype end = list.indexOf(separator, from);
        if (end < 0)
            end = list.size();
        if (visit(list.sliced(from, end - from)))
            return true;
        from = end + 1;
    }
    return false;
}

// A present but empty value must not read as missing: views of nothing get a non-null empty view.
QByteArrayView present(QByteArrayView v)
{
    static const char empty = 0;
    return v.data() ? v : QByteArrayView(&empty, 0);
}

QByteArrayView queryOf(QByteArrayView requestUri)
{
    const qsizetype q = requestUri.indexOf('?');
    return q < 0 ? QByteArrayView() : present(requestUri.sliced(q + 1));
}

bool isVariableChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// APISIX's resolve_var: "$name" and "${name}" are replaced by their values (missing ones by nothing).
// Returns how many resolved.
int resolveTemplate(QByteArrayView text, const HashKeyRequest &request, QByteArray *out)
{
    int resolved = 0;
    out->clear();
    qsizetype i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\\' && i + 1 < text.size() && text[i + 1] == '$') {
            out->append('$');
            i += 2;
            continue;
        }
        if (c != '$') {
            out->append(c);
            ++i;
            continue;
        }
        qsizetype start = i + 1;
        qsizetype end = start;
        qsizetype next;
        if (start < text.size() && text[start] == '{') {
            end = text.indexOf('}', start);
            if (end < 0) {
                out->append(text.sliced(i));
                break;
            }
            ++start;
            next = end + 1;
        } else {
            while (end < text.size() && isVariableChar(text[end]))
                ++end;
            next = end;
        }
        if (end == start) {
            out->append(c);
            ++i;
            continue;
        }
        QByteArrayView value;
        if (HashKey::variable(text.sliced(start, end - start), request, &value)) {
            out->append(value.data(), value.size());
            ++resolved;
        }
        i = next;
    }
    return resolved;
}

} // namespace

QByteArrayView HashKey::compute(const Upstream &upstream, const HashKeyRequest &request, QByteArray *scratch)
{
    QByteArrayView value;
    bool found = false;
    switch (upstream.hashOn) {
    case Upstream::HashOn::Vars:
        found = variable(upstream.key, request, &value);
        break;
    case Upstream::HashOn::Header:
        found = header(upstream.key, request, &value);
        break;
    case Upstream::HashOn::Cookie:
        found = cookie(upstream.key, request, &value);
        break;
    case Upstream::HashOn::Consumer:
        found = !request.consumerName.isEmpty();
        value = request.consumerName;
        break;
    case Upstream::HashOn::VarsCombinations:
        if (scratch && resolveTemplate(upstream.key, request, scratch) > 0) {
            found = true;
            value = *scratch;
        }
        break;
    }
    return found ? value : request.remoteAddr;
}

bool HashKey::variable(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value)
{
    QByteArrayView v;
    if (name == "remote_addr") {
        v = request.remoteAddr;
    } else if (name == "uri") {
        v = request.path;
    } else if (name == "request_uri") {
        v = request.requestUri;
    } else if (name == "host") {
        v = request.host;
    } else if (name == "server_name") {
        v = request.serverName.isEmpty() ? request.host : request.serverName;
    } else if (name == "request_method") {
        v = request.method;
    } else if (name == "args" || name == "query_string") {
        v = queryOf(request.requestUri);
    } else if (name.startsWith("arg_")) {
        return queryArgument(name.sliced(4), request, value);
    } else if (name.startsWith("http_")) {
        return header(name.sliced(5), request, value);
    } else if (name.startsWith("cookie_")) {
        return cookie(name.sliced(7), request, value);
    } else {
        return false;
    }
    if (!v.data())
        return false;
    *value = v;
    return true;
}

bool HashKey::header(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value)
{
    if (request.headerLookup) {
        QByteArrayView v = request.headerLookup(name);
        if (!v.data()) {
            // The lookup may only know the canonical spelling; nginx's variables use '_' for '-'.
            if (!name.contains('_'))
                return false;
            QByteArray dashed = name.toByteArray();
            dashed.replace('_', '-');
            v = request.headerLookup(dashed);
            if (!v.data())
                return false;
        }
        *value = present(v);
        return true;
    }
    for (qsizetype i = 0; i < request.headerCount; ++i) {
        if (sameHeaderName(request.headers[i].first, name)) {
            *value = present(request.headers[i].second);
            return true;
        }
    }
    return false;
}

bool HashKey::cookie(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value)
{
    QByteArrayView cookies;
    if (!header("cookie", request, &cookies))
        return false;
    // "a=1; b=2": nginx compares cookie names case-insensitively and keeps the value as sent.
    return anyPiece(cookies, ';', [&](QByteArrayView piece) {
        const QByteArrayView pair = trimmed(piece);
        const qsizetype eq = pair.indexOf('=');
        if (eq <= 0 || !sameCaseInsensitive(trimmed(pair.first(eq)), name))
            return false;
        *value = present(trimmed(pair.sliced(eq + 1)));
        return true;
    });
}

bool HashKey::queryArgument(QByteArrayView name, const HashKeyRequest &request, QByteArrayView *value)
{
    const QByteArrayView query = queryOf(request.requestUri);
    if (!query.data())
        return false;
    // As nginx's $arg_<name>: first match, name case-insensitive, value not decoded.
    return anyPiece(query, '&', [&](QByteArrayView pair) {
        const qsizetype eq = pair.indexOf('=');
        const QByteArrayView key = eq < 0 ? pair : pair.first(eq);
        if (!sameCaseInsensitive(key, name))
            return false;
        *value = present(eq < 0 ? QByteArrayView() : pair.sliced(eq + 1));
        return true;
    });
}
