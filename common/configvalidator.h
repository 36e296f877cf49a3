// Turns one APISIX-format JSON object into a validated Route, Upstream or Service, or says why not.
#pragma once

#include "configobjects.h"
#include "validationerror.h"

#include <QJsonValue>

class ConfigValidator
{
public:
    // Each returns null and appends every error it finds (key "<collection>/<id>") when the object is
    // invalid. An "id" field, when present, must equal the id of the key; ids may be strings or integers.
    // With an empty id the object's own "id" field is the id. Unknown fields stay in the object's json.
    static RoutePtr parseRoute(const QString &id, const QJsonValue &value, ValidationErrors *errors);
    static UpstreamPtr parseUpstream(const QString &id, const QJsonValue &value, ValidationErrors *errors);
    static ServicePtr parseService(const QString &id, const QJsonValue &value, ValidationErrors *errors);

    // An id or reference written as a non-empty string or an integer >= 1, as APISIX accepts both (12 and
    // "12" give the same id "12"); false for anything else.
    static bool idFromJson(const QJsonValue &value, QString *id);
};
