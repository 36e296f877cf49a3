// Router microbenchmark: nanoseconds per match among 100k routes, for both APISIX router kinds.
#include "configvalidator.h"
#include "router.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(name)
#define RUNNING_ON_VALGRIND 0
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

struct Request
{
    QByteArray method;
    QByteArray host;
    QByteArray path;
};

// 60% exact uris, 30% prefix uris, 10% with a host (half exact hosts, half wildcards; ten such routes
// share each uri, told apart by host); one in seven has a priority, one in two exact ones a methods list.
QJsonObject makeConfig(int count)
{
    QJsonObject routes;
    for (int i = 0; i < count; ++i) {
        QJsonObject route;
        const int kind = i % 10;
        if (kind < 6) {
            route.insert(QStringLiteral("uri"),
                         QStringLiteral("/api/v%1/svc%2/res%3").arg(i % 3 + 1).arg(i % 1000).arg(i));
            if (i % 2)
                route.insert(QStringLiteral("methods"),
                             QJsonArray{QStringLiteral("GET"), QStringLiteral("POST")});
        } else if (kind < 9) {
            route.insert(QStringLiteral("uri"), QStringLiteral("/static/app%1/*").arg(i));
        } else {
            route.insert(QStringLiteral("uri"), QStringLiteral("/host/page%1").arg(i / 10 % 1000));
            route.insert(QStringLiteral("host"), (i / 10) % 2 ? QStringLiteral("*.w%1.example.com").arg(i)
                                                              : QStringLiteral("t%1.example.com").arg(i));
        }
        if (i % 7 == 0)
            route.insert(QStringLiteral("priority"), 1);
        route.insert(QStringLiteral("upstream_id"), QStringLiteral("1"));
        routes.insert(QString::number(i), route);
    }
    const QJsonObject upstream{{QStringLiteral("id"), QStringLiteral("1")},
                               {QStringLiteral("nodes"), QJsonObject{{QStringLiteral("127.0.0.1:1980"), 1}}}};
    return QJsonObject{{QStringLiteral("routes"), routes},
                       {QStringLiteral("upstreams"), QJsonObject{{QStringLiteral("1"), upstream}}}};
}

// Route indexes of one kind (i % 10 in [lo, hi)), spread over the whole set.
std::vector<int> pick(int count, int lo, int hi, int howMany)
{
    std::vector<int> out;
    for (int n = 0; int(out.size()) < howMany; ++n) {
        const int i = int((quint64(n) * 7919u * 10u) % quint64(count));
        for (int k = lo; k < hi && int(out.size()) < howMany; ++k) {
            if (i + k < count)
                out.push_back(i + k);
        }
    }
    return out;
}

volatile quintptr g_sink;

// Cycles through `requests` so the tree is not one hot path in cache; returns ns per match and how
// many matched.
double measure(const Router &router, const std::vector<Request> &requests, int iterations, int *matched)
{
    const std::size_t n = requests.size();
    int hits = 0;
    for (std::size_t i = 0; i < n; ++i)
        hits += router.match(requests[i].method, requests[i].host, requests[i].path) != nullptr;
    *matched = hits;

    const auto start = std::chrono::steady_clock::now();
    quintptr sink = 0;
    for (int i = 0; i < iterations; ++i) {
        const Request &r = requests[std::size_t(i) % n];
        sink += quintptr(router.match(r.method, r.host, r.path));
    }
    const auto end = std::chrono::steady_clock::now();
    g_sink = sink;
    return double(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()) / iterations;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const int count = args.size() > 1 ? args.at(1).toInt() : 100000;
    const int iterations = args.size() > 2 ? args.at(2).toInt() : 1000000;
    if (count < 1000 || iterations < 1) {
        std::fprintf(stderr, "usage: router_bench [routes >= 1000] [iterations]\n");
        return 2;
    }

    QElapsedTimer timer;
    timer.start();
    ValidationErrors errors;
    const SnapshotPtr snapshot = ConfigSnapshot::fromJson(makeConfig(count), &errors);
    if (!snapshot) {
        for (const ValidationError &error : errors)
            std::fprintf(stderr, "%s\n", qPrintable(error.toString()));
        return 1;
    }
    std::printf("routes: %d, snapshot from JSON: %lld ms\n", count, qint64(timer.restart()));

    const int sample = 4096;
    std::vector<Request> exact, prefix, miss, exactHost, wildcardHost;
    for (int i : pick(count, 0, 6, sample))
        exact.push_back({"GET", "gw.local",
                         "/api/v" + QByteArray::number(i % 3 + 1) + "/svc" + QByteArray::number(i % 1000) +
                             "/res" + QByteArray::number(i)});
    for (int i : pick(count, 6, 9, sample))
        prefix.push_back({"GET", "gw.local", "/static/app" + QByteArray::number(i) + "/js/main.js"});
    for (int i : pick(count, 0, 6, sample))
        miss.push_back({"GET", "gw.local",
                        "/api/v" + QByteArray::number(i % 3 + 1) + "/svc" + QByteArray::number(i % 1000) +
                            "/nothing" + QByteArray::number(i)});
    for (int i : pick(count, 9, 10, sample * 2)) {
        const QByteArray page = "/host/page" + QByteArray::number(i / 10 % 1000);
        if ((i / 10) % 2)
            wildcardHost.push_back({"GET", "a.w" + QByteArray::number(i) + ".Example.com", page});
        else
            exactHost.push_back({"GET", "t" + QByteArray::number(i) + ".example.com", page});
    }

    struct Case
    {
        const char *name;
        const std::vector<Request> *requests;
    };
    const Case cases[] = {{"exact path", &exact},
                          {"prefix path", &prefix},
                          {"miss (deep)", &miss},
                          {"exact host + path", &exactHost},
                          {"wildcard host + path", &wildcardHost}};

    for (RouterKind kind : {RouterKind::HostUri, RouterKind::Uri}) {
        timer.restart();
        const RouterPtr router = Router::build(*snapshot, kind);
        std::printf("\n%s: built in %lld ms\n",
                    kind == RouterKind::HostUri ? "radixtree_host_uri" : "radixtree_uri",
                    qint64(timer.elapsed()));
        if (!RUNNING_ON_VALGRIND) { // under valgrind only the lookups are of interest
            // One route replaced per generation, as a watch event does: the snapshot derived and the
            // router updated from the previous one (each generation kept until the next is made).
            SnapshotPtr current = snapshot;
            RouterPtr updated = router;
            const int changes = 200;
            ValidationErrors ignored;
            QElapsedTimer clock;
            qint64 routerNs = 0;
            clock.start();
            for (int c = 0; c < changes; ++c) {
                const QString id = QString::number((c * 7919) % count);
                ConfigSnapshot::Routes routes = current->routes();
                routes.insert(id,
                              ConfigValidator::parseRoute(
                                  id,
                                  QJsonObject{{QStringLiteral("uri"), QStringLiteral("/changed/%1").arg(c)},
                                              {QStringLiteral("upstream_id"), QStringLiteral("1")}},
                                  &ignored));
                ConfigSnapshot::Changes delta;
                delta.routes.insert(id);
                const SnapshotPtr next =
                    ConfigSnapshot::derive(current, routes, current->upstreams(), current->services(), delta);
                QElapsedTimer one;
                one.start();
                updated = Router::update(*updated, *current, *next, delta);
                routerNs += one.nsecsElapsed();
                current = next;
            }
            std::printf(
                "  one route changed: %.3f ms per change (router update %.3f ms; the rest is the copy of "
                "the snapshot's route map), over %d changes\n",
                double(clock.nsecsElapsed()) / 1e6 / changes, double(routerNs) / 1e6 / changes, changes);
        }
        for (const Case &c : cases) {
            int matched = 0;
            // Under `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='Router::match*'`,
            // one profile dump per case: instruction counts that a busy machine does not disturb.
            CALLGRIND_ZERO_STATS;
            const double ns = measure(*router, *c.requests, iterations, &matched);
            CALLGRIND_DUMP_STATS_AT(c.name);
            std::printf("  %-22s %8.1f ns/match  (%d of %zu sample requests match)\n", c.name, ns, matched,
                        c.requests->size());
        }

        // Every worker matches on the same const router: the per-thread cost should not grow.
        const unsigned threads = std::max(2u, std::thread::hardware_concurrency());
        std::vector<double> perThread(threads);
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                int matched = 0;
                perThread[t] = measure(*router, exact, iterations, &matched);
            });
        }
        for (std::thread &worker : workers)
            worker.join();
        double sum = 0;
        for (double ns : perThread)
            sum += ns;
        std::printf("  %-22s %8.1f ns/match per thread, %u threads at once\n", "exact path", sum / threads,
                    threads);
    }
    return 0;
}
