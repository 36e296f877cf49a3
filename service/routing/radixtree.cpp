#include "radixtree.h"

#include <algorithm>
#include <numeric>

struct RadixTree::Build
{
    struct Unique
    {
        QByteArray bytes;
        std::vector<quint32> exact;
        std::vector<quint32> prefix;
    };
    std::vector<Unique> keys; // sorted by bytes, so a range sharing a prefix is contiguous
};

RadixTree::RadixTree()
{
    m_nodes.emplace_back();
}

RadixTree::RadixTree(std::vector<Key> keys)
{
    // Stable: values of one key keep the caller's order (its priority order).
    std::vector<std::size_t> order(keys.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&keys](std::size_t a, std::size_t b) { return keys[a].bytes < keys[b].bytes; });

    Build b;
    for (std::size_t i : order) {
        Key &key = keys[i];
        if (b.keys.empty() || b.keys.back().bytes != key.bytes)
            b.keys.push_back({key.bytes, {}, {}});
        (key.prefix ? b.keys.back().prefix : b.keys.back().exact).push_back(key.value);
    }
    m_valueCount = keys.size();
    m_values.reserve(keys.size());

    if (b.keys.empty())
        m_nodes.emplace_back();
    else
        buildNode(b, 0, b.keys.size(), 0, -1);
}

quint32 RadixTree::buildNode(Build &b, std::size_t lo, std::size_t hi, std::size_t start, qint32 prefixUp)
{
    // In a sorted range the common prefix of all keys is the common prefix of the first and the last.
    const QByteArray &first = b.keys[lo].bytes;
    const QByteArray &last = b.keys[hi - 1].bytes;
    const std::size_t common = std::size_t(std::min(first.size(), last.size()));
    std::size_t end = start;
    while (end < common && first[qsizetype(end)] == last[qsizetype(end)])
        ++end;

    const quint32 index = quint32(m_nodes.size());
    m_nodes.emplace_back();
    {
        Node &node = m_nodes.back();
        node.labelBegin = quint32(m_labels.size());
        node.labelSize = quint32(end - start);
        node.prefixUp = prefixUp;
        m_labels.append(first.constData() + start, qsizetype(end - start));

        // Only the first key of the range can end here: it is a prefix of every other one.
        if (std::size_t(first.size()) == end) {
            const Build::Unique &here = b.keys[lo];
            node.exactBegin = quint32(m_values.size());
            node.exactCount = quint32(here.exact.size());
            m_values.insert(m_values.end(), here.exact.begin(), here.exact.end());
            node.prefixBegin = quint32(m_values.size());
            node.prefixCount = quint32(here.prefix.size());
            m_values.insert(m_values.end(), here.prefix.begin(), here.prefix.end());
            ++lo;
        }
    }
    const qint32 childPrefixUp = m_nodes[index].prefixCount ? qint32(index) : prefixUp;

    std::vector<std::pair<std::size_t, std::size_t>> groups; // [lo, hi) per next byte
    for (std::size_t i = lo; i < hi;) {
        const char byte = b.keys[i].bytes[qsizetype(end)];
        std::size_t j = i + 1;
        while (j < hi && b.keys[j].bytes[qsizetype(end)] == byte)
            ++j;
        groups.emplace_back(i, j);
        i = j;
    }

    const std::size_t childBegin = m_childBytes.size();
    m_nodes[index].childBegin = quint32(childBegin);
    m_nodes[index].childCount = quint32(groups.size());
    for (const auto &group : groups) {
        m_childBytes.push_back(static_cast<unsigned char>(b.keys[group.first].bytes[qsizetype(end)]));
        m_childNodes.push_back(0);
    }
    for (std::size_t g = 0; g < groups.size(); ++g)
        m_childNodes[childBegin + g] = buildNode(b, groups[g].first, groups[g].second, end, childPrefixUp);
    return index;
}
