// HTTP header fields kept as bytes in one flat buffer: no per-field allocation, no hashing, reusable.
#pragma once

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

    QByteArrayView name(int index) const;
    QByteArrayView value(int index) const;

    // Index of the first field named `name` at or after `from`, or -1.
    int indexOf(QByteArrayView name, int from = 0) const;
    bool contains(QByteArrayView name) const { return indexOf(name) >= 0; }
    // The first field's value; empty when absent.
    QByteArrayView value(QByteArrayView name) const;
    int count(QByteArrayView name) const;

    void append(QByteArrayView name, QByteArrayView value);
    void removeAll(QByteArrayView name);
    void removeLast() { m_fields.pop_back(); }

    // Streaming construction, as a parser delivers fields in fragments: a new field begins with
    // beginField(), then any number of name and value fragments, then finishField() trims the value.
    void beginField();
    void appendNameFragment(QByteArrayView fragment);
    void appendValueFragment(QByteArrayView fragment);
    void finishField();

    // "Name: value\r\n" for every field, appended to `out`.
    void serialize(QByteArray &out) const;

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
    static bool equalsIgnoringCase(QByteArrayView a, QByteArrayView b);
    // HTTP's optional white space (OWS): a space or a tab.
    static bool isWhiteSpace(char c) { return c == ' ' || c == '\t'; }

private:
    QByteArray m_bytes;
    std::vector<Field> m_fields;
};
