#include "proxyhandler.h"

#include "httpexchange.h"
#include "pathnormalizer.h"
#include "proxycall.h"
#include "upstreamhealth.h"

#include <QDateTime>

#include <chrono>

ProxyHandler::ProxyHandler(ProxyMetrics *metrics, AccessLog::Buffer *log, const ProxyPolicy &policy,
                           QObject *poolParent)
    : m_metrics(metrics)
    , m_log(log)
    , m_policy(policy)
    , m_pool(new UpstreamPool(poolParent))
{}

ProxyHandler::~ProxyHandler()
{
    m_pool->closeAll();
}

qint64 ProxyHandler::nowMicros()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

void ProxyHandler::setSnapshot(ProxySnapshotPtr snapshot)
{
    if (!m_generations.empty() && m_generations.back()->snapshot == snapshot)
        return;
    auto generation = std::make_unique<Generation>();
    generation->snapshot = std::move(snapshot);
    m_generations.push_back(std::move(generation));
    retire();
}

quint64 ProxyHandler::generation() const
{
    return m_generations.empty() ? 0 : m_generations.back()->snapshot->generation();
}

// Drops the generations no request uses any more, and the balancers only they used.
void ProxyHandler::retire()
{
    for (auto it = m_generations.begin(); it != m_generations.end();) {
        const bool current = std::next(it) == m_generations.end();
        if (!current && (*it)->inFlight == 0)
            it = m_generations.erase(it);
        else
            ++it;
    }
    for (auto it = m_latestEntries.begin(); it != m_latestEntries.end();) {
        if (it.value().use_count() == 1)
            it = m_latestEntries.erase(it);
        else
            ++it;
    }
}

ProxyHandler::UpstreamEntry *ProxyHandler::entryFor(Generation *generation, const RouteTarget &target)
{
    const Upstream *key = target.upstream.get();
    auto found = generation->entries.find(key);
    if (found != generation->entries.end())
        return found->second.get();

    std::shared_ptr<UpstreamHealth> health;
    if (const HealthMapPtr &map = generation->snapshot->health())
        health = map->value(target.upstreamKey);
    // An unchanged upstream keeps its balancer across snapshots: round-robin position, least-conn
    // counts and the hash ring carry on instead of starting over at every config change.
    std::shared_ptr<UpstreamEntry> entry = m_latestEntries.value(target.upstreamKey);
    const bool unchanged =
        entry && entry->health == health &&
        (entry->upstream == target.upstream ||
         (entry->upstream->json == target.upstream->json && entry->upstream->id == target.upstream->id));
    if (!unchanged) {
        entry = std::make_shared<UpstreamEntry>();
        entry->key = target.upstreamKey;
        entry->upstream = target.upstream;
        entry->health = health;
        entry->balancer = Balancer::create(target.upstream, health);
        entry->nodeKeys.reserve(size_t(target.upstream->nodes.size()));
        for (const UpstreamNode &node : target.upstream->nodes)
            entry->nodeKeys.push_back(UpstreamHealth::nodeName(node));
        m_latestEntries.insert(target.upstreamKey, entry);
    }
    generation->entries.emplace(key, entry);
    return entry.get();
}

void ProxyHandler::handleRequest(HttpExchange *exchange)
{
    const qint64 start = nowMicros();
    const HttpRequestHead &request = exchange->request();
    Generation *generation = m_generations.empty() ? nullptr : m_generations.back().get();
    const QByteArrayView client = clientAddress(request, m_policy, &m_clientAddress);

    // Routes match the normalized path, and the upstream is sent that same path (README: "Paths").
    QByteArrayView path = request.path;
    QByteArrayView forwardPath;
    switch (PathNormalizer::normalize(request.path, &m_normalizedPath, &m_forwardPath)) {
    case PathNormalizer::Result::Unchanged:
        break;
    case PathNormalizer::Result::Changed:
        path = m_normalizedPath;
        forwardPath = m_forwardPath;
        break;
    case PathNormalizer::Result::BadEncoding:
        recordLocal(request, client, QString(), 400, start);
        exchange->respondError(400, "400 Bad Request: invalid percent-encoding in the path");
        return;
    case PathNormalizer::Result::AboveRoot:
        recordLocal(request, client, QString(), 400, start);
        exchange->respondError(400, "400 Bad Request: the path climbs above /");
        return;
    }

    const RouteTarget *target = nullptr;
    if (generation && generation->snapshot->router())
        target = generation->snapshot->router()->match(request.method, request.host, path);
    if (!target) {
        recordLocal(request, client, QString(), 404, start);
        exchange->respondError(404, "404 Route Not Found");
        return;
    }
    if (!target->upstream || target->upstream->nodes.isEmpty()) {
        recordLocal(request, client, target->route->id, 503, start);
        exchange->respondError(503);
        return;
    }
    UpstreamEntry *entry = entryFor(generation, *target);
    std::unique_ptr<ProxyCall> call;
    if (m_freeCalls.empty()) {
        call = std::make_unique<ProxyCall>(this);
    } else {
        call = std::move(m_freeCalls.back());
        m_freeCalls.pop_back();
    }
    ++generation->inFlight;
    ++m_callsInFlight;
    call.release()->start(exchange, generation, target, entry, start, {path, forwardPath, client});
}

void ProxyHandler::callFinished(ProxyCall *call, Generation *generation)
{
    --m_callsInFlight;
    m_freeCalls.emplace_back(call);
    if (generation && --generation->inFlight == 0 && generation != m_generations.back().get())
        retire();
}

void ProxyHandler::recordLocal(const HttpRequestHead &request, QByteArrayView clientAddress,
                               const QString &routeId, int status, qint64 startMicros)
{
    const qint64 duration = nowMicros() - startMicros;
    m_metrics->recordRequest(routeId, QString(), status, duration, -1, 0, 0);
    if (m_log && m_log->isEnabled())
        m_log->append(logEntry(request, clientAddress, routeId, status, duration));
}

namespace {

bool trusted(const QHostAddress &address, const ProxyPolicy &policy)
{
    for (const auto &subnet : policy.realIpFrom) {
        if (address.isInSubnet(subnet.first, subnet.second))
            return true;
    }
    return false;
}

} // namespace

QByteArrayView ProxyHandler::clientAddress(const HttpRequestHead &request, const ProxyPolicy &policy,
                                           QByteArray *scratch)
{
    const QByteArrayView peer = request.peerAddressText;
    if (policy.realIpFrom.isEmpty() || !trusted(request.peerAddress, policy))
        return peer;
    // Every X-Forwarded-For field, last first, each read from its right end.
    QByteArrayView found;
    bool stop = false;
    const HttpHeaders &headers = request.headers;
    for (int i = headers.size() - 1; i >= 0 && !stop; --i) {
        if (!HttpHeaders::equalsIgnoringCase(headers.name(i), "x-forwarded-for"))
            continue;
        QByteArrayView list = headers.value(i);
        while (!list.isEmpty() && !stop) {
            const qsizetype comma = list.lastIndexOf(',');
            const QByteArrayView item = (comma < 0 ? list : list.sliced(comma + 1)).trimmed();
            list = comma < 0 ? QByteArrayView() : list.first(comma);
            QHostAddress address;
            if (item.isEmpty() || !address.setAddress(QString::fromLatin1(item))) {
                stop = true; // not an address: nothing further left is believed
                break;
            }
            found = item;
            stop = !trusted(address, policy);
        }
    }
    if (found.isEmpty())
        return peer;
    *scratch = found.toByteArray();
    return *scratch;
}

AccessLog::Entry ProxyHandler::logEntry(const HttpRequestHead &request, QByteArrayView clientAddress,
                                        const QString &routeId, int status, qint64 durationMicros)
{
    AccessLog::Entry entry;
    // The peer's text is shared, not copied, in the common case.
    entry.remoteAddr = clientAddress.data() == request.peerAddressText.constData()
                           ? request.peerAddressText
                           : clientAddress.toByteArray();
    entry.remotePort = request.peerPort;
    entry.method = request.method.toByteArray();
    entry.target = request.target;
    entry.protocol =
        request.versionMinor == 0 ? QByteArrayLiteral("HTTP/1.0") : QByteArrayLiteral("HTTP/1.1");
    entry.host = request.host.toByteArray();
    entry.status = status;
    entry.referer = request.headers.value("referer").toByteArray();
    entry.userAgent = request.headers.value("user-agent").toByteArray();
    entry.routeId = routeId.toUtf8();
    entry.requestTimeMicros = durationMicros;
    return entry;
}

void ProxyHandler::checkTimeouts(qint64 nowMs)
{
    m_pool->checkTimeouts(nowMs);
}

void ProxyHandler::closeUpstreams()
{
    m_pool->closeAll();
}
