#include "connectorerror.h"

#include "enumnames.h"

#include <iterator>

QString ConnectorError::kindName(Kind kind)
{
    static const char *const names[] = {nullptr,   "unreachable",        "tls", "auth", "timeout",
                                        "refused", "unexpected-document"};
    static_assert(std::size(names) == std::size_t(Kind::UnexpectedDocument) + 1);
    return enumName(names, kind);
}

QString ConnectorError::toString() const
{
    if (!isError())
        return {};
    return QStringLiteral("%1: %2").arg(kindName(), m_message);
}
