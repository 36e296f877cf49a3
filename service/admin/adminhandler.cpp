#include "adminhandler.h"

#include "adminbackend.h"
#include "httpexchange.h"
#include "jsondiff.h"

#include <QJsonDocument>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcAdmin, "holdfast.admin")

class AdminHandler::EventStream : public HttpExchange::Observer
{
public:
    EventStream(AdminHandler *owner, HttpExchange *exchange)
        : m_owner(owner)
        , m_exchange(exchange)
    {}
    void exchangeAborted() override
    {
        m_exchange = nullptr;
        m_owner->closeEventStream(this);
    }
    void send(QByteArrayView bytes)
    {
        // A follower that reads nothing is dropped rather than buffered without bound.
        if (m_exchange && m_exchange->pendingOutput() > 1024 * 1024) {
            HttpExchange *exchange = std::exchange(m_exchange, nullptr);
            exchange->abort();
            m_owner->closeEventStream(this);
            return;
        }
        if (m_exchange)
            m_exchange->writeBody(bytes);
    }
    void close()
    {
        if (HttpExchange *exchange = std::exchange(m_exchange, nullptr))
            exchange->finish();
    }

private:
    AdminHandler *m_owner;
    HttpExchange *m_exchange;
};

AdminHandler::AdminHandler(AdminBackend *backend, AdminToken token, int maxEventStreams, QObject *parent)
    : QObject(parent)
    , m_backend(backend)
    , m_token(std::move(token))
    , m_maxEventStreams(maxEventStreams)
{
    m_keepalive.setInterval(15000);
    connect(&m_keepalive, &QTimer::timeout, this, [this] {
        for (auto it = m_streams.begin(); it != m_streams.end();) {
            EventStream *stream = (it++)->get(); // send() may remove this stream from the list
            stream->send(": keepalive\n\n");
        }
    });
}

AdminHandler::~AdminHandler()
{
    for (auto &stream : m_streams)
        stream->close();
}

void AdminHandler::respondJson(HttpExchange *exchange, int status, const QJsonObject &body)
{
    exchange->respond(status, "application/json", QJsonDocument(body).toJson(QJsonDocument::Compact) + '\n');
}

bool AdminHandler::isProbe(const HttpRequestHead &request)
{
    const bool get = request.method == "GET" || request.method == "HEAD";
    return get && (request.path == "/healthz" || request.path == "/readyz");
}

// Before the body is read: a caller without the token gets neither `100 Continue` nor a read of its body.
bool AdminHandler::admitRequest(HttpExchange *exchange)
{
    const HttpRequestHead &request = exchange->request();
    if (isProbe(request) || m_token.accepts(request.headers.value("authorization")))
        return true;
    HttpHeaders extra;
    extra.append("WWW-Authenticate", "Bearer realm=\"holdfast\"");
    exchange->respond(401, "application/json", "{\"error_msg\":\"401 missing or wrong bearer token\"}\n",
                      &extra);
    return false;
}

void AdminHandler::handleRequest(HttpExchange *exchange)
{
    const HttpRequestHead &request = exchange->request();
    const QByteArrayView path = request.path;
    const bool get = request.method == "GET" || request.method == "HEAD";
    const bool post = request.method == "POST";

    // Probes for load balancers and orchestrators carry no token.
    if (path == "/healthz" && get)
        return exchange->respond(200, "text/plain", "ok\n");
    if (path == "/readyz" && get) {
        if (m_backend->ready())
            return exchange->respond(200, "text/plain", "ready\n");
        return exchange->respond(503, "text/plain", "not ready: no configuration is being served\n");
    }

    if (!admitRequest(exchange))
        return;

    if (path == "/metrics" && get)
        return exchange->respond(200, "text/plain; version=0.0.4; charset=utf-8", m_backend->metrics());
    if (path == "/v1/status" && get)
        return respondJson(exchange, 200, m_backend->status());
    if (path == "/v1/config/live" && get)
        return respondJson(exchange, 200, m_backend->liveConfig());
    if (path == "/v1/config/persisted" && get) {
        if (const auto persisted = m_backend->persistedConfig())
            return respondJson(exchange, 200, *persisted);
        return exchange->respondError(404, "404 no persisted configuration");
    }
    if (path == "/v1/config/diff" && get) {
        const QJsonObject live = m_backend->liveConfig();
        const auto persisted = m_backend->persistedConfig();
        const QJsonObject persistedConfig =
            persisted ? persisted->value(QStringLiteral("config")).toObject() : QJsonObject();
        const QList<JsonChange> changes =
            JsonDiff::diff(persistedConfig, live.value(QStringLiteral("config")));
        return respondJson(exchange, 200,
                           {{QStringLiteral("from"), QStringLiteral("persisted")},
                            {QStringLiteral("to"), QStringLiteral("live")},
                            {QStringLiteral("persisted_sha256"),
                             persisted ? persisted->value(QStringLiteral("sha256")) : QJsonValue()},
                            {QStringLiteral("live_sha256"), live.value(QStringLiteral("sha256"))},
                            {QStringLiteral("equal"), changes.isEmpty()},
                            {QStringLiteral("changes"), JsonDiff::toJson(changes)}});
    }
    if (path == "/v1/upstreams" && get)
        return respondJson(exchange, 200, m_backend->upstreams());
    if (path == "/v1/events" && get)
        return openEventStream(exchange);
    if (path == "/v1/resync" && post)
        return respondJson(exchange, 202, m_backend->resync());
    if (path == "/v1/reload-local" && post) {
        const QJsonObject result = m_backend->reloadLocal();
        return respondJson(exchange, result.value(QStringLiteral("accepted")).toBool() ? 200 : 409, result);
    }

    static const QByteArrayView known[] = {
        "/metrics",   "/v1/status", "/v1/config/live",  "/v1/config/persisted", "/v1/config/diff",
        "/v1/events", "/v1/resync", "/v1/reload-local", "/v1/upstreams"};
    for (QByteArrayView p : known) {
        if (path == p)
            return exchange->respondError(405, "405 method not allowed");
    }
    exchange->respondError(404, "404 not found");
}

void AdminHandler::openEventStream(HttpExchange *exchange)
{
    if (int(m_streams.size()) >= m_maxEventStreams)
        return respondJson(
            exchange, 503,
            {{QStringLiteral("error_msg"),
              QStringLiteral("503 too many event streams: %1 open, admin.max_event_streams is %1")
                  .arg(m_maxEventStreams)}});
    HttpHeaders headers;
    headers.append("Content-Type", "text/event-stream");
    headers.append("Cache-Control", "no-cache");
    exchange->writeHead(200, "OK", headers, -1);
    m_streams.push_back(std::make_unique<EventStream>(this, exchange));
    exchange->setObserver(m_streams.back().get());
    // The follower starts from the current state, then hears every change.
    const QByteArray hello =
        "event: status\ndata: " + QJsonDocument(m_backend->status()).toJson(QJsonDocument::Compact) + "\n\n";
    m_streams.back()->send(hello);
    if (!m_keepalive.isActive())
        m_keepalive.start();
}

void AdminHandler::closeEventStream(EventStream *stream)
{
    m_streams.remove_if([stream](const std::unique_ptr<EventStream> &s) { return s.get() == stream; });
    if (m_streams.empty())
        m_keepalive.stop();
}

void AdminHandler::publishEvent(const QByteArray &type, const QJsonObject &data)
{
    if (m_streams.empty())
        return;
    const QByteArray event = "id: " + QByteArray::number(++m_eventId) + "\nevent: " + type +
                             "\ndata: " + QJsonDocument(data).toJson(QJsonDocument::Compact) + "\n\n";
    for (auto it = m_streams.begin(); it != m_streams.end();) {
        EventStream *stream = (it++)->get();
        stream->send(event);
    }
}
