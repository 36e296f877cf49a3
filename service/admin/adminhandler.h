// The admin API: status, configuration, diff, events and metrics, behind a bearer token.
#pragma once

#include "admintoken.h"
#include "irequesthandler.h"

#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <list>
#include <memory>

class AdminBackend;
class HttpExchange;
struct HttpRequestHead;

class AdminHandler : public QObject, public IRequestHandler
{
    Q_OBJECT

public:
    // Beyond maxEventStreams concurrent GET /v1/events, the next one gets 503.
    AdminHandler(AdminBackend *backend, AdminToken token, int maxEventStreams = 16,
                 QObject *parent = nullptr);
    ~AdminHandler() override;

    void handleRequest(HttpExchange *exchange) override;
    qint64 bufferedBodyLimit() const override { return 64 * 1024; }
    bool admitRequest(HttpExchange *exchange) override;

    // Sends one server-sent event to every client following GET /v1/events.
    void publishEvent(const QByteArray &type, const QJsonObject &data);
    int eventClients() const { return int(m_streams.size()); }

private:
    class EventStream;
    void openEventStream(HttpExchange *exchange);
    void closeEventStream(EventStream *stream);
    static bool isProbe(const HttpRequestHead &request);
    void respondJson(HttpExchange *exchange, int status, const QJsonObject &body);

    AdminBackend *m_backend;
    AdminToken m_token;
    std::list<std::unique_ptr<EventStream>> m_streams;
    QTimer m_keepalive; // a comment line now and then, so followers notice a gateway that went away
    quint64 m_eventId = 0;
    int m_maxEventStreams;
};
