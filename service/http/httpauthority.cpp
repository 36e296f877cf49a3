#include "httpauthority.h"

namespace {

bool isRegNameChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool isIpv6Char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

bool validPort(QByteArrayView port)
{
    if (port.isEmpty() || port.size() > 5)
        return false;
    int value = 0;
    for (char c : port) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    return value <= 65535;
}

} // namespace

bool HttpAuthority::split(QByteArrayView authority, QByteArrayView *host, QByteArrayView *port,
                          const char **why)
{
    QByteArrayView rest;
    if (authority.startsWith('[')) {
        const qsizetype end = authority.indexOf(']');
        if (end < 0) {
            *why = "unterminated IPv6 literal in host";
            return false;
        }
        *host = authority.sliced(1, end - 1);
        if (host->isEmpty() || host->indexOf(':') < 0) {
            *why = "invalid IPv6 literal in host";
            return false;
        }
        for (char c : *host) {
            if (!isIpv6Char(c)) {
                *why = "invalid character in IPv6 literal";
                return false;
            }
        }
        rest = authority.sliced(end + 1);
    } else {
        qsizetype i = 0;
        while (i < authority.size() && isRegNameChar(authority[i]))
            ++i;
        *host = authority.first(i);
        rest = authority.sliced(i);
        if (host->isEmpty()) {
            *why = authority.isEmpty() ? "empty host" : "invalid character in host";
            return false;
        }
    }
    if (rest.isEmpty()) {
        *port = {};
        return true;
    }
    if (rest.front() != ':') {
        *why = rest.front() == '@' ? "userinfo in host" : "invalid character in host";
        return false;
    }
    *port = rest.sliced(1);
    if (!validPort(*port)) {
        *why = port->indexOf('@') >= 0 ? "userinfo in host" : "invalid port in host";
        return false;
    }
    return true;
}
