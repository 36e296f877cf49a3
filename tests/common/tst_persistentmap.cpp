// PersistentMap against std::map: random inserts and removes, old copies unchanged, chunks shared.
#include "persistentmap.h"

#include <QRandomGenerator>
#include <QTest>

#include <map>
#include <memory>

class TestPersistentMap : public QObject
{
    Q_OBJECT

private slots:
    void emptyMap();
    void matchesStdMap_data();
    void matchesStdMap();
    void copiesStayUnchanged();
    void changeCopiesOneChunk();
    void equality();
};

namespace {

using Map = PersistentMap<std::shared_ptr<const int>>;
using Reference = std::map<QString, std::shared_ptr<const int>>;

// Every entry of `map`, in iteration order, compared with `reference` (which std::map keeps sorted by
// QString's operator<, the order the map promises).
bool sameAs(const Map &map, const Reference &reference, QString *why)
{
    if (map.size() != qsizetype(reference.size())) {
        *why = QStringLiteral("size %1, expected %2").arg(map.size()).arg(reference.size());
        return false;
    }
    auto it = map.cbegin();
    for (const auto &[key, value] : reference) {
        if (it == map.cend() || it.key() != key || it.value() != value) {
            *why =
                QStringLiteral("at %1: got %2").arg(key, it == map.cend() ? QStringLiteral("end") : it.key());
            return false;
        }
        if (map.value(key) != value || !map.contains(key) || map.constFind(key) != it) {
            *why = QStringLiteral("lookup of %1").arg(key);
            return false;
        }
        ++it;
    }
    if (it != map.cend()) {
        *why = QStringLiteral("more entries than expected");
        return false;
    }
    return true;
}

QString keyFor(quint32 n)
{
    // Ids as a control plane writes them: numbers (compared as strings) and names.
    return n % 3 ? QString::number(n) : QStringLiteral("route-%1").arg(n);
}

} // namespace

void TestPersistentMap::emptyMap()
{
    Map map;
    QVERIFY(map.isEmpty());
    QVERIFY(map.cbegin() == map.cend());
    QVERIFY(!map.contains(QStringLiteral("a")));
    QVERIFY(!map.value(QStringLiteral("a")));
    QCOMPARE(map.remove(QStringLiteral("a")), 0);
    map.insert(QStringLiteral("a"), std::make_shared<const int>(1));
    QCOMPARE(map.remove(QStringLiteral("a")), 1);
    QVERIFY(map.isEmpty());
    QVERIFY(map.cbegin() == map.cend());
    QVERIFY(map == Map());
}

void TestPersistentMap::matchesStdMap_data()
{
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<int>("keys");
    QTest::newRow("few keys, many replaced") << 11u << 50;
    QTest::newRow("many chunks") << 12u << 5000;
    QTest::newRow("many chunks, another seed") << 13u << 20000;
}

void TestPersistentMap::matchesStdMap()
{
    QFETCH(quint32, seed);
    QFETCH(int, keys);
    QRandomGenerator g(seed);
    Map map;
    Reference reference;
    QString why;
    for (int step = 0; step < 40000; ++step) {
        const QString key = keyFor(g.bounded(quint32(keys)));
        // Grow first, then mostly churn, then drain: chunks split, thin out and merge.
        const int removeChance = step < 15000 ? 20 : step < 30000 ? 50 : 90;
        if (int(g.bounded(100)) < removeChance) {
            QCOMPARE(map.remove(key), qsizetype(reference.erase(key)));
        } else {
            auto value = std::make_shared<const int>(step);
            map.insert(key, value);
            reference[key] = value;
        }
        if (step % 997 == 0)
            QVERIFY2(sameAs(map, reference, &why),
                     qPrintable(QStringLiteral("step %1: %2").arg(step).arg(why)));
    }
    QVERIFY2(sameAs(map, reference, &why), qPrintable(why));
}

void TestPersistentMap::copiesStayUnchanged()
{
    QRandomGenerator g(21);
    Map map;
    Reference reference;
    // Generations as the sync controller makes them: each a copy of the last, then changed.
    std::vector<std::pair<Map, Reference>> generations;
    QString why;
    for (int generation = 0; generation < 200; ++generation) {
        for (int n = 0; n < 50; ++n) {
            const QString key = keyFor(g.bounded(3000u));
            if (g.bounded(4) == 0) {
                map.remove(key);
                reference.erase(key);
            } else {
                auto value = std::make_shared<const int>(generation * 100 + n);
                map.insert(key, value);
                reference[key] = value;
            }
        }
        generations.emplace_back(map, reference);
    }
    for (std::size_t i = 0; i < generations.size(); ++i)
        QVERIFY2(sameAs(generations[i].first, generations[i].second, &why),
                 qPrintable(QStringLiteral("generation %1: %2").arg(i).arg(why)));
}

void TestPersistentMap::changeCopiesOneChunk()
{
    Map base;
    for (quint32 n = 0; n < 100000; ++n)
        base.insert(keyFor(n), std::make_shared<const int>(int(n)));
    QCOMPARE(base.size(), 100000);
    const qsizetype chunks = base.chunkCount();
    QVERIFY(chunks >= 100000 / qsizetype(Map::MaxChunk));

    Map copy = base;
    QCOMPARE(copy.sharedChunks(base), chunks);
    copy.insert(QStringLiteral("50000x"), std::make_shared<const int>(-1));
    // At most the touched chunk and, if it split, its new half are not shared.
    QVERIFY(copy.sharedChunks(base) >= chunks - 1);
    copy.remove(keyFor(7));
    QVERIFY(copy.sharedChunks(base) >= chunks - 2);
    QCOMPARE(copy.size(), 100000);
    QVERIFY(!base.contains(QStringLiteral("50000x")));
    QVERIFY(base.contains(keyFor(7)));
}

void TestPersistentMap::equality()
{
    Map a;
    Map b;
    std::vector<std::shared_ptr<const int>> values;
    for (int n = 0; n < 3000; ++n)
        values.push_back(std::make_shared<const int>(n));
    for (int n = 0; n < 3000; ++n) {
        a.insert(keyFor(quint32(n)), values[std::size_t(n)]);
        // Another insertion order: other chunk boundaries.
        b.insert(keyFor(quint32(2999 - n)), values[std::size_t(2999 - n)]);
    }
    QVERIFY(a.chunkCount() != b.chunkCount() || a.sharedChunks(b) == 0);
    QVERIFY(a == b);
    Map c = a;
    QVERIFY(c == a);
    c.insert(keyFor(5), std::make_shared<const int>(5)); // an equal int, another object
    QVERIFY(c != a);
    c.insert(keyFor(5), a.value(keyFor(5)));
    QVERIFY(c == a);
    c.remove(keyFor(6));
    QVERIFY(c != a);
    c.insert(QStringLiteral("other"), a.value(keyFor(6)));
    QVERIFY(c != a); // same size, another key
}

QTEST_GUILESS_MAIN(TestPersistentMap)
#include "tst_persistentmap.moc"
