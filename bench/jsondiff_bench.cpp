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

// One collection of `count` objects named <letter><n>. In the second configuration one object in
// `removeEvery` is gone, one in `changeEvery` is changed (two changes each: makeRoute changes the priority
// and adds a method, makeUpstream changes a weight and adds a node) and `added` are new; `changes` counts
// them.
struct Collection
{
    QChar letter;
    int count;
    int removeEvery, removeAt;
    int changeEvery, changeAt;
    int added;
    QJsonObject (*make)(int i, bool changed);

    QJsonObject build(bool second, int *changes) const
    {
        QJsonObject out;
        for (int i = 0; i < count + (second ? added : 0); ++i) {
            const bool isNew = i >= count;
            const bool removed = second && !isNew && i % removeEvery == removeAt;
            const bool changed = second && !isNew && i % changeEvery == changeAt;
            if (isNew || removed)
                ++*changes;
            else if (changed)
                *changes += 2;
            if (!removed)
                out.insert(letter + QString::number(i), make(i, changed));
        }
        return out;
    }
};

// `second` changes about 1% of the objects and adds and removes a few; `expected` counts the changes.
QJsonObject makeConfig(bool second, int *expected)
{
    int changes = 0;
    const Collection routes{QLatin1Char('r'), kRoutes, 500, 3, 100, 7, 20, makeRoute};
    const Collection upstreams{QLatin1Char('u'), kUpstreams, 200, 9, 100, 5, 5, makeUpstream};
    const QJsonObject config{{str("routes"), routes.build(second, &changes)},
                             {str("upstreams"), upstreams.build(second, &changes)},
                             {str("services"), QJsonObject()}};
    if (expected)
        *expected = changes;
    return config;
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
