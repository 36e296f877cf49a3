// Benchmark of JsonDiff::diff on two 10k-route configurations, as the admin API diffs live against persisted.
#include "jsondiff.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

namespace {

constexpr int kRoutes = 10000;
constexpr int kUpstreams = 1000;

QString str(const char *text)
{
    return QString::fromLatin1(text);
}

QJsonObject makeRoute(int i, bool changed)
{
    const QString n = QString::number(i);
    QJsonArray methods{str("GET"), str("POST")};
    if (changed)
        methods.append(str("PUT"));
    QJsonObject limit{{str("count"), 100},
                      {str("time_window"), 60},
                      {str("key"), str("remote_addr")},
                      {str("rejected_code"), 503}};
    QJsonObject rewrite{
        {str("regex_uri"), QJsonArray{QStringLiteral("^/api/v1/svc%1/(.*)").arg(n), str("/$1")}},
        {str("headers"), QJsonObject{{str("X-Route"), n}}}};
    return QJsonObject{
        {str("id"), QStringLiteral("r%1").arg(n)},
        {str("name"), QStringLiteral("route-%1").arg(n)},
        {str("desc"), QStringLiteral("generated route number %1 for the diff benchmark").arg(n)},
        {str("uri"), QStringLiteral("/api/v1/svc%1/*").arg(n)},
        {str("methods"), methods},
        {str("hosts"), QJsonArray{QStringLiteral("svc%1.example.com").arg(n)}},
        {str("priority"), changed ? 10 : 0},
        {str("status"), 1},
        {str("upstream_id"), QStringLiteral("u%1").arg(i % kUpstreams)},
        {str("labels"),
         QJsonObject{{str("team"), QStringLiteral("t%1").arg(i % 17)}, {str("env"), str("prod")}}},
        {str("plugins"), QJsonObject{{str("limit-count"), limit}, {str("proxy-rewrite"), rewrite}}},
    };
}

QJsonObject makeUpstream(int i, bool changed)
{
    QJsonArray nodes;
    const int count = changed ? 4 : 3;
    for (int k = 0; k < count; ++k) {
        nodes.append(
            QJsonObject{{str("host"), QStringLiteral("10.%1.%2.%3").arg(i / 250).arg(i % 250).arg(k + 1)},
                        {str("port"), 8080},
                        {str("weight"), (changed && k == 0) ? 5 : 1}});
    }
    QJsonObject active{{str("type"), str("http")},
                       {str("http_path"), str("/healthz")},
                       {str("healthy"), QJsonObject{{str("interval"), 2}, {str("successes"), 2}}},
                       {str("unhealthy"), QJsonObject{{str("interval"), 1}, {str("http_failures"), 3}}}};
    return QJsonObject{
        {str("id"), QStringLiteral("u%1").arg(i)},
        {str("type"), str("roundrobin")},
        {str("nodes"), nodes},
        {str("timeout"), QJsonObject{{str("connect"), 6}, {str("send"), 6}, {str("read"), 6}}},
        {str("retries"), 2},
        {str("scheme"), str("http")},
        {str("pass_host"), str("pass")},
        {str("checks"), QJsonObject{{str("active"), active}}},
        {str("keepalive_pool"),
         QJsonObject{{str("size"), 320}, {str("idle_timeout"), 60}, {str("requests"), 1000}}},
    };
}

// `second` changes about 1% of the objects and adds and removes a few; `expected` counts the changes.
QJsonObject makeConfig(bool second, int *expected)
{
    QJsonObject routes;
    QJsonObject upstreams;
    int changes = 0;
    for (int i = 0; i < kRoutes; ++i) {
        const bool removed = second && i % 500 == 3;
        const bool changed = second && i % 100 == 7;
        if (removed) {
            ++changes;
            continue;
        }
        if (changed)
            changes += 2; // priority changed, one method added
        routes.insert(QStringLiteral("r%1").arg(i), makeRoute(i, changed));
    }
    for (int i = 0; second && i < 20; ++i, ++changes)
        routes.insert(QStringLiteral("r%1").arg(kRoutes + i), makeRoute(kRoutes + i, false));
    for (int i = 0; i < kUpstreams; ++i) {
        const bool removed = second && i % 200 == 9;
        const bool changed = second && i % 100 == 5;
        if (removed) {
            ++changes;
            continue;
        }
        if (changed)
            changes += 2; // a weight changed, one node added
        upstreams.insert(QStringLiteral("u%1").arg(i), makeUpstream(i, changed));
    }
    for (int i = 0; second && i < 5; ++i, ++changes)
        upstreams.insert(QStringLiteral("u%1").arg(kUpstreams + i), makeUpstream(kUpstreams + i, false));
    if (expected)
        *expected = changes;
    return QJsonObject{
        {str("routes"), routes}, {str("upstreams"), upstreams}, {str("services"), QJsonObject()}};
}

// A round trip through text gives a document that shares no data with the original, like a persisted
// file read back from disk next to the live configuration.
QJsonObject reparse(const QJsonObject &object, qsizetype *bytes)
{
    const QByteArray text = QJsonDocument(object).toJson(QJsonDocument::Compact);
    if (bytes)
        *bytes = text.size();
    return QJsonDocument::fromJson(text).object();
}

double medianMs(int runs, const std::function<qsizetype()> &work, qsizetype *result)
{
    std::vector<double> times;
    for (int r = 0; r < runs; ++r) {
        QElapsedTimer timer;
        timer.start();
        *result = work();
        times.push_back(timer.nsecsElapsed() / 1e6);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    int runs = 11;
    const QStringList args = app.arguments();
    const qsizetype at = args.indexOf(str("--runs"));
    if (at > 0 && at + 1 < args.size())
        runs = std::max(1, args.at(at + 1).toInt());

    int expected = 0;
    qsizetype fromBytes = 0;
    qsizetype toBytes = 0;
    const QJsonObject from = reparse(makeConfig(false, nullptr), &fromBytes);
    const QJsonObject to = reparse(makeConfig(true, &expected), &toBytes);
    const QJsonObject fromAgain = reparse(from, nullptr);

    std::printf("config: %d routes, %d upstreams; %lld and %lld bytes of compact JSON; %d runs each\n",
                kRoutes, kUpstreams, static_cast<long long>(fromBytes), static_cast<long long>(toBytes),
                runs);

    qsizetype found = 0;
    const double changedMs = medianMs(
        runs, [&] { return JsonDiff::diff(from, to).size(); }, &found);
    std::printf("~1%% changed, separately parsed: median %.2f ms, %lld changes\n", changedMs,
                static_cast<long long>(found));
    if (found != expected) {
        std::fprintf(stderr, "expected %d changes, found %lld\n", expected, static_cast<long long>(found));
        return 1;
    }

    const double equalMs = medianMs(
        runs, [&] { return JsonDiff::diff(from, fromAgain).size(); }, &found);
    std::printf("identical, separately parsed:   median %.2f ms, %lld changes\n", equalMs,
                static_cast<long long>(found));

    const QJsonObject shared = from;
    const double sharedMs = medianMs(
        runs, [&] { return JsonDiff::diff(from, shared).size(); }, &found);
    std::printf("identical, shared data:         median %.4f ms, %lld changes\n", sharedMs,
                static_cast<long long>(found));
    return found == 0 ? 0 : 1;
}
