// Strict syntax of an HTTP authority (Host field, absolute-form target): host and port, nothing else.
#pragma once

#include <QByteArrayView>

// RFC 9110 section 7.2 with nginx's strictness: a reg-name of letters, digits, '-', '.', '_' and '~',
// an IPv4 address, or an IPv6 literal in brackets; then optionally ':' and a port of 1 to 5 digits up
// to 65535. Userinfo ("a@b"), percent-encoding, a second colon or any other character is refused, so
// the host the gateway routes on is the host a downstream server sees.
class HttpAuthority
{
public:
    // Splits `authority`; false (with `why` set) when it is not a valid host[:port].
    static bool split(QByteArrayView authority, QByteArrayView *host, QByteArrayView *port, const char **why);
};
