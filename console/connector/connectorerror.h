// What went wrong talking to a gateway's admin API, sorted so that a person and a script can act on it.
#pragma once

#include <QString>

class ConnectorError
{
public:
    enum class Kind
    {
        None,
        Unreachable,        // refused, host not found, connection reset, network down
        Tls,                // handshake failed, certificate not trusted
        Auth,               // 401/403: missing or wrong token, or the token file could not be read
        Timeout,            // no answer in time
        Refused,            // the gateway answered and said no (409 and other 4xx/5xx)
        UnexpectedDocument, // an answer that is not the document the call promises
    };

    ConnectorError() = default;
    ConnectorError(Kind kind, QString message)
        : m_kind(kind)
        , m_message(std::move(message))
    {}

    Kind kind() const { return m_kind; }
    bool isError() const { return m_kind != Kind::None; }
    const QString &message() const { return m_message; }
    // "unreachable", "tls", "auth", "timeout", "refused", "unexpected-document"; "" for None.
    static QString kindName(Kind kind);
    QString kindName() const { return kindName(m_kind); }
    // "unreachable: connection refused (http://127.0.0.1:9180/v1/status)".
    QString toString() const;

    bool operator==(const ConnectorError &other) const
    {
        return m_kind == other.m_kind && m_message == other.m_message;
    }
    bool operator!=(const ConnectorError &other) const { return !(*this == other); }

private:
    Kind m_kind = Kind::None;
    QString m_message;
};
