#include "adminclient.h"

#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTimer>

namespace {

QString errorMessageOf(const QByteArray &body)
{
    const QJsonObject json = QJsonDocument::fromJson(body).object();
    for (const char *key : {"message", "error_msg", "error"}) {
        const QString text = json.value(QLatin1String(key)).toString();
        if (!text.isEmpty())
            return text;
    }
    return QString::fromUtf8(body.left(200)).trimmed();
}

} // namespace

AdminClient::AdminClient(QObject *parent)
    : QObject(parent)
    , m_network(new QNetworkAccessManager(this))
{
    m_network->setAutoDeleteReplies(false);
}

QNetworkRequest AdminClient::request(const QString &path, ConnectorError *error) const
{
    QNetworkRequest request(m_address.urlFor(path));
    QString tokenError;
    const QByteArray token = m_address.resolveToken(&tokenError);
    if (!tokenError.isEmpty())
        *error = ConnectorError(ConnectorError::Kind::Auth, tokenError);
    else
        request.setRawHeader("Authorization", "Bearer " + token);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
    request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
    request.setTransferTimeout(m_timeoutMs);
    return request;
}

void AdminClient::get(const QString &path, Callback callback)
{
    send("GET", path, std::move(callback));
}

void AdminClient::post(const QString &path, Callback callback)
{
    send("POST", path, std::move(callback));
}

void AdminClient::send(const QByteArray &method, const QString &path, Callback callback)
{
    ConnectorError tokenError;
    QNetworkRequest req = request(path, &tokenError);
    if (tokenError.isError()) {
        // Asynchronous like every other outcome, so callers see one order of events.
        QTimer::singleShot(0, this, [callback, tokenError] { callback(Reply{0, {}, {}, tokenError}); });
        return;
    }
    QNetworkReply *reply = nullptr;
    if (method == "POST") {
        req.setHeader(QNetworkRequest::ContentTypeHeader, QByteArray("application/json"));
        reply = m_network->post(req, QByteArray());
    } else {
        reply = m_network->get(req);
    }
    const QString where = QStringLiteral("%1 %2").arg(QString::fromLatin1(method), req.url().toString());
    connect(reply, &QNetworkReply::finished, this, [reply, callback, where] {
        reply->deleteLater();
        Reply out;
        out.body = reply->readAll();
        out.httpStatus = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        out.error = classify(reply, out.body);
        if (out.error.isError()) {
            // A refusal carries the gateway's reason ({"accepted": false, "message": ...}).
            out.json = QJsonDocument::fromJson(out.body).object();
        } else {
            QJsonParseError parse;
            const QJsonDocument doc = QJsonDocument::fromJson(out.body, &parse);
            if (!doc.isObject())
                out.error = ConnectorError(
                    ConnectorError::Kind::UnexpectedDocument,
                    QStringLiteral("%1: expected a JSON object, got %2 (%3)")
                        .arg(where,
                             out.body.isEmpty()
                                 ? QStringLiteral("an empty body")
                                 : QStringLiteral("%1 bytes of %2")
                                       .arg(out.body.size())
                                       .arg(reply->header(QNetworkRequest::ContentTypeHeader).toString()),
                             parse.error != QJsonParseError::NoError ? parse.errorString()
                                                                     : QStringLiteral("not an object")));
            else
                out.json = doc.object();
        }
        callback(out);
    });
}

ConnectorError AdminClient::classify(QNetworkReply *reply, const QByteArray &body)
{
    using Kind = ConnectorError::Kind;
    const QString url = reply->url().toString();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status == 401 || status == 403)
        return {Kind::Auth, QStringLiteral("%1 from %2: the gateway refused the token (%3)")
                                .arg(status)
                                .arg(url, errorMessageOf(body))};
    if (status >= 300)
        return {Kind::Refused, QStringLiteral("%1 from %2: %3").arg(status).arg(url, errorMessageOf(body))};
    switch (reply->error()) {
    case QNetworkReply::NoError:
        if (status == 0)
            return {Kind::UnexpectedDocument, QStringLiteral("%1: no HTTP status").arg(url)};
        return {};
    case QNetworkReply::OperationCanceledError: // the transfer timeout aborts this way too
    case QNetworkReply::TimeoutError:
        return {Kind::Timeout, QStringLiteral("%1: no answer in time").arg(url)};
    case QNetworkReply::SslHandshakeFailedError:
        return {Kind::Tls, QStringLiteral("%1: TLS handshake failed (%2)").arg(url, reply->errorString())};
    case QNetworkReply::ProtocolFailure:
    case QNetworkReply::ProtocolUnknownError:
    case QNetworkReply::ProtocolInvalidOperationError:
        return {Kind::UnexpectedDocument,
                QStringLiteral("%1: not an HTTP admin API (%2)").arg(url, reply->errorString())};
    default:
        if (status == 0)
            return {Kind::Unreachable, QStringLiteral("%1: %2").arg(url, reply->errorString())};
        return {Kind::Refused, QStringLiteral("%1 from %2: %3").arg(status).arg(url, reply->errorString())};
    }
}
