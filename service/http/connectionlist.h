// The field names a Connection header lists: hop-by-hop fields a proxy must not forward.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QSet>
#include <QVarLengthArray>

// Looking each forwarded field up in the list must stay linear in the size of the head: a client that
// sends 2,000 fields and lists all of them in Connection would otherwise cost 4 million comparisons per
// request. A short list (the usual "keep-alive", "close", "Upgrade") is scanned; a long one is hashed.
class ConnectionList
{
public:
    explicit ConnectionList(QByteArrayView value);

    bool isEmpty() const { return m_tokens.isEmpty(); }
    bool contains(QByteArrayView name) const;

private:
    static constexpr qsizetype ScanLimit = 8;

    QVarLengthArray<QByteArrayView, ScanLimit> m_tokens; // views into the field value, trimmed
    QSet<QByteArray> m_lowered;                          // every token in lower case, when there are many
};
