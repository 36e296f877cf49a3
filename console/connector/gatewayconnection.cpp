#include "gatewayconnection.h"

#include "enumnames.h"

#include <QJsonDocument>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRandomGenerator>

#include <iterator>

// Warnings by default: holdfastctl reports errors itself; QT_LOGGING_RULES turns the rest on.
Q_LOGGING_CATEGORY(lcConnector, "holdfast.console.connector", QtWarningMsg)

namespace {

// The gateway sends a keepalive comment every 15 s: a silent stream for longer is dead.
constexpr int StreamSilenceMs = 40000;
// A stream that buffers this much without finishing an event is not an event stream.
constexpr qsizetype MaxPendingEventBytes = 8 * 1024 * 1024;

} // namespace

GatewayConnection::GatewayConnection(const GatewayAddress &address, QObject *parent)
    : QObject(parent)
{
    m_client.setAddress(address);
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, &GatewayConnection::openStream);
    m_pollTimer.setInterval(3000);
    connect(&m_pollTimer, &QTimer::timeout, this, &GatewayConnection::poll);
    m_refreshSoon.setSingleShot(true);
    m_refreshSoon.setInterval(30);
    connect(&m_refreshSoon, &QTimer::timeout, this, &GatewayConnection::refresh);
    m_resync.timer.setSingleShot(true);
    connect(&m_resync.timer, &QTimer::timeout, this, [this] {
        QString why = QStringLiteral("no return to in_sync in time");
        if (m_status)
            why += QStringLiteral(": the gateway is %1").arg(GatewayStatus::stateName(m_status->state)) +
                   (m_status->controlPlane.lastError.isEmpty()
                        ? QString()
                        : QStringLiteral(" (%1)").arg(m_status->controlPlane.lastError));
        else if (m_error.isError())
            why += QStringLiteral(": %1").arg(m_error.toString());
        finishResync({ConnectorError::Kind::Timeout, why}, why);
    });
    m_resync.pollTimer.setInterval(250);
    connect(&m_resync.pollTimer, &QTimer::timeout, this, &GatewayConnection::refresh);
}

GatewayConnection::~GatewayConnection()
{
    closeStream();
}

void GatewayConnection::setAddress(const GatewayAddress &address)
{
    m_client.setAddress(address);
    m_status.reset();
    if (m_started) {
        stop();
        start();
    }
}

void GatewayConnection::setBackoff(int initialMs, int maxMs)
{
    m_backoffInitialMs = initialMs;
    m_backoffMaxMs = maxMs;
    m_backoffMs = initialMs;
}

QString GatewayConnection::linkName(Link link)
{
    static const char *const names[] = {"stopped", "connecting", "following events", "polling",
                                        "unreachable"};
    static_assert(std::size(names) == std::size_t(Link::Down) + 1);
    return enumName(names, link);
}

void GatewayConnection::start()
{
    if (m_started)
        return;
    m_started = true;
    m_backoffMs = m_backoffInitialMs;
    openStream();
}

void GatewayConnection::stop()
{
    m_started = false;
    m_retryTimer.stop();
    m_pollTimer.stop();
    m_refreshSoon.stop();
    closeStream();
    m_nextRetryAt = {};
    setLink(Link::Stopped);
}

void GatewayConnection::setLink(Link link)
{
    if (link == m_link)
        return;
    qCDebug(lcConnector).noquote() << address().displayName() << "link" << linkName(m_link) << "->"
                                   << linkName(link);
    m_link = link;
    emit linkChanged();
}

void GatewayConnection::setError(const ConnectorError &error)
{
    if (error == m_error)
        return;
    if (error.isError())
        qCInfo(lcConnector).noquote() << address().displayName() << error.toString();
    m_error = error;
    emit errorChanged();
}

void GatewayConnection::openStream()
{
    if (!m_started)
        return;
    closeStream();
    m_nextRetryAt = {};
    if (m_link != Link::Polling)
        setLink(Link::Connecting);
    ConnectorError tokenError;
    QNetworkRequest request = m_client.request(QStringLiteral("/v1/events"), &tokenError);
    if (tokenError.isError()) {
        setError(tokenError);
        setLink(Link::Down);
        scheduleRetry();
        return;
    }
    request.setRawHeader("Accept", "text/event-stream");
    request.setTransferTimeout(StreamSilenceMs);
    m_parser.reset();
    m_streamOpened = false;
    m_stream = m_client.network()->get(request);
    connect(m_stream, &QNetworkReply::readyRead, this, &GatewayConnection::onStreamData);
    connect(m_stream, &QNetworkReply::finished, this, &GatewayConnection::onStreamFinished);
}

void GatewayConnection::closeStream()
{
    if (QNetworkReply *stream = m_stream) {
        m_stream = nullptr;
        stream->disconnect(this);
        stream->abort();
        stream->deleteLater();
    }
}

void GatewayConnection::onStreamData()
{
    QNetworkReply *stream = m_stream;
    if (!stream)
        return;
    if (!m_streamOpened) {
        const int status = stream->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QString type = stream->header(QNetworkRequest::ContentTypeHeader).toString();
        if (status != 200 || !type.startsWith(QLatin1String("text/event-stream"))) {
            return; // finished() follows and classifies it
        }
        m_streamOpened = true;
        m_backoffMs = m_backoffInitialMs;
        m_pollTimer.stop();
        setLink(Link::Following);
    }
    const QList<SseParser::Event> events = m_parser.feed(stream->readAll());
    if (m_parser.pending() > MaxPendingEventBytes) {
        streamFailed(
            {ConnectorError::Kind::UnexpectedDocument, QStringLiteral("%1: an event larger than %2 bytes")
                                                           .arg(stream->url().toString())
                                                           .arg(MaxPendingEventBytes)});
        return;
    }
    for (const SseParser::Event &event : events) {
        QJsonParseError parse;
        const QJsonDocument doc = QJsonDocument::fromJson(event.data, &parse);
        const QString name = QString::fromUtf8(event.type);
        if (!doc.isObject()) {
            qCWarning(lcConnector).noquote() << address().displayName() << "event" << name
                                             << "is not a JSON object:" << parse.errorString();
            m_refreshSoon.start();
            continue;
        }
        QString error;
        if (event.type == "status") {
            if (const auto status = GatewayStatus::fromJson(doc.object(), &error)) {
                setError({});
                acceptStatus(*status);
                emit eventReceived(name, status->toJson());
            } else {
                setError({ConnectorError::Kind::UnexpectedDocument,
                          QStringLiteral("event \"status\": %1").arg(error)});
            }
            continue;
        }
        // The other events say what changed; the status says all of it, in one type.
        m_refreshSoon.start();
        if (const auto typed = GatewayEvent::fromJson(event.type, doc.object(), &error))
            emit eventReceived(name, typed->toJson());
        else
            qCWarning(lcConnector).noquote()
                << address().displayName() << "event" << name << "not read:" << error;
    }
}

void GatewayConnection::onStreamFinished()
{
    QNetworkReply *stream = m_stream;
    if (!stream)
        return;
    m_stream = nullptr;
    stream->deleteLater();
    const QByteArray body = stream->readAll();
    ConnectorError error = AdminClient::classify(stream, body);
    if (!error.isError()) {
        error =
            m_streamOpened
                ? ConnectorError(
                      ConnectorError::Kind::Unreachable,
                      QStringLiteral("%1: the gateway closed the event stream").arg(stream->url().toString()))
                : ConnectorError(ConnectorError::Kind::UnexpectedDocument,
                                 QStringLiteral("%1: not an event stream (%2)")
                                     .arg(stream->url().toString(),
                                          stream->header(QNetworkRequest::ContentTypeHeader).toString()));
    }
    streamFailed(error);
}

void GatewayConnection::streamFailed(const ConnectorError &error)
{
    closeStream();
    if (!m_started)
        return;
    qCDebug(lcConnector).noquote() << address().displayName() << "event stream ended:" << error.toString();
    if (error.kind() == ConnectorError::Kind::Auth) {
        // Polling would get the same answer.
        setError(error);
        setLink(Link::Down);
        scheduleRetry();
        return;
    }
    // Does the gateway still answer at all? Then poll while the stream is retried.
    fetchStatus([this](const std::optional<GatewayStatus> &status, const ConnectorError &statusError) {
        if (!m_started)
            return;
        if (status) {
            setLink(Link::Polling);
            if (!m_pollTimer.isActive())
                m_pollTimer.start();
        } else {
            m_pollTimer.stop();
            setError(statusError);
            setLink(Link::Down);
        }
        scheduleRetry();
    });
}

void GatewayConnection::scheduleRetry()
{
    // Jitter keeps a console watching many gateways after one outage from hitting them all at once.
    const int delay = m_backoffMs / 2 + int(QRandomGenerator::global()->bounded(m_backoffMs / 2 + 1));
    m_backoffMs = qMin(m_backoffMs * 2, m_backoffMaxMs);
    m_nextRetryAt = QDateTime::currentDateTimeUtc().addMSecs(delay);
    m_retryTimer.start(delay);
    emit errorChanged(); // the retry time is part of what is shown with the error
}

void GatewayConnection::poll()
{
    if (m_pollsInFlight > 0)
        return;
    fetchStatus([this](const std::optional<GatewayStatus> &, const ConnectorError &error) {
        if (error.isError() && m_started && m_link == Link::Polling) {
            m_pollTimer.stop();
            setLink(Link::Down);
        }
    });
}

void GatewayConnection::refresh()
{
    fetchStatus([](const std::optional<GatewayStatus> &, const ConnectorError &) {});
}

void GatewayConnection::acceptStatus(const GatewayStatus &status)
{
    m_status = status;
    m_statusAt = QDateTime::currentDateTimeUtc();
    emit statusChanged();
    if (m_resync.active)
        checkResync();
}

template<typename T>
void GatewayConnection::fetchTyped(const QString &path, Result<T> done,
                                   std::function<std::optional<T>(const QJsonObject &, QString *)> parse)
{
    QPointer<GatewayConnection> self(this);
    m_client.get(path, [self, path, done, parse](const AdminClient::Reply &reply) {
        if (!self)
            return;
        if (reply.error.isError())
            return done(std::nullopt, reply.error);
        QString error;
        const std::optional<T> value = parse(reply.json, &error);
        if (!value)
            return done(std::nullopt, ConnectorError(ConnectorError::Kind::UnexpectedDocument,
                                                     QStringLiteral("GET %1: %2").arg(path, error)));
        done(value, {});
    });
}

void GatewayConnection::fetchStatus(Result<GatewayStatus> done)
{
    ++m_pollsInFlight;
    fetchTyped<GatewayStatus>(
        QStringLiteral("/v1/status"),
        [this, done](const std::optional<GatewayStatus> &status, const ConnectorError &error) {
            --m_pollsInFlight;
            if (status) {
                if (m_link != Link::Following || m_error.kind() != ConnectorError::Kind::None)
                    setError({});
                acceptStatus(*status);
            } else if (m_started || m_link == Link::Stopped) {
                setError(error);
            }
            done(status, error);
        },
        &GatewayStatus::fromJson);
}

void GatewayConnection::fetchDiff(Result<ConfigDiffView> done)
{
    fetchTyped<ConfigDiffView>(QStringLiteral("/v1/config/diff"), std::move(done), &ConfigDiffView::fromJson);
}

void GatewayConnection::fetchUpstreams(Result<UpstreamsView> done)
{
    fetchTyped<UpstreamsView>(QStringLiteral("/v1/upstreams"), std::move(done), &UpstreamsView::fromJson);
}

namespace {

std::optional<QJsonObject> configDocument(const QJsonObject &json, QString *error)
{
    if (!json.value(QLatin1String("config")).isObject()) {
        *error = QStringLiteral("/config: expected an object");
        return std::nullopt;
    }
    return json;
}

} // namespace

void GatewayConnection::fetchLiveConfig(Result<QJsonObject> done)
{
    fetchTyped<QJsonObject>(QStringLiteral("/v1/config/live"), std::move(done), &configDocument);
}

void GatewayConnection::fetchPersistedConfig(Result<QJsonObject> done)
{
    fetchTyped<QJsonObject>(QStringLiteral("/v1/config/persisted"), std::move(done), &configDocument);
}

void GatewayConnection::reloadLocal(Result<QString> done)
{
    QPointer<GatewayConnection> self(this);
    m_client.post(QStringLiteral("/v1/reload-local"), [self, done](const AdminClient::Reply &reply) {
        if (!self)
            return;
        const QString message = reply.json.value(QLatin1String("message")).toString();
        if (reply.error.isError())
            return done(std::nullopt,
                        message.isEmpty() ? reply.error : ConnectorError(reply.error.kind(), message));
        self->m_refreshSoon.start();
        done(message, {});
    });
}

void GatewayConnection::resync(int timeoutMs)
{
    if (m_resync.active) {
        emit resyncProgress(QStringLiteral("a resync is already under way"));
        return;
    }
    m_resync.active = true;
    m_resync.posted = false;
    m_resync.lastReport.clear();
    m_resync.postedAt = QDateTime::currentDateTimeUtc();
    m_resync.timer.start(timeoutMs);
    emit resyncProgress(QStringLiteral("asking the gateway to resync"));
    QPointer<GatewayConnection> self(this);
    m_client.post(QStringLiteral("/v1/resync"), [self](const AdminClient::Reply &reply) {
        if (!self || !self->m_resync.active)
            return;
        const QString message = reply.json.value(QLatin1String("message")).toString();
        if (reply.error.isError()) {
            const ConnectorError error =
                message.isEmpty() ? reply.error : ConnectorError(reply.error.kind(), message);
            self->finishResync(error, error.toString());
            return;
        }
        if (!reply.json.value(QLatin1String("accepted")).toBool()) {
            const QString why = QStringLiteral("refused: %1").arg(message);
            self->finishResync({ConnectorError::Kind::Refused, message}, why);
            return;
        }
        self->m_resync.posted = true;
        emit self->resyncProgress(QStringLiteral("accepted: %1; waiting for in_sync").arg(message));
        self->m_resync.pollTimer.start();
        self->refresh();
    });
}

void GatewayConnection::checkResync()
{
    if (!m_resync.posted || !m_status)
        return;
    const GatewayStatus &s = *m_status;
    // The status has no resync generation: done is in sync with an answer from the control plane that
    // came after the request (a full sync aborts every older call first), or a standalone file re-read,
    // which the POST itself did.
    if (s.state == GatewayStatus::State::Standalone)
        return finishResync({}, QStringLiteral("standalone file re-read; live revision %1")
                                    .arg(StatusFacts::revisionText(s.live.revision)));
    if (s.state == GatewayStatus::State::InSync && s.controlPlane.lastOk.isValid() &&
        s.controlPlane.lastOk >= m_resync.postedAt)
        return finishResync({}, QStringLiteral("in sync at revision %1 (sha256 %2)")
                                    .arg(StatusFacts::revisionText(s.live.revision))
                                    .arg(s.live.sha256.left(12)));
    QString report = QStringLiteral("gateway is %1").arg(GatewayStatus::stateName(s.state));
    if (!s.controlPlane.lastError.isEmpty())
        report += QStringLiteral(": %1").arg(s.controlPlane.lastError);
    if (report != m_resync.lastReport) {
        m_resync.lastReport = report;
        emit resyncProgress(report);
    }
}

void GatewayConnection::finishResync(const ConnectorError &error, const QString &message)
{
    if (!m_resync.active)
        return;
    m_resync.active = false;
    m_resync.timer.stop();
    m_resync.pollTimer.stop();
    emit resyncFinished(error, message);
}
