// HTTP header fields kept as bytes in one flat buffer: no per-field allocation, no hashing, reusable.
#pragma once

#include "bytebuffer.h"

#include <QByteArray>
#include <QByteArrayView>

#include <vector>

// Fields stay in arrival order, names in the case the peer wrote them. Lookups are linear and
// case-insensitive: a request carries a dozen fields, where a scan beats a hash and allocates nothing.
// clear() keeps the capacity, so one instance per connection serves every request on it.
class HttpHeaders
{
public:
    struct Field
    {
        int nameOffset = 0;
        int nameLength = 0;
        int valueOffset = 0;
        int valueLength = 0;
    };

    void clear();
    bool isEmpty() const { return m_fields.empty(); }
    int size() const { return int(m_fields.size()); }

    QByteArrayView name(int index) const
    {
        const Field &f = m_fields[size_t(index)];
        return QByteArrayView(m_bytes.constData() + f.nameOffset, f.nameLength);
    }
    QByteArrayView value(int index) const
    {
        const Field &f = m_fields[size_t(index)];
        return QByteArrayView(m_bytes.constData() + f.valueOffset, f.valueLength);
    }

    // Index of the first field named `name` at or after `from`, or -1.
    int indexOf(QByteArrayView name, int from = 0) const;
    bool contains(QByteArrayView name) const { return indexOf(name) >= 0; }
    // The first field's value; empty when absent.
    QByteArrayView value(QByteArrayView name) const;
    int count(QByteArrayView name) const;

    void append(QByteArrayView name, QByteArrayView value);
    void removeAll(QByteArrayView name);
    // The fields of `other` for which keep(index) holds, in order, sharing its bytes (no copy: the next
    // write to either side copies them, so `other`'s owner clearing it for its next head must come after
    // this one is cleared or reassigned).
    template<typename Keep>
    void assignFields(const HttpHeaders &other, Keep &&keep)
    {
        m_bytes = other.m_bytes;
        m_used = other.m_used;
        m_fields.clear();
        for (int i = 0; i < other.size(); ++i) {
            if (keep(i))
                m_fields.push_back(other.m_fields[size_t(i)]);
        }
    }
    void removeLast() { m_fields.pop_back(); }

    // Streaming construction, as a parser delivers fields in fragments: a new field begins with
    // beginField(), then any number of name and value fragments, then finishField() trims the value.
    void beginField();
    void appendNameFragment(QByteArrayView fragment);
    void appendValueFragment(QByteArrayView fragment);
    void finishField();

    // "Name: value\r\n" for every field, appended to `out`.
    void serialize(ByteBuffer &out) const;
    // One field so, for heads written without an HttpHeaders (inline: a head has a dozen).
    static void serializeField(ByteBuffer &out, QByteArrayView name, QByteArrayView value)
    {
        out.append(name);
        out.append(": ");
        out.append(value);
        out.append("\r\n");
    }

    // Calls visit(item) for each item of a comma-separated field value (as Connection, Upgrade), spaces
    // and tabs around it trimmed and empty items skipped, until a visit returns true; returns whether one
    // did.
    template<typename Visit>
    static bool anyListItem(QByteArrayView list, Visit &&visit)
    {
        for (qsizetype start = 0; start < list.size();) {
            qsizetype end = list.indexOf(',', start);
            if (end < 0)
                end = list.size();
            QByteArrayView item = list.sliced(start, end - start);
            while (!item.isEmpty() && isWhiteSpace(item.front()))
                item = item.sliced(1);
            while (!item.isEmpty() && isWhiteSpace(item.back()))
                item.chop(1);
            if (!item.isEmpty() && visit(item))
                return true;
            start = end + 1;
        }
        return false;
    }
    // Whether the comma-separated list in `list` holds `token` (case-insensitive), as in Connection.
    static bool listContains(QByteArrayView list, QByteArrayView token);
    static bool equalsIgnoringCase(QByteArrayView a, QByteArrayView b)
    {
        // Inline: most calls compare names of different lengths.
        return a.size() == b.size() && equalsIgnoringCaseSameSize(a.data(), b.data(), a.size());
    }
    // HTTP's optional white space (OWS): a space or a tab.
    static bool isWhiteSpace(char c) { return c == ' ' || c == '\t'; }

private:
    static bool equalsIgnoringCaseSameSize(const char *a, const char *b, qsizetype size);
    void appendBytes(QByteArrayView data);

    QByteArray m_bytes; // [0, m_used) holds the fields; the rest is room for the next
    qsizetype m_used = 0;
    std::vector<Field> m_fields;
};
