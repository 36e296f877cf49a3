// Header fields as llhttp hands them over, in fragments, assembled into HttpHeaders (requests and responses).
#pragma once

#include "httpheaders.h"

#include <QByteArrayView>

// One per parser. The target changes with the part of the message being read (a response's head, then its
// trailers); none means the fields are read and dropped (a request's trailers are not forwarded).
class HeaderFieldReader
{
public:
    void setTarget(HttpHeaders *headers) { m_target = headers; }
    // nginx's default (underscores_in_headers off): a name with '_' may be read as its '-' twin by a
    // CGI-style upstream (X_Auth_User and X-Auth-User both become HTTP_X_AUTH_USER), so it is dropped.
    void setDropUnderscoreNames(bool drop) { m_dropUnderscoreNames = drop; }
    // A new message begins.
    void reset()
    {
        m_inName = false;
        m_dropField = false;
    }

    void nameFragment(QByteArrayView fragment);
    void nameComplete();
    void valueFragment(QByteArrayView fragment);
    void valueComplete();

private:
    HttpHeaders *m_target = nullptr;
    bool m_dropUnderscoreNames = false;
    bool m_inName = false;
    bool m_dropField = false;
};
