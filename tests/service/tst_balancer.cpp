// Balancers (smooth weighted round robin, consistent hash, least connections) and the chash key.
#include "balancer.h"
#include "chashbalancer.h"
#include "hashkey.h"
#include "leastconnbalancer.h"
#include "roundrobinbalancer.h"
#include "stablehash.h"
#include "upstreamhealth.h"

#include <QHash>
#include <QtTest>

namespace {

UpstreamNode makeNode(int index, int weight, int priority = 0)
{
    UpstreamNode node;
    node.host = "127.0.0.1";
    node.port = quint16(10000 + index);
    node.weight = weight;
    node.priority = priority;
    return node;
}

std::shared_ptr<Upstream> makeUpstream(Upstream::Type type, const QVector<int> &weights)
{
    auto upstream = std::make_shared<Upstream>();
    upstream->type = type;
    for (int i = 0; i < weights.size(); ++i)
        upstream->nodes.append(makeNode(i, weights.at(i)));
    return upstream;
}

// Health where a single 500 marks a node down, so a suite can mark nodes by hand through the real API.
std::shared_ptr<UpstreamHealth> makeHealth(const Upstream &upstream)
{
    Upstream copy = upstream;
    copy.passive.enabled = true;
    copy.passive.httpFailures = 1;
    copy.passive.healthySuccesses = 1;
    return std::make_shared<UpstreamHealth>(QStringLiteral("upstreams/test"), copy);
}

void markDown(UpstreamHealth &health, int node)
{
    QCOMPARE(health.report(node, UpstreamHealth::Outcome::httpStatus(500)),
             UpstreamHealth::Transition::BecameUnhealthy);
}

QString sequence(Balancer &balancer, int picks, quint64 tried = 0)
{
    QString out;
    for (int i = 0; i < picks; ++i) {
        const int node = balancer.pick({}, tried);
        out += node < 0 ? QLatin1Char('-') : QLatin1Char(char('a' + node));
    }
    return out;
}

QByteArray keyOf(int i)
{
    return "user-" + QByteArray::number(i);
}

} // namespace

class TestBalancer : public QObject
{
    Q_OBJECT

private slots:
    void stableHashMatchesXxHash32();
    void createFollowsType();
    void noNodes();

    void roundRobinNginxSequence();
    void roundRobinExactOverCycle();
    void roundRobinWeightZeroNeverPicked();
    void roundRobinAvoidsTried();
    void roundRobinSkipsUnhealthy();
    void roundRobinAllUnhealthyStillPicks();
    void roundRobinPriority();
    void healthForOtherNodesIgnored();

    void chashSameKeySameNode();
    void chashSpreadsByWeight();
    void chashRemovingNodeRemapsOnlyItsKeys();
    void chashAvoidsTriedAndUnhealthy();
    void chashIsStableAcrossInstances();

    void leastConnPrefersIdle();
    void leastConnWeighted();
    void leastConnTiesTakeTurns();
    void leastConnAvoidsTried();

    void hashKeyVariables();
    void hashKeyHeaderAndCookie();
    void hashKeyFallsBackToRemoteAddr();
    void hashKeyVarsCombinations();
    void hashKeyHeaderLookup();
};

void TestBalancer::stableHashMatchesXxHash32()
{
    // Reference values of XXH32 with seed 0 (and one with a seed), from the xxHash test vectors.
    QCOMPARE(stableHash32(""), 0x02CC5D05U);
    QCOMPARE(stableHash32("a"), 0x550D7456U);
    QCOMPARE(stableHash32("abc"), 0x32D153FFU);
    QCOMPARE(stableHash32("Nobody inspects the spammish repetition"), 0xE2293B2FU);
    QCOMPARE(stableHash32("", 1), 0x0B2CB792U);
}

void TestBalancer::createFollowsType()
{
    auto rr = Balancer::create(makeUpstream(Upstream::Type::RoundRobin, {1}), nullptr);
    auto ch = Balancer::create(makeUpstream(Upstream::Type::ConsistentHash, {1}), nullptr);
    auto lc = Balancer::create(makeUpstream(Upstream::Type::LeastConn, {1}), nullptr);
    QVERIFY(dynamic_cast<RoundRobinBalancer *>(rr.get()));
    QVERIFY(dynamic_cast<ChashBalancer *>(ch.get()));
    QVERIFY(dynamic_cast<LeastConnBalancer *>(lc.get()));
    QVERIFY(!Balancer::create(nullptr, nullptr));
}

void TestBalancer::noNodes()
{
    for (auto type :
         {Upstream::Type::RoundRobin, Upstream::Type::ConsistentHash, Upstream::Type::LeastConn}) {
        QCOMPARE(Balancer::create(makeUpstream(type, {}), nullptr)->pick("k", 0), -1);
        QCOMPARE(Balancer::create(makeUpstream(type, {0, 0}), nullptr)->pick("k", 0), -1);
    }
}

void TestBalancer::roundRobinNginxSequence()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::RoundRobin, {5, 1, 1}), nullptr);
    // nginx's documented smooth sequence for weights 5,1,1, twice: the state returns to zero each cycle.
    QCOMPARE(sequence(*balancer, 14), QStringLiteral("aabacaaaabacaa"));
}

void TestBalancer::roundRobinExactOverCycle()
{
    const QVector<int> weights{3, 7, 1, 4, 5};
    const int cycle = 20;
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::RoundRobin, weights), nullptr);
    for (int round = 0; round < 50; ++round) {
        QVector<int> counts(weights.size(), 0);
        int longestRun = 0;
        int run = 0;
        int last = -1;
        for (int i = 0; i < cycle; ++i) {
            const int node = balancer->pick({}, 0);
            QVERIFY(node >= 0);
            ++counts[node];
            run = node == last ? run + 1 : 1;
            longestRun = std::max(longestRun, run);
            last = node;
        }
        QCOMPARE(counts, weights);
        // Smooth: the heaviest node (7 of 20) never gets more than two in a row.
        QVERIFY2(longestRun <= 2, qPrintable(QString::number(longestRun)));
    }
}

void TestBalancer::roundRobinWeightZeroNeverPicked()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::RoundRobin, {2, 0, 1}), nullptr);
    const QString picks = sequence(*balancer, 300);
    QVERIFY(!picks.contains(QLatin1Char('b')));
    QCOMPARE(picks.count(QLatin1Char('a')), 200);
    QCOMPARE(picks.count(QLatin1Char('c')), 100);
    // Even when every other node was tried, a weight-0 node stays out.
    QVERIFY(!sequence(*balancer, 10, 0b101).contains(QLatin1Char('b')));
}

void TestBalancer::roundRobinAvoidsTried()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::RoundRobin, {5, 1, 1}), nullptr);
    QCOMPARE(sequence(*balancer, 20, 0b001).count(QLatin1Char('a')), 0);
    const QString two = sequence(*balancer, 20, 0b011);
    QCOMPARE(two.count(QLatin1Char('c')), 20);
    // Everything tried: picking goes on among all of them rather than failing.
    const QString all = sequence(*balancer, 70, 0b111);
    QVERIFY(!all.contains(QLatin1Char('-')));
    QVERIFY(all.contains(QLatin1Char('a')) && all.contains(QLatin1Char('b')) &&
            all.contains(QLatin1Char('c')));
}

void TestBalancer::roundRobinSkipsUnhealthy()
{
    auto upstream = makeUpstream(Upstream::Type::RoundRobin, {1, 1, 1});
    auto health = makeHealth(*upstream);
    auto balancer = Balancer::create(upstream, health);
    markDown(*health, 1);
    const QString picks = sequence(*balancer, 40);
    QCOMPARE(picks.count(QLatin1Char('b')), 0);
    QCOMPARE(picks.count(QLatin1Char('a')), 20);
    // Back up: it takes its share again.
    QCOMPARE(health->report(1, UpstreamHealth::Outcome::httpStatus(200)),
             UpstreamHealth::Transition::BecameHealthy);
    QVERIFY(sequence(*balancer, 30).count(QLatin1Char('b')) >= 9);
    // Health narrows first, then tried: with a tried and c down, only b is left.
    markDown(*health, 2);
    QCOMPARE(sequence(*balancer, 10, 0b001), QStringLiteral("bbbbbbbbbb"));
}

void TestBalancer::roundRobinAllUnhealthyStillPicks()
{
    auto upstream = makeUpstream(Upstream::Type::RoundRobin, {1, 1});
    auto health = makeHealth(*upstream);
    auto balancer = Balancer::create(upstream, health);
    markDown(*health, 0);
    markDown(*health, 1);
    const QString picks = sequence(*balancer, 10);
    QCOMPARE(picks.count(QLatin1Char('a')), 5);
    QCOMPARE(picks.count(QLatin1Char('b')), 5);
}

void TestBalancer::roundRobinPriority()
{
    auto upstream = std::make_shared<Upstream>();
    upstream->nodes = {makeNode(0, 1, 0), makeNode(1, 1, 10), makeNode(2, 1, 10)};
    auto health = makeHealth(*upstream);
    auto balancer = Balancer::create(upstream, health);
    QCOMPARE(sequence(*balancer, 4), QStringLiteral("bcbc"));
    // Higher priority tried: the lower priority is the fallback.
    QCOMPARE(sequence(*balancer, 2, 0b110), QStringLiteral("aa"));
    markDown(*health, 1);
    markDown(*health, 2);
    QCOMPARE(sequence(*balancer, 2), QStringLiteral("aa"));
}

void TestBalancer::healthForOtherNodesIgnored()
{
    auto upstream = makeUpstream(Upstream::Type::RoundRobin, {1, 1});
    auto health = makeHealth(*makeUpstream(Upstream::Type::RoundRobin, {1}));
    markDown(*health, 0);
    auto balancer = Balancer::create(upstream, health);
    QVERIFY(!balancer->health());
    QCOMPARE(sequence(*balancer, 4), QStringLiteral("abab"));
}

void TestBalancer::chashSameKeySameNode()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::ConsistentHash, {1, 1, 1, 1}), nullptr);
    QCOMPARE(static_cast<ChashBalancer *>(balancer.get())->ringSize(), 4 * ChashBalancer::PointsPerWeight);
    QSet<int> seen;
    for (int i = 0; i < 200; ++i) {
        const int first = balancer->pick(keyOf(i), 0);
        QVERIFY(first >= 0);
        for (int again = 0; again < 3; ++again)
            QCOMPARE(balancer->pick(keyOf(i), 0), first);
        seen.insert(first);
    }
    QCOMPARE(seen.size(), 4);
}

void TestBalancer::chashSpreadsByWeight()
{
    const QVector<int> weights{1, 2, 3, 0, 4};
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::ConsistentHash, weights), nullptr);
    const int keys = 20000;
    QVector<int> counts(weights.size(), 0);
    for (int i = 0; i < keys; ++i)
        ++counts[balancer->pick(keyOf(i), 0)];
    QCOMPARE(counts[3], 0);
    for (int node = 0; node < weights.size(); ++node) {
        const double expected = keys * weights[node] / 10.0;
        const double tolerance = std::max(0.2 * expected, 1.0);
        QVERIFY2(std::abs(counts[node] - expected) <= tolerance,
                 qPrintable(QStringLiteral("node %1: %2 keys, expected about %3")
                                .arg(node)
                                .arg(counts[node])
                                .arg(expected)));
    }
}

void TestBalancer::chashRemovingNodeRemapsOnlyItsKeys()
{
    auto full = makeUpstream(Upstream::Type::ConsistentHash, {1, 1, 1, 1, 1});
    auto reduced = std::make_shared<Upstream>(*full);
    reduced->nodes.removeAt(2); // indexes shift; addresses stay
    auto before = Balancer::create(full, nullptr);
    auto after = Balancer::create(reduced, nullptr);

    const int keys = 10000;
    int moved = 0;
    int onRemoved = 0;
    for (int i = 0; i < keys; ++i) {
        const UpstreamNode &was = full->nodes.at(before->pick(keyOf(i), 0));
        const UpstreamNode &now = reduced->nodes.at(after->pick(keyOf(i), 0));
        if (was.port == full->nodes.at(2).port) {
            ++onRemoved;
            continue;
        }
        if (was.port != now.port)
            ++moved;
    }
    QCOMPARE(moved, 0);
    QVERIFY2(onRemoved > keys / 10 && onRemoved < keys * 3 / 10, qPrintable(QString::number(onRemoved)));
}

void TestBalancer::chashAvoidsTriedAndUnhealthy()
{
    auto upstream = makeUpstream(Upstream::Type::ConsistentHash, {1, 1, 1});
    auto health = makeHealth(*upstream);
    auto balancer = Balancer::create(upstream, health);
    QVector<int> home;
    for (int i = 0; i < 300; ++i)
        home.append(balancer->pick(keyOf(i), 0));

    for (int i = 0; i < 300; ++i) {
        const int retry = balancer->pick(keyOf(i), quint64(1) << home[i]);
        QVERIFY(retry >= 0 && retry != home[i]);
        QCOMPARE(balancer->pick(keyOf(i), quint64(1) << home[i]), retry); // the retry is stable too
        QCOMPARE(balancer->pick(keyOf(i), 0b111), home[i]);               // all tried: home again
    }

    markDown(*health, 1);
    for (int i = 0; i < 300; ++i) {
        const int node = balancer->pick(keyOf(i), 0);
        QVERIFY(node != 1);
        if (home[i] != 1)
            QCOMPARE(node, home[i]); // keys of healthy nodes stay put
    }
    markDown(*health, 0);
    markDown(*health, 2);
    for (int i = 0; i < 300; ++i)
        QCOMPARE(balancer->pick(keyOf(i), 0), home[i]); // all down: the ring as if all were up
}

void TestBalancer::chashIsStableAcrossInstances()
{
    // The ring depends on addresses only: two gateways (or a restart) map a key to the same node,
    // whatever order the nodes are listed in.
    auto upstream = makeUpstream(Upstream::Type::ConsistentHash, {1, 2, 1});
    auto reversed = std::make_shared<Upstream>(*upstream);
    std::reverse(reversed->nodes.begin(), reversed->nodes.end());
    auto a = Balancer::create(upstream, nullptr);
    auto b = Balancer::create(reversed, nullptr);
    for (int i = 0; i < 500; ++i) {
        QCOMPARE(reversed->nodes.at(b->pick(keyOf(i), 0)).port,
                 upstream->nodes.at(a->pick(keyOf(i), 0)).port);
    }
    // A fixed point of the ring: a change to the hash or the point layout would move keys between gateway
    // versions, which an operator would see as a cache or session reshuffle on upgrade.
    QCOMPARE(upstream->nodes.at(a->pick("fixed-key", 0)).port, quint16(10002));
    QCOMPARE(upstream->nodes.at(a->pick("other", 0)).port, quint16(10001));
}

void TestBalancer::leastConnPrefersIdle()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::LeastConn, {1, 1, 1}), nullptr);
    const int first = balancer->pick({}, 0);
    balancer->requestStarted(first);
    const int second = balancer->pick({}, 0);
    QVERIFY(second != first);
    balancer->requestStarted(second);
    const int third = balancer->pick({}, 0);
    QVERIFY(third != first && third != second);
    balancer->requestStarted(third);
    // Two busy on node `first`, one on the others: after `second` finishes it is the idle one.
    balancer->requestStarted(first);
    balancer->requestFinished(second);
    QCOMPARE(balancer->pick({}, 0), second);
    QCOMPARE(balancer->pick({}, 0), second); // still idle: nothing started on it
    balancer->requestFinished(first);
    balancer->requestFinished(first);
    QCOMPARE(static_cast<LeastConnBalancer *>(balancer.get())->active(first), 0);
    balancer->requestFinished(first); // more finishes than starts must not go negative
    QCOMPARE(static_cast<LeastConnBalancer *>(balancer.get())->active(first), 0);
}

void TestBalancer::leastConnWeighted()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::LeastConn, {1, 3}), nullptr);
    // Keep picking and never finishing: node b (weight 3) should carry three times as many.
    QVector<int> counts(2, 0);
    for (int i = 0; i < 400; ++i) {
        const int node = balancer->pick({}, 0);
        balancer->requestStarted(node);
        ++counts[node];
    }
    QVERIFY2(std::abs(counts[1] - 300) <= 3, qPrintable(QString::number(counts[1])));
}

void TestBalancer::leastConnTiesTakeTurns()
{
    auto balancer = Balancer::create(makeUpstream(Upstream::Type::LeastConn, {5, 1, 1}), nullptr);
    // Requests that finish before the next pick leave every node idle: plain smooth round robin.
    QString picks;
    for (int i = 0; i < 7; ++i) {
        const int node = balancer->pick({}, 0);
        balancer->requestStarted(node);
        balancer->requestFinished(node);
        picks += QLatin1Char(char('a' + node));
    }
    QCOMPARE(picks, QStringLiteral("aabacaa"));
}

void TestBalancer::leastConnAvoidsTried()
{
    auto upstream = makeUpstream(Upstream::Type::LeastConn, {1, 1});
    auto health = makeHealth(*upstream);
    auto balancer = Balancer::create(upstream, health);
    balancer->requestStarted(0);
    balancer->requestStarted(0);
    // b is idle but tried: a it is.
    QCOMPARE(balancer->pick({}, 0b10), 0);
    markDown(*health, 1);
    QCOMPARE(balancer->pick({}, 0), 0);
}

void TestBalancer::hashKeyVariables()
{
    const HashKeyRequest::HeaderField headers[] = {
        {"Host", "api.example.com"}, {"X-User-Id", "u42"}, {"Cookie", "theme=dark; sid=abc123; empty="}};
    HashKeyRequest request;
    request.remoteAddr = "10.0.0.7";
    request.host = "api.example.com";
    request.requestUri = "/v1/items?id=17&Page=3&flag&id=99";
    request.path = "/v1/items";
    request.method = "GET";
    request.headers = headers;
    request.headerCount = 3;

    auto var = [&request](const char *name) {
        QByteArrayView value;
        return HashKey::variable(name, request, &value) ? value.toByteArray() : QByteArray("<none>");
    };
    QCOMPARE(var("remote_addr"), QByteArray("10.0.0.7"));
    QCOMPARE(var("uri"), QByteArray("/v1/items"));
    QCOMPARE(var("request_uri"), QByteArray("/v1/items?id=17&Page=3&flag&id=99"));
    QCOMPARE(var("host"), QByteArray("api.example.com"));
    QCOMPARE(var("server_name"), QByteArray("api.example.com"));
    QCOMPARE(var("request_method"), QByteArray("GET"));
    QCOMPARE(var("args"), QByteArray("id=17&Page=3&flag&id=99"));
    QCOMPARE(var("arg_id"), QByteArray("17")); // the first one, as nginx
    QCOMPARE(var("arg_page"), QByteArray("3"));
    QCOMPARE(var("arg_flag"), QByteArray(""));
    QCOMPARE(var("arg_missing"), QByteArray("<none>"));
    QCOMPARE(var("http_x_user_id"), QByteArray("u42"));
    QCOMPARE(var("http_x_other"), QByteArray("<none>"));
    QCOMPARE(var("cookie_sid"), QByteArray("abc123"));
    QCOMPARE(var("cookie_theme"), QByteArray("dark"));
    QCOMPARE(var("cookie_empty"), QByteArray(""));
    QCOMPARE(var("cookie_nope"), QByteArray("<none>"));
    QCOMPARE(var("no_such_variable"), QByteArray("<none>"));

    Upstream upstream;
    upstream.type = Upstream::Type::ConsistentHash;
    upstream.key = "arg_page";
    QByteArray scratch;
    QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("3"));
    upstream.key = "http_x_user_id";
    QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("u42"));
}

void TestBalancer::hashKeyHeaderAndCookie()
{
    const HashKeyRequest::HeaderField headers[] = {{"x-tenant", "acme"}, {"cookie", "sid=s-9"}};
    HashKeyRequest request;
    request.remoteAddr = "10.0.0.8";
    request.headers = headers;
    request.headerCount = 2;

    Upstream upstream;
    upstream.type = Upstream::Type::ConsistentHash;
    upstream.hashOn = Upstream::HashOn::Header;
    upstream.key = "X-Tenant";
    QByteArray scratch;
    QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("acme"));
    upstream.hashOn = Upstream::HashOn::Cookie;
    upstream.key = "sid";
    QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("s-9"));
    upstream.hashOn = Upstream::HashOn::Consumer;
    request.consumerName = "jack";
    QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("jack"));
}

void TestBalancer::hashKeyFallsBackToRemoteAddr()
{
    HashKeyRequest request;
    request.remoteAddr = "192.0.2.1";
    request.requestUri = "/x";
    Upstream upstream;
    upstream.type = Upstream::Type::ConsistentHash;
    QByteArray scratch;
    for (auto [on, key] : {std::pair{Upstream::HashOn::Vars, QByteArray("arg_id")},
                           std::pair{Upstream::HashOn::Vars, QByteArray("http_x_user")},
                           std::pair{Upstream::HashOn::Vars, QByteArray("unknown_var")},
                           std::pair{Upstream::HashOn::Header, QByteArray("X-User")},
                           std::pair{Upstream::HashOn::Cookie, QByteArray("sid")},
                           std::pair{Upstream::HashOn::Consumer, QByteArray()},
                           std::pair{Upstream::HashOn::VarsCombinations, QByteArray("$arg_a$http_b")}}) {
        upstream.hashOn = on;
        upstream.key = key;
        QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("192.0.2.1"));
    }
}

void TestBalancer::hashKeyVarsCombinations()
{
    HashKeyRequest request;
    request.remoteAddr = "10.1.1.1";
    request.host = "shop.example";
    request.requestUri = "/cart?user=u7";
    request.path = "/cart";
    Upstream upstream;
    upstream.type = Upstream::Type::ConsistentHash;
    upstream.hashOn = Upstream::HashOn::VarsCombinations;
    upstream.key = "${host}-$arg_user$http_missing:\\$";
    QByteArray scratch;
    QCOMPARE(HashKey::compute(upstream, request, &scratch).toByteArray(), QByteArray("shop.example-u7:$"));
}

void TestBalancer::hashKeyHeaderLookup()
{
    // The proxy may answer header lookups from its own parsed request instead of a flat list.
    QHash<QByteArray, QByteArray> parsed{{"x-user", "from-lookup"}};
    HashKeyRequest request;
    request.remoteAddr = "10.0.0.1";
    request.headerLookup = [&parsed](QByteArrayView name) -> QByteArrayView {
        auto it = parsed.constFind(name.toByteArray().toLower());
        return it == parsed.cend() ? QByteArrayView() : QByteArrayView(*it);
    };
    QByteArrayView value;
    QVERIFY(HashKey::variable("http_x_user", request, &value));
    QCOMPARE(value.toByteArray(), QByteArray("from-lookup"));
    QVERIFY(!HashKey::header("x-other", request, &value));
}

QTEST_GUILESS_MAIN(TestBalancer)
#include "tst_balancer.moc"
