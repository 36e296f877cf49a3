// Display names of an enum's values, kept in an array indexed by the value: one lookup for every such table.
#pragma once

#include <QString>

#include <cstddef>

// The name of `value` in `names`, which is indexed by the enum's values (from 0, without gaps; callers
// static_assert that it covers the last one). A null entry, or a value past the end, reads as "".
template<typename E, std::size_t N>
QString enumName(const char *const (&names)[N], E value)
{
    const auto i = std::size_t(value);
    return i < N && names[i] ? QString::fromUtf8(names[i]) : QString();
}
