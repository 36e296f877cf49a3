// The checks of an upstream object (nodes, health checks, hashing, timeouts), inline or on its own.
#pragma once

#include "fieldchecker.h"

#include <memory>

namespace validation {

// Null (with the errors recorded in `c`) when the upstream object `o` is invalid.
std::shared_ptr<Upstream> parseUpstreamObject(FieldChecker &c, const QJsonObject &o);

} // namespace validation
