#include "connectionlist.h"

#include "httpheaders.h"

namespace {

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
    HttpHeaders::anyListItem(value, [this](QByteArrayView token) {
        m_tokens.append(token);
        return false;
    });
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
