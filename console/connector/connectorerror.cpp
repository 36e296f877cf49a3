#include "connectorerror.h"

QString ConnectorError::kindName(Kind kind)
{
    switch (kind) {
    case Kind::None:
        return {};
    case Kind::Unreachable:
        return QStringLiteral("unreachable");
    case Kind::Tls:
        return QStringLiteral("tls");
    case Kind::Auth:
        return QStringLiteral("auth");
    case Kind::Timeout:
        return QStringLiteral("timeout");
    case Kind::Refused:
        return QStringLiteral("refused");
    case Kind::UnexpectedDocument:
        return QStringLiteral("unexpected-document");
    }
    return {};
}

QString ConnectorError::toString() const
{
    if (!isError())
        return {};
    return QStringLiteral("%1: %2").arg(kindName(), m_message);
}
