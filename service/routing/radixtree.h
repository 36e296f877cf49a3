// A compiled, immutable byte radix tree: exact keys and prefix keys, looked up without allocating.
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <cstdint>
#include <cstring>
#include <vector>

// Built once from (key, exact|prefix, value) triples, then only read, so any number of threads may
// look up at once. A lookup visits the values of the exact key first, then those of every prefix key
// that the looked-up key starts with, the longest prefix first; values of one key keep their input order.
// This is the order of lua-resty-radixtree (hash of full paths, then rax "up" iteration), which both
// APISIX routers are made of: the URI tree and the reversed-host tree.
class RadixTree
{
public:
    struct Key
    {
        QByteArray bytes;
        bool prefix = false;
        quint32 value = 0;
    };

    RadixTree();
    explicit RadixTree(std::vector<Key> keys);

    bool isEmpty() const { return m_valueCount == 0; }
    std::size_t nodeCount() const { return m_nodes.size(); }

    // Calls visit(value) in match order until it returns true; returns whether one did.
    template<typename Visitor>
    bool visit(QByteArrayView key, Visitor &&visit) const;

private:
    struct Node
    {
        quint32 labelBegin = 0; // into m_labels
        quint32 labelSize = 0;
        quint32 childBegin = 0; // into m_childBytes / m_childNodes, sorted by byte
        quint32 childCount = 0;
        quint32 exactBegin = 0; // into m_values
        quint32 exactCount = 0;
        quint32 prefixBegin = 0;
        quint32 prefixCount = 0;
        qint32 prefixUp = -1; // nearest ancestor with prefix values: the next shorter prefix to try
    };

    struct Build;
    quint32 buildNode(Build &b, std::size_t lo, std::size_t hi, std::size_t start, qint32 prefixUp);
    qint32 childFor(const Node &node, unsigned char byte) const;

    std::vector<Node> m_nodes;
    std::vector<unsigned char> m_childBytes;
    std::vector<quint32> m_childNodes;
    std::vector<quint32> m_values;
    QByteArray m_labels;
    std::size_t m_valueCount = 0;
};

inline qint32 RadixTree::childFor(const Node &node, unsigned char byte) const
{
    const unsigned char *first = m_childBytes.data() + node.childBegin;
    const unsigned char *last = first + node.childCount;
    // Binary search: a node near the root of 100k paths may have dozens of children.
    while (first < last) {
        const unsigned char *mid = first + (last - first) / 2;
        if (*mid < byte)
            first = mid + 1;
        else
            last = mid;
    }
    if (first == m_childBytes.data() + node.childBegin + node.childCount || *first != byte)
        return -1;
    return qint32(m_childNodes[std::size_t(first - m_childBytes.data())]);
}

template<typename Visitor>
bool RadixTree::visit(QByteArrayView key, Visitor &&visit) const
{
    if (m_nodes.empty())
        return false;
    const char *data = key.data();
    const std::size_t size = std::size_t(key.size());
    const char *labels = m_labels.constData();

    qint32 deepestPrefix = -1;
    qint32 exactNode = -1;
    std::size_t pos = 0;
    qint32 index = 0;
    while (index >= 0) {
        const Node &node = m_nodes[std::size_t(index)];
        if (size - pos < node.labelSize ||
            (node.labelSize && std::memcmp(data + pos, labels + node.labelBegin, node.labelSize) != 0))
            break;
        pos += node.labelSize;
        if (node.prefixCount)
            deepestPrefix = index;
        if (pos == size) {
            exactNode = index;
            break;
        }
        index = childFor(node, static_cast<unsigned char>(data[pos]));
    }

    if (exactNode >= 0) {
        const Node &node = m_nodes[std::size_t(exactNode)];
        for (quint32 i = 0; i < node.exactCount; ++i) {
            if (visit(m_values[node.exactBegin + i]))
                return true;
        }
    }
    for (qint32 p = deepestPrefix; p >= 0; p = m_nodes[std::size_t(p)].prefixUp) {
        const Node &node = m_nodes[std::size_t(p)];
        for (quint32 i = 0; i < node.prefixCount; ++i) {
            if (visit(m_values[node.prefixBegin + i]))
                return true;
        }
    }
    return false;
}
