// Calls to one etcd v3 endpoint: JSON through its gateway (unary, the watch stream, auth), range pages over
// gRPC.
#pragma once

#include "etcdrangecodec.h"
#include "etcdsettings.h"

#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QObject>
#include <QSet>
#include <QSslConfiguration>

#include <functional>

class QNetworkReply;

class EtcdClient : public QObject
{
    Q_OBJECT

public:
    struct Response
    {
        bool ok = false;
        QJsonObject body; // the decoded answer when ok
        QString error;    // what went wrong, for status and logs (never carries a secret)
        int code = -1;    // gRPC status code of an etcd error, -1 for transport errors
        bool transport = false;
        // The failure suggests the endpoint does not serve etcd's gRPC API (an HTTP/1.1-only proxy in
        // front of etcd, HTTP/2 refused): its JSON gateway may still answer.
        bool notGrpc = false;

        bool compacted() const { return !ok && error.contains(QLatin1String("compacted")); }
        bool authRejected() const;
    };
    using Handler = std::function<void(const Response &)>;
    using MessageHandler = std::function<void(const QJsonObject &)>;
    using RangeHandler = std::function<void(const Response &, const EtcdRangePage &)>;

    explicit EtcdClient(const EtcdSettings &settings, QObject *parent = nullptr);
    ~EtcdClient() override;

    // Switching endpoints aborts nothing, but forgets the token and the idle connections.
    void setEndpoint(const QString &endpoint);
    QString endpoint() const { return m_endpoint; }
    // Problems reading the TLS files; empty when there are none.
    QString tlsError() const { return m_tlsError; }
    // The same problems for `settings`, before any client exists: a start-up check.
    static QString checkTls(const EtcdSettings &settings);

    // POST <endpoint><path> with a JSON body; authenticates first when credentials are set, and once
    // more when etcd rejects the token (authorized()).
    void call(const QByteArray &path, const QJsonObject &body, Handler done);
    // One range read through etcd's native gRPC API (KV/Range over HTTP/2: prior knowledge on http://,
    // ALPN on https://), authenticated like call(). Costs etcd a fraction of the JSON gateway's CPU.
    void grpcRange(const EtcdRangeRequest &request, RangeHandler done);
    // A streaming POST /v3/watch: onMessage for every object etcd sends, onEnd once the stream ends
    // by itself (never after abortAll). No timeout: the caller checks liveness.
    void watch(const QJsonObject &createRequest, MessageHandler onMessage, Handler onEnd);
    // Drops every request in flight without calling its handlers.
    void abortAll();

private:
    bool needsToken() const { return !m_settings.username.isEmpty() && m_token.isEmpty(); }
    void authenticate(Handler done);
    // Sends a request and reports its answer to the handler it is given.
    using Attempt = std::function<void(Handler answered)>;
    // Runs `attempt` with a token when credentials are set: authenticates first when there is none, and
    // once more, running it again, when etcd rejects the token (tokens die with an etcd restart or after
    // their TTL). `done` gets the last answer, or the failed authentication.
    void authorized(Attempt attempt, Handler done, bool mayReauthenticate);
    void startWatch(const QJsonObject &createRequest, MessageHandler onMessage, Handler onEnd,
                    bool mayReauthenticate);
    QNetworkReply *postGrpcRange(const EtcdRangeRequest &request);
    QNetworkReply *post(const QByteArray &path, const QJsonObject &body, bool withToken);
    // Bounds a unary answer's size and time (the watch checks each message instead).
    void limitUnary(QNetworkReply *reply);
    Response responseOf(QNetworkReply *reply, const QByteArray &data) const;
    Response grpcRangeResponseOf(QNetworkReply *reply, const QByteArray &data, EtcdRangePage *page) const;
    void forget(QNetworkReply *reply);
    void loadTls();
    static QString readTls(const EtcdSettings &settings, QSslConfiguration *ssl);

    EtcdSettings m_settings;
    QNetworkAccessManager m_nam;
    QSslConfiguration m_ssl;
    QString m_tlsError;
    QString m_endpoint;
    QByteArray m_token; // never logged
    QSet<QNetworkReply *> m_inFlight;
};
