#include "httpheaders.h"

#include <cstring>

namespace {

inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
}

} // namespace

bool HttpHeaders::equalsIgnoringCaseSameSize(const char *a, const char *b, qsizetype size)
{
    for (qsizetype i = 0; i < size; ++i) {
        if (a[i] != b[i] && lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

bool HttpHeaders::listContains(QByteArrayView list, QByteArrayView token)
{
    return anyListItem(list, [token](QByteArrayView item) { return equalsIgnoringCase(item, token); });
}

void HttpHeaders::clear()
{
    m_used = 0;       // the bytes' storage is kept for the next head
    m_fields.clear(); // std::vector keeps the capacity
    // Storage shared with a copy (assignFields()) is let go rather than copied when written to next.
    if (!m_bytes.isDetached())
        m_bytes = QByteArray();
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
    f.nameOffset = int(m_used);
    f.nameLength = int(fieldName.size());
    appendBytes(fieldName);
    f.valueOffset = int(m_used);
    f.valueLength = int(fieldValue.size());
    appendBytes(fieldValue);
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
    f.nameOffset = int(m_used);
    f.valueOffset = f.nameOffset;
    m_fields.push_back(f);
}

void HttpHeaders::appendNameFragment(QByteArrayView fragment)
{
    Field &f = m_fields.back();
    appendBytes(fragment);
    f.nameLength += int(fragment.size());
    f.valueOffset = int(m_used);
}

void HttpHeaders::appendValueFragment(QByteArrayView fragment)
{
    Field &f = m_fields.back();
    appendBytes(fragment);
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

void HttpHeaders::appendBytes(QByteArrayView data)
{
    const qsizetype n = data.size();
    if (n == 0)
        return;
    const bool full = m_bytes.size() - m_used < n;
    QByteArray copy;
    if (full || !m_bytes.isDetached()) {
        // A field of these headers again would not survive the storage moving: copied first.
        if (data.data() >= m_bytes.constData() && data.data() < m_bytes.constData() + m_used) {
            copy = data.toByteArray();
            data = copy;
        }
        m_bytes.resize(full ? qMax(qMax<qsizetype>(2 * m_bytes.size(), m_used + n), 64) : m_bytes.size());
    }
    std::memcpy(m_bytes.data() + m_used, data.data(), size_t(n));
    m_used += n;
}

void HttpHeaders::serialize(ByteBuffer &out) const
{
    for (int i = 0; i < size(); ++i)
        serializeField(out, name(i), value(i));
}
