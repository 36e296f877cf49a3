// A sorted map from QString ids to values whose copies share all but the chunks a change touches.
#pragma once

#include <QString>
#include <QStringList>

#include <algorithm>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

// The objects of a configuration snapshot (ConfigSnapshot::Routes, ...). Entries live in sorted chunks
// of at most MaxChunk, held by a spine of chunk handles: copying a map copies one handle; a change to a
// copy then copies the spine (one pointer per chunk) and the one chunk it touches, so with 100k routes a
// put costs about a thousand pointer copies instead of the 100k-node copy a detaching QMap makes. A
// spine or chunk used by this map alone is changed in place (a full sync inserts without copying).
//
// Threads: a map, like a QMap, is changed by one thread only and never while another reads that same
// instance; copies of it may be read on any number of threads meanwhile (the handles are shared_ptrs,
// whose counts are atomic, and a chunk or spine is never changed while a second map refers to it).
// Iteration is in key order (QString's operator<, the order QMap and QJsonObject use).
template<typename V>
class PersistentMap
{
    using Entry = std::pair<QString, V>;
    using Chunk = std::vector<Entry>;
    using ChunkPtr = std::shared_ptr<Chunk>;
    using Spine = std::vector<ChunkPtr>;

public:
    using key_type = QString;
    using mapped_type = V;
    static constexpr std::size_t MaxChunk = 128;

    class const_iterator
    {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = V;
        using difference_type = std::ptrdiff_t;
        using pointer = const V *;
        using reference = const V &;

        const_iterator() = default;
        const QString &key() const { return entry().first; }
        const V &value() const { return entry().second; }
        const V &operator*() const { return entry().second; }
        const V *operator->() const { return &entry().second; }
        const_iterator &operator++()
        {
            if (++m_index == (*m_spine)[m_chunk]->size()) {
                ++m_chunk;
                m_index = 0;
            }
            return *this;
        }
        const_iterator operator++(int)
        {
            const_iterator was = *this;
            ++*this;
            return was;
        }
        bool operator==(const const_iterator &o) const
        {
            return m_chunk == o.m_chunk && m_index == o.m_index;
        }
        bool operator!=(const const_iterator &o) const { return !(*this == o); }

    private:
        friend class PersistentMap;
        const_iterator(const Spine *spine, std::size_t chunk, std::size_t index)
            : m_spine(spine)
            , m_chunk(chunk)
            , m_index(index)
        {}
        const Entry &entry() const { return (*(*m_spine)[m_chunk])[m_index]; }

        const Spine *m_spine = nullptr;
        std::size_t m_chunk = 0;
        std::size_t m_index = 0;
    };
    using iterator = const_iterator;

    qsizetype size() const { return m_size; }
    qsizetype count() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }

    const_iterator cbegin() const { return const_iterator(m_spine.get(), 0, 0); }
    const_iterator cend() const { return const_iterator(m_spine.get(), m_spine ? m_spine->size() : 0, 0); }
    const_iterator begin() const { return cbegin(); }
    const_iterator end() const { return cend(); }
    const_iterator constBegin() const { return cbegin(); }
    const_iterator constEnd() const { return cend(); }

    const_iterator constFind(const QString &key) const
    {
        std::size_t chunk = 0;
        std::size_t index = 0;
        return locate(key, &chunk, &index) ? const_iterator(m_spine.get(), chunk, index) : cend();
    }
    const_iterator find(const QString &key) const { return constFind(key); }
    bool contains(const QString &key) const
    {
        std::size_t chunk = 0;
        std::size_t index = 0;
        return locate(key, &chunk, &index);
    }
    // The value of `key`, or a default-constructed V (a null pointer for the snapshot's objects).
    V value(const QString &key) const
    {
        std::size_t chunk = 0;
        std::size_t index = 0;
        return locate(key, &chunk, &index) ? (*(*m_spine)[chunk])[index].second : V();
    }

    // The value of the smallest key; the map must not be empty.
    const V &first() const { return m_spine->front()->front().second; }

    QStringList keys() const
    {
        QStringList out;
        out.reserve(m_size);
        for (auto it = cbegin(); it != cend(); ++it)
            out.append(it.key());
        return out;
    }

    void insert(const QString &key, V value)
    {
        if (m_size == 0) {
            m_spine = std::make_shared<Spine>(1, std::make_shared<Chunk>());
            m_spine->front()->emplace_back(key, std::move(value));
            m_size = 1;
            return;
        }
        const std::size_t chunkIndex = chunkFor(key);
        Chunk &chunk = ownChunk(chunkIndex);
        const auto at = std::lower_bound(chunk.begin(), chunk.end(), key,
                                         [](const Entry &e, const QString &k) { return e.first < k; });
        if (at != chunk.end() && at->first == key) {
            at->second = std::move(value);
            return;
        }
        chunk.emplace(at, key, std::move(value));
        ++m_size;
        if (chunk.size() > MaxChunk) {
            // Split in two halves; appending in key order (a full sync) then fills chunks to MaxChunk / 2.
            const auto middle = chunk.begin() + std::ptrdiff_t(chunk.size() / 2);
            auto upper = std::make_shared<Chunk>(std::make_move_iterator(middle),
                                                 std::make_move_iterator(chunk.end()));
            chunk.erase(middle, chunk.end());
            m_spine->insert(m_spine->begin() + std::ptrdiff_t(chunkIndex) + 1, std::move(upper));
        }
    }

    // 1 when `key` was there, else 0.
    qsizetype remove(const QString &key)
    {
        std::size_t chunkIndex = 0;
        std::size_t index = 0;
        if (!locate(key, &chunkIndex, &index))
            return 0;
        Chunk &chunk = ownChunk(chunkIndex);
        chunk.erase(chunk.begin() + std::ptrdiff_t(index));
        --m_size;
        if (chunk.empty()) {
            m_spine->erase(m_spine->begin() + std::ptrdiff_t(chunkIndex));
            return 1;
        }
        // Two neighbours always hold more than MaxChunk / 2 between them, so many deletes do not leave
        // a spine of nearly empty chunks.
        if (chunkIndex + 1 < m_spine->size() &&
            chunk.size() + (*m_spine)[chunkIndex + 1]->size() <= MaxChunk / 2)
            mergeWithNext(chunkIndex);
        if (chunkIndex > 0 &&
            (*m_spine)[chunkIndex - 1]->size() + (*m_spine)[chunkIndex]->size() <= MaxChunk / 2)
            mergeWithNext(chunkIndex - 1);
        return 1;
    }

    void clear()
    {
        m_spine.reset();
        m_size = 0;
    }

    // Same keys with equal values. Chunks shared at the same place compare by identity, so comparing a
    // map with a changed copy of it reads little more than the chunks that differ.
    bool operator==(const PersistentMap &o) const
    {
        if (m_size != o.m_size)
            return false;
        if (m_spine == o.m_spine || m_size == 0)
            return true;
        auto a = cbegin();
        auto b = o.cbegin();
        const auto aEnd = cend();
        while (a != aEnd) {
            if (a.m_index == 0 && b.m_index == 0 && (*m_spine)[a.m_chunk] == (*o.m_spine)[b.m_chunk]) {
                ++a.m_chunk;
                ++b.m_chunk;
                continue;
            }
            if (a.key() != b.key() || !(a.value() == b.value()))
                return false;
            ++a;
            ++b;
        }
        return true;
    }
    bool operator!=(const PersistentMap &o) const { return !(*this == o); }

    // How many of this map's chunks `o` holds too (the same chunk, not an equal one); for tests.
    qsizetype sharedChunks(const PersistentMap &o) const
    {
        if (!m_spine || !o.m_spine)
            return 0;
        qsizetype shared = 0;
        for (const ChunkPtr &chunk : *m_spine)
            shared += std::count(o.m_spine->cbegin(), o.m_spine->cend(), chunk);
        return shared;
    }
    qsizetype chunkCount() const { return m_spine ? qsizetype(m_spine->size()) : 0; }

private:
    // The chunk that holds `key` or would: the last whose first key is not greater than it.
    std::size_t chunkFor(const QString &key) const
    {
        const auto after = std::upper_bound(
            m_spine->cbegin(), m_spine->cend(), key,
            [](const QString &k, const ChunkPtr &chunk) { return k < chunk->front().first; });
        return after == m_spine->cbegin() ? 0 : std::size_t(after - m_spine->cbegin()) - 1;
    }

    bool locate(const QString &key, std::size_t *chunkIndex, std::size_t *index) const
    {
        if (m_size == 0)
            return false;
        *chunkIndex = chunkFor(key);
        const Chunk &chunk = *(*m_spine)[*chunkIndex];
        const auto at = std::lower_bound(chunk.cbegin(), chunk.cend(), key,
                                         [](const Entry &e, const QString &k) { return e.first < k; });
        if (at == chunk.cend() || at->first != key)
            return false;
        *index = std::size_t(at - chunk.cbegin());
        return true;
    }

    // Copy-on-write of the spine, then of chunk `i`, each only when another map shares it.
    Chunk &ownChunk(std::size_t i)
    {
        if (m_spine.use_count() > 1)
            m_spine = std::make_shared<Spine>(*m_spine);
        ChunkPtr &chunk = (*m_spine)[i];
        if (chunk.use_count() > 1)
            chunk = std::make_shared<Chunk>(*chunk);
        return *chunk;
    }

    void mergeWithNext(std::size_t i)
    {
        Chunk &chunk = ownChunk(i);
        Chunk &next = *(*m_spine)[i + 1];
        if ((*m_spine)[i + 1].use_count() > 1)
            chunk.insert(chunk.end(), next.cbegin(), next.cend());
        else
            chunk.insert(chunk.end(), std::make_move_iterator(next.begin()),
                         std::make_move_iterator(next.end()));
        m_spine->erase(m_spine->begin() + std::ptrdiff_t(i) + 1);
    }

    std::shared_ptr<Spine> m_spine;
    qsizetype m_size = 0;
};
