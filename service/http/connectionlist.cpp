#include "connectionlist.h"

#include "httpheaders.h"

namespace {

bool isSpace(char c)
{
    return c == ' ' || c == '\t';
}

QByteArray lowered(QByteArrayView name)
{
    QByteArray out(name.data(), name.size());
    for (char &c : out) {
        if (c >= 'A' && c <= 'Z')
            c = char(c + 32);
    }
    return out;
}

} // namespace

ConnectionList::ConnectionList(QByteArrayView value)
{
    qsizetype start = 0;
    while (start < value.size()) {
        qsizetype end = value.indexOf(',', start);
        if (end < 0)
            end = value.size();
        qsizetype b = start;
        qsizetype e = end;
        while (b < e && isSpace(value[b]))
            ++b;
        while (e > b && isSpace(value[e - 1]))
            --e;
        if (e > b)
            m_tokens.append(value.sliced(b, e - b));
        start = end + 1;
    }
    if (m_tokens.size() > ScanLimit) {
        m_lowered.reserve(m_tokens.size());
        for (QByteArrayView token : m_tokens)
            m_lowered.insert(lowered(token));
    }
}

bool ConnectionList::contains(QByteArrayView name) const
{
    if (m_tokens.size() <= ScanLimit) {
        for (QByteArrayView token : m_tokens) {
            if (HttpHeaders::equalsIgnoringCase(token, name))
                return true;
        }
        return false;
    }
    return m_lowered.contains(lowered(name));
}
