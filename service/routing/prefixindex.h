// A persistent map from byte keys (exact or prefix) to values: a copy shares all but what is changed.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QHash>
#include <QMap>

#include <vector>

// The router's index of uris (and of reversed hosts). Keys live in shards, each an implicitly shared
// QHash: copying the index copies only the shard handles, and a change detaches only the shard of its
// key, so a router generation shares every untouched shard with the one before it. A lookup visits the
// value of the exact key first, then those of every prefix key the looked-up key starts with, the
// longest first: the order of lua-resty-radixtree, which both APISIX routers are made of. Readers on
// many threads may share one instance while a copy of it is changed on another (Qt's reference counts
// are atomic); an instance itself is changed by one thread only and never while others read it.
template<typename V>
class PrefixIndex
{
public:
    bool isEmpty() const { return m_exact.count == 0 && m_prefix.count == 0; }
    qsizetype size() const { return m_exact.count + m_prefix.count; }

    const V *find(const QByteArray &key, bool prefix) const
    {
        return (prefix ? m_prefix : m_exact).find(key);
    }
    // The stored value for `key`, default-constructed first when absent; detaches only its shard.
    V &slot(const QByteArray &key, bool prefix)
    {
        Table &table = prefix ? m_prefix : m_exact;
        bool added = false;
        V &value = table.slot(key, &added);
        if (added && prefix)
            addLength(key, +1);
        else if (added)
            m_exactFilter.add(key);
        return value;
    }
    void remove(const QByteArray &key, bool prefix)
    {
        Table &table = prefix ? m_prefix : m_exact;
        if (!table.remove(key))
            return;
        if (prefix)
            addLength(key, -1);
        else if (m_exact.count * 2 < m_exactFilter.keys)
            rebuildExactFilter();
    }

    // Calls visit(value) in match order until it returns true; returns whether one did. Never allocates.
    template<typename Visitor>
    bool visit(QByteArrayView key, Visitor &&visit) const
    {
        if (m_exactFilter.mayContain(key)) {
            if (const V *value = m_exact.find(key); value && visit(*value))
                return true;
        }
        for (const LengthClass &c : m_lengths) {
            if (!c.mayBeAPrefixOf(key))
                continue;
            if (const V *value = m_prefix.find(key.first(c.length)); value && visit(*value))
                return true;
        }
        return false;
    }

    // Every (key, prefix, value), in no particular order.
    template<typename Fn>
    void forEach(Fn &&fn) const
    {
        m_exact.forEach([&](const QByteArray &key, const V &value) { fn(key, false, value); });
        m_prefix.forEach([&](const QByteArray &key, const V &value) { fn(key, true, value); });
    }

private:
    struct Table
    {
        std::vector<QHash<QByteArray, V>> shards = std::vector<QHash<QByteArray, V>>(1);
        qsizetype count = 0;

        static size_t hashOf(QByteArrayView key) { return qHash(key, size_t(0x9e3779b9)); }
        const QHash<QByteArray, V> &shardFor(QByteArrayView key) const
        {
            return shards[hashOf(key) & (shards.size() - 1)];
        }
        const V *find(QByteArrayView key) const
        {
            const QHash<QByteArray, V> &shard = shardFor(key);
            // fromRawData: no copy and no allocation on the request path.
            const auto it = shard.constFind(QByteArray::fromRawData(key.data(), key.size()));
            return it == shard.constEnd() ? nullptr : &it.value();
        }
        V &slot(const QByteArray &key, bool *added)
        {
            // A few keys per shard: a change copies little, a copy of the index holds few handles.
            if (count >= qsizetype(shards.size()) * 16)
                grow();
            QHash<QByteArray, V> &shard = shards[hashOf(key) & (shards.size() - 1)];
            auto it = shard.find(key);
            if (it == shard.end()) {
                it = shard.insert(key, V());
                ++count;
                *added = true;
            }
            return it.value();
        }
        bool remove(const QByteArray &key)
        {
            QHash<QByteArray, V> &shard = shards[hashOf(key) & (shards.size() - 1)];
            if (!shard.contains(key))
                return false;
            shard.remove(key);
            --count;
            return true;
        }
        void grow()
        {
            std::vector<QHash<QByteArray, V>> next(shards.size() * 4);
            for (const QHash<QByteArray, V> &shard : shards) {
                for (auto it = shard.cbegin(); it != shard.cend(); ++it)
                    next[hashOf(it.key()) & (next.size() - 1)].insert(it.key(), it.value());
            }
            shards = std::move(next);
        }
        template<typename Fn>
        void forEach(Fn &&fn) const
        {
            for (const QHash<QByteArray, V> &shard : shards) {
                for (auto it = shard.cbegin(); it != shard.cend(); ++it)
                    fn(it.key(), it.value());
            }
        }
    };

    // The prefix keys of one length, and which bytes they end with: a key whose byte at that length does
    // not end any of them is not hashed for it. Uri prefixes mostly end with '/', so a lookup hashes about
    // one prefix of the path however many prefix lengths there are.
    struct LengthClass
    {
        quint32 length = 0;
        quint64 lastBytes[4] = {0, 0, 0, 0};

        bool mayBeAPrefixOf(QByteArrayView key) const
        {
            if (length > quint32(key.size()))
                return false;
            if (length == 0)
                return true;
            const uchar last = uchar(key[length - 1]);
            return (lastBytes[last >> 6] >> (last & 63)) & 1;
        }
    };

    // The lengths of the exact keys and the bytes they end with, each folded into 64 bits: a looked-up key
    // whose length or last byte no exact key has is not hashed. A request host that names no host route
    // (the usual case: most routes have none) is then turned away by two bit tests instead of a hash
    // lookup. Removals leave their bits set (a stale bit only costs a lookup) until half the keys are
    // gone, when the filter is rebuilt from those left.
    struct ExactFilter
    {
        quint64 lengths = 0;
        quint64 lastBytes = 0;
        qsizetype keys = 0; // exact keys when last rebuilt, plus those added since

        void add(QByteArrayView key)
        {
            lengths |= quint64(1) << (key.size() & 63);
            if (!key.isEmpty())
                lastBytes |= quint64(1) << (uchar(key.back()) & 63);
            ++keys;
        }
        bool mayContain(QByteArrayView key) const
        {
            return ((lengths >> (key.size() & 63)) & 1) &&
                   (key.isEmpty() || ((lastBytes >> (uchar(key.back()) & 63)) & 1));
        }
    };
    void rebuildExactFilter()
    {
        m_exactFilter = ExactFilter();
        m_exact.forEach([this](const QByteArray &key, const V &) { m_exactFilter.add(key); });
    }

    // Counted per (length, last byte), so that a removal knows when a byte no longer ends any key.
    void addLength(const QByteArray &key, int delta)
    {
        const quint64 id = (quint64(key.size()) << 8) | (key.isEmpty() ? 0u : uchar(key.back()));
        const int was = m_lengthCounts.value(id);
        const int now = was + delta;
        if (now > 0)
            m_lengthCounts.insert(id, now);
        else
            m_lengthCounts.remove(id);
        if ((was > 0) == (now > 0))
            return;
        m_lengths.clear();
        for (auto it = m_lengthCounts.cend(); it != m_lengthCounts.cbegin();) {
            --it;
            const quint32 length = quint32(it.key() >> 8);
            const uchar last = uchar(it.key() & 0xff);
            if (m_lengths.empty() || m_lengths.back().length != length)
                m_lengths.push_back(LengthClass{length, {0, 0, 0, 0}});
            m_lengths.back().lastBytes[last >> 6] |= quint64(1) << (last & 63);
        }
    }

    Table m_exact;
    ExactFilter m_exactFilter;
    Table m_prefix;
    QMap<quint64, int> m_lengthCounts;  // prefix keys per (key length << 8 | last byte)
    std::vector<LengthClass> m_lengths; // the lengths of prefix keys, longest first
};
