// One gateway followed live: its event stream (polling when that fails), typed status, errors, actions.
#pragma once

#include "adminclient.h"
#include "configdiffview.h"
#include "connectorerror.h"
#include "gatewayaddress.h"
#include "gatewayevent.h"
#include "gatewaystatus.h"
#include "sseparser.h"
#include "statusfacts.h"
#include "upstreamsview.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <functional>
#include <optional>

class QNetworkReply;

// Usage: construct with an address, start(), read status()/error()/link() on the signals. While
// started it follows GET /v1/events; a "status" event carries the whole status, the other events make
// it fetch /v1/status again. When the stream fails but /v1/status answers, it polls; when neither
// answers it retries with exponential backoff. One-shot calls (configs, diff, upstreams, resync,
// reload-local) work whether started or not.
class GatewayConnection : public QObject
{
    Q_OBJECT

public:
    enum class Link
    {
        Stopped,
        Connecting,
        Following, // the event stream is open
        Polling,   // the stream failed, /v1/status answers
        Down       // nothing answers; error() says why, nextRetryAt() when it tries again
    };

    template<typename T>
    using Result = std::function<void(const std::optional<T> &, const ConnectorError &)>;

    explicit GatewayConnection(const GatewayAddress &address, QObject *parent = nullptr);
    ~GatewayConnection() override;

    const GatewayAddress &address() const { return m_client.address(); }
    void setAddress(const GatewayAddress &address); // reconnects when started
    void setRequestTimeoutMs(int ms) { m_client.setTimeoutMs(ms); }
    void setPollIntervalMs(int ms) { m_pollTimer.setInterval(ms); }
    void setBackoff(int initialMs, int maxMs);

    void start();
    void stop();
    void refresh(); // fetch /v1/status now

    Link link() const { return m_link; }
    static QString linkName(Link link);
    const std::optional<GatewayStatus> &status() const { return m_status; }
    QDateTime statusReceivedAt() const { return m_statusAt; }
    const ConnectorError &error() const { return m_error; }
    QDateTime nextRetryAt() const { return m_nextRetryAt; }
    bool resyncInProgress() const { return m_resync.active; }

    void fetchStatus(Result<GatewayStatus> done);
    void fetchDiff(Result<ConfigDiffView> done);
    void fetchUpstreams(Result<UpstreamsView> done);
    // {"revision", "sha256", "config"}, kept as JSON: it is written to a file as it is.
    void fetchLiveConfig(Result<QJsonObject> done);
    void fetchPersistedConfig(Result<QJsonObject> done);
    // The gateway's {"accepted", "message"}; refused (409) comes back as a Refused error with the message.
    void reloadLocal(Result<QString> done);
    // POST /v1/resync, then follows the status until the gateway is in sync again, having heard from the
    // control plane after the request (standalone: the file re-read), or until timeoutMs: resyncProgress()
    // on the way, resyncFinished() once.
    void resync(int timeoutMs = 30000);

signals:
    void statusChanged();
    void linkChanged();
    void errorChanged();
    // Every server-sent event that reads as its common/ type: "status" (a GatewayStatus) or a
    // GatewayEvent ("state", "applied", "rejected", "persisted"); `data` is that type's toJson().
    void eventReceived(const QString &name, const QJsonObject &data);
    void resyncProgress(const QString &message);
    // `error` is None when the gateway is in sync again; Timeout when it did not come back in time.
    void resyncFinished(const ConnectorError &error, const QString &message);

private:
    void openStream();
    void closeStream();
    void onStreamData();
    void onStreamFinished();
    void streamFailed(const ConnectorError &error);
    void poll();
    void scheduleRetry();
    void setLink(Link link);
    void setError(const ConnectorError &error);
    void acceptStatus(const GatewayStatus &status);
    void checkResync();
    void finishResync(const ConnectorError &error, const QString &message);
    template<typename T>
    void fetchTyped(const QString &path, Result<T> done,
                    std::function<std::optional<T>(const QJsonObject &, QString *)> parse);

    AdminClient m_client;
    QPointer<QNetworkReply> m_stream;
    SseParser m_parser;
    bool m_streamOpened = false;
    bool m_started = false;
    Link m_link = Link::Stopped;
    std::optional<GatewayStatus> m_status;
    QDateTime m_statusAt;
    ConnectorError m_error;
    QDateTime m_nextRetryAt;
    QTimer m_retryTimer;
    QTimer m_pollTimer;
    QTimer m_refreshSoon; // events arrive in bursts: one status fetch for a burst
    int m_backoffInitialMs = 500;
    int m_backoffMaxMs = 15000;
    int m_backoffMs = 500;
    int m_pollsInFlight = 0;

    struct ResyncWatch
    {
        bool active = false;
        bool posted = false;
        QDateTime postedAt;
        QTimer timer;     // the deadline
        QTimer pollTimer; // status while waiting (events do not report an unchanged state)
        QString lastReport;
    } m_resync;
};
