// One-shot calls to a gateway's admin API: the token sent, the answer checked, failures sorted by kind.
#pragma once

#include "connectorerror.h"
#include "gatewayaddress.h"

#include <QJsonObject>
#include <QNetworkRequest>
#include <QObject>
#include <QPointer>

#include <functional>

class QNetworkAccessManager;
class QNetworkReply;

class AdminClient : public QObject
{
    Q_OBJECT

public:
    struct Reply
    {
        int httpStatus = 0; // 0: no HTTP answer
        QByteArray body;
        QJsonObject json; // the body, when it is a JSON object
        ConnectorError error;
    };
    using Callback = std::function<void(const Reply &)>;

    explicit AdminClient(QObject *parent = nullptr);

    void setAddress(const GatewayAddress &address) { m_address = address; }
    const GatewayAddress &address() const { return m_address; }
    // Without a byte for this long a call ends as a timeout.
    void setTimeoutMs(int ms) { m_timeoutMs = ms; }
    int timeoutMs() const { return m_timeoutMs; }

    // The callback runs once, from the event loop, unless the client is destroyed first. Answers with a
    // 2xx status must be JSON objects; anything else is an UnexpectedDocument error.
    void get(const QString &path, Callback callback);
    void post(const QString &path, Callback callback);

    // A request with the token, for a caller that reads the reply itself (the event stream). With an
    // unreadable token file, *error is set and the request carries no token.
    QNetworkRequest request(const QString &path, ConnectorError *error) const;
    QNetworkAccessManager *network() const { return m_network; }
    // What a finished reply means: network failure, TLS, HTTP status, or none (2xx).
    static ConnectorError classify(QNetworkReply *reply, const QByteArray &body);

private:
    void send(const QByteArray &method, const QString &path, Callback callback);

    QNetworkAccessManager *m_network;
    GatewayAddress m_address;
    int m_timeoutMs = 5000;
};
