#include "httpheaders.h"

#include <algorithm>

namespace {

inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
}

} // namespace

bool HttpHeaders::equalsIgnoringCase(QByteArrayView a, QByteArrayView b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool HttpHeaders::listContains(QByteArrayView list, QByteArrayView token)
{
    return anyListItem(list, [token](QByteArrayView item) { return equalsIgnoringCase(item, token); });
}

void HttpHeaders::clear()
{
    m_bytes.resize(0); // Qt 6 keeps the capacity
    m_fields.clear();  // std::vector keeps the capacity
}

QByteArrayView HttpHeaders::name(int index) const
{
    const Field &f = m_fields[size_t(index)];
    return QByteArrayView(m_bytes.constData() + f.nameOffset, f.nameLength);
}

QByteArrayView HttpHeaders::value(int index) const
{
    const Field &f = m_fields[size_t(index)];
    return QByteArrayView(m_bytes.constData() + f.valueOffset, f.valueLength);
}

int HttpHeaders::indexOf(QByteArrayView fieldName, int from) const
{
    for (int i = from; i < size(); ++i) {
        if (equalsIgnoringCase(name(i), fieldName))
            return i;
    }
    return -1;
}

QByteArrayView HttpHeaders::value(QByteArrayView fieldName) const
{
    const int i = indexOf(fieldName);
    return i < 0 ? QByteArrayView() : value(i);
}

int HttpHeaders::count(QByteArrayView fieldName) const
{
    int n = 0;
    for (int i = 0; i < size(); ++i) {
        if (equalsIgnoringCase(name(i), fieldName))
            ++n;
    }
    return n;
}

void HttpHeaders::append(QByteArrayView fieldName, QByteArrayView fieldValue)
{
    Field f;
    f.nameOffset = int(m_bytes.size());
    f.nameLength = int(fieldName.size());
    m_bytes.append(fieldName.data(), fieldName.size());
    f.valueOffset = int(m_bytes.size());
    f.valueLength = int(fieldValue.size());
    m_bytes.append(fieldValue.data(), fieldValue.size());
    m_fields.push_back(f);
}

void HttpHeaders::removeAll(QByteArrayView fieldName)
{
    // The bytes stay; only the index forgets the fields.
    size_t out = 0;
    for (size_t i = 0; i < m_fields.size(); ++i) {
        if (!equalsIgnoringCase(name(int(i)), fieldName))
            m_fields[out++] = m_fields[i];
    }
    m_fields.resize(out);
}

void HttpHeaders::beginField()
{
    Field f;
    f.nameOffset = int(m_bytes.size());
    f.valueOffset = f.nameOffset;
    m_fields.push_back(f);
}

void HttpHeaders::appendNameFragment(QByteArrayView fragment)
{
    Field &f = m_fields.back();
    m_bytes.append(fragment.data(), fragment.size());
    f.nameLength += int(fragment.size());
    f.valueOffset = int(m_bytes.size());
}

void HttpHeaders::appendValueFragment(QByteArrayView fragment)
{
    Field &f = m_fields.back();
    m_bytes.append(fragment.data(), fragment.size());
    f.valueLength += int(fragment.size());
}

void HttpHeaders::finishField()
{
    if (m_fields.empty())
        return;
    Field &f = m_fields.back();
    const char *v = m_bytes.constData() + f.valueOffset;
    while (f.valueLength > 0 && isWhiteSpace(v[f.valueLength - 1]))
        --f.valueLength;
    while (f.valueLength > 0 && isWhiteSpace(v[0])) {
        ++v;
        ++f.valueOffset;
        --f.valueLength;
    }
}

void HttpHeaders::serialize(QByteArray &out) const
{
    for (const Field &f : m_fields) {
        out.append(m_bytes.constData() + f.nameOffset, f.nameLength);
        out.append(": ", 2);
        out.append(m_bytes.constData() + f.valueOffset, f.valueLength);
        out.append("\r\n", 2);
    }
}
