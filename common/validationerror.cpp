#include "validationerror.h"

QString ValidationError::toString() const
{
    QString out;
    out.reserve(key.size() + pointer.size() + message.size() + 4);
    if (!key.isEmpty())
        out += key + QLatin1String(": ");
    if (!pointer.isEmpty())
        out += pointer + QLatin1String(": ");
    out += message;
    return out;
}
