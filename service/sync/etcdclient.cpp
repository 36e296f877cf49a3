#include "etcdclient.h"

#include "jsonstreamsplitter.h"
#include "nullnetworkcache.h"

#include <QFile>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslCertificate>
#include <QSslKey>
#include <QtEndian>
#include <QTimer>

#include <memory>

Q_DECLARE_LOGGING_CATEGORY(lcSyncEtcd)

namespace {

const char *const TimedOutProperty = "holdfastTimedOut";
const char *const TooLargeProperty = "holdfastTooLarge";

QString messageOf(const QJsonObject &obj)
{
    // Unary errors carry "error"/"message" strings; stream errors nest an object under "error".
    const QJsonValue error = obj.value(QLatin1String("error"));
    if (error.isObject()) {
        const QJsonObject nested = error.toObject();
        return nested.value(QLatin1String("message")).toString();
    }
    const QString message = obj.value(QLatin1String("message")).toString();
    return message.isEmpty() ? error.toString() : message;
}

QByteArray readRemaining(QNetworkReply *reply)
{
    // An aborted reply (timeout) is closed; reading it would only warn.
    return reply->isOpen() ? reply->readAll() : QByteArray();
}

int codeOf(const QJsonObject &obj)
{
    const QJsonValue error = obj.value(QLatin1String("error"));
    if (error.isObject())
        return error.toObject().value(QLatin1String("grpc_code")).toInt(-1);
    return obj.value(QLatin1String("code")).toInt(-1);
}

} // namespace

bool EtcdClient::Response::authRejected() const
{
    // Unauthenticated, or a token issued before the auth store changed.
    return !ok && !transport &&
           (code == 16 || error.contains(QLatin1String("invalid auth token")) ||
            error.contains(QLatin1String("revision of auth store is old")));
}

EtcdClient::EtcdClient(const EtcdSettings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
{
    m_nam.setCache(new NullNetworkCache(&m_nam));
    loadTls();
}

EtcdClient::~EtcdClient()
{
    abortAll();
}

QString EtcdClient::checkTls(const EtcdSettings &settings)
{
    QSslConfiguration ssl;
    return readTls(settings, &ssl);
}

QString EtcdClient::readTls(const EtcdSettings &settings, QSslConfiguration *ssl)
{
    *ssl = QSslConfiguration::defaultConfiguration();
    QStringList problems;
    if (!settings.caFile.isEmpty()) {
        const QList<QSslCertificate> cas = QSslCertificate::fromPath(settings.caFile, QSsl::Pem);
        if (cas.isEmpty()) {
            problems.append(
                QStringLiteral("tls ca %1: no PEM certificate could be read").arg(settings.caFile));
            // Trust nothing rather than fall back to the system's CAs the operator meant to replace.
            ssl->setCaCertificates({});
        } else {
            ssl->setCaCertificates(cas);
        }
    }
    if (!settings.certFile.isEmpty() || !settings.keyFile.isEmpty()) {
        const QList<QSslCertificate> certs = QSslCertificate::fromPath(settings.certFile, QSsl::Pem);
        if (certs.isEmpty())
            problems.append(
                QStringLiteral("tls cert %1: no PEM certificate could be read").arg(settings.certFile));
        else
            ssl->setLocalCertificate(certs.first());
        QFile keyFile(settings.keyFile);
        if (!keyFile.open(QIODevice::ReadOnly)) {
            problems.append(QStringLiteral("tls key %1: %2").arg(settings.keyFile, keyFile.errorString()));
        } else {
            const QByteArray pem = keyFile.readAll();
            QSslKey key;
            for (QSsl::KeyAlgorithm algorithm : {QSsl::Rsa, QSsl::Ec, QSsl::Dsa}) {
                key = QSslKey(pem, algorithm, QSsl::Pem, QSsl::PrivateKey);
                if (!key.isNull())
                    break;
            }
            if (key.isNull())
                problems.append(
                    QStringLiteral("tls key %1: not a PEM RSA, EC or DSA private key").arg(settings.keyFile));
            else
                ssl->setPrivateKey(key);
        }
    }
    return problems.join(QLatin1String("; "));
}

void EtcdClient::loadTls()
{
    m_tlsError = readTls(m_settings, &m_ssl);
    if (!m_tlsError.isEmpty())
        qCWarning(lcSyncEtcd).noquote() << m_tlsError;
    // The password (or the token it buys) would cross the network in the clear.
    if (!m_settings.username.isEmpty()) {
        for (const QString &endpoint : std::as_const(m_settings.endpoints)) {
            if (endpoint.startsWith(QLatin1String("http://"), Qt::CaseInsensitive))
                qCWarning(lcSyncEtcd).noquote()
                    << "the etcd credentials of user" << m_settings.username << "go to" << endpoint
                    << "over plain http: use an https:// endpoint";
        }
    }
}

void EtcdClient::setEndpoint(const QString &endpoint)
{
    if (endpoint == m_endpoint)
        return;
    m_endpoint = endpoint;
    m_token.clear();
    m_nam.clearConnectionCache();
}

void EtcdClient::call(const QByteArray &path, const QJsonObject &body, Handler done)
{
    authorized(
        [this, path, body](Handler answered) {
            QNetworkReply *reply = post(path, body, true);
            connect(reply, &QNetworkReply::finished, this, [this, reply, answered] {
                const Response response = responseOf(reply, readRemaining(reply));
                forget(reply);
                answered(response);
            });
        },
        std::move(done), true);
}

void EtcdClient::authorized(Attempt attempt, Handler done, bool mayReauthenticate)
{
    if (needsToken()) {
        authenticate([this, attempt, done](const Response &auth) {
            if (!auth.ok)
                done(auth);
            else
                authorized(attempt, done, false);
        });
        return;
    }
    attempt([this, attempt, done, mayReauthenticate](const Response &response) {
        if (response.authRejected() && !m_settings.username.isEmpty() && mayReauthenticate) {
            qCInfo(lcSyncEtcd).noquote() << m_endpoint << "rejected the auth token; authenticating again";
            m_token.clear();
            authorized(attempt, done, false);
            return;
        }
        done(response);
    });
}

void EtcdClient::authenticate(Handler done)
{
    const QJsonObject body{{QStringLiteral("name"), m_settings.username},
                           {QStringLiteral("password"), m_settings.password}};
    QNetworkReply *reply = post(QByteArrayLiteral("/v3/auth/authenticate"), body, false);
    connect(reply, &QNetworkReply::finished, this, [this, reply, done] {
        Response response = responseOf(reply, readRemaining(reply));
        forget(reply);
        if (response.ok) {
            m_token = response.body.value(QLatin1String("token")).toString().toUtf8();
            if (m_token.isEmpty()) {
                // Auth is not enabled on this cluster: etcd accepts the call and returns no token.
                qCDebug(lcSyncEtcd).noquote() << m_endpoint << "has auth disabled; sending no token";
            } else {
                qCInfo(lcSyncEtcd).noquote()
                    << "authenticated to" << m_endpoint << "as" << m_settings.username;
            }
        } else {
            response.error =
                QStringLiteral("authentication as %1 failed: %2").arg(m_settings.username, response.error);
        }
        done(response);
    });
}

void EtcdClient::watch(const QJsonObject &createRequest, MessageHandler onMessage, Handler onEnd)
{
    startWatch(createRequest, std::move(onMessage), std::move(onEnd), true);
}

void EtcdClient::startWatch(const QJsonObject &createRequest, MessageHandler onMessage, Handler onEnd,
                            bool mayReauthenticate)
{
    if (needsToken()) {
        authenticate([=](const Response &auth) {
            if (!auth.ok)
                onEnd(auth);
            else
                startWatch(createRequest, onMessage, onEnd, false);
        });
        return;
    }
    QNetworkReply *reply =
        post(QByteArrayLiteral("/v3/watch"), {{QStringLiteral("create_request"), createRequest}}, true);
    auto splitter = std::make_shared<JsonStreamSplitter>();
    connect(reply, &QNetworkReply::readyRead, this, [=] {
        splitter->append(reply->readAll());
        const QList<QByteArray> objects = splitter->takeObjects();
        bool tooLarge = splitter->pendingBytes() > m_settings.maxResponseBytes;
        for (const QByteArray &bytes : objects)
            tooLarge = tooLarge || bytes.size() > m_settings.maxResponseBytes;
        if (tooLarge) {
            // One message larger than any answer may be: end the stream, the source reconnects.
            forget(reply);
            reply->disconnect(this);
            reply->abort();
            Response refused;
            refused.transport = true;
            refused.error =
                QStringLiteral("a watch message exceeds %1 bytes (control_plane.max_response_bytes)")
                    .arg(m_settings.maxResponseBytes);
            onEnd(refused);
            return;
        }
        for (const QByteArray &bytes : objects) {
            QJsonParseError parseError;
            const QJsonObject message = QJsonDocument::fromJson(bytes, &parseError).object();
            if (parseError.error != QJsonParseError::NoError) {
                qCWarning(lcSyncEtcd).noquote()
                    << m_endpoint << "sent invalid JSON on the watch stream:" << parseError.errorString();
                continue;
            }
            const QJsonObject result = message.value(QLatin1String("result")).toObject();
            const QString cancelReason = result.value(QLatin1String("cancel_reason")).toString();
            if (mayReauthenticate && result.value(QLatin1String("canceled")).toBool() &&
                cancelReason.contains(QLatin1String("invalid auth token")) &&
                !m_settings.username.isEmpty()) {
                qCInfo(lcSyncEtcd).noquote()
                    << m_endpoint << "rejected the auth token on the watch; authenticating again";
                m_token.clear();
                forget(reply);
                reply->disconnect(this);
                reply->abort();
                startWatch(createRequest, onMessage, onEnd, false);
                return;
            }
            onMessage(message);
            // The handler may have torn the stream down (resync, failover): stop reading it then.
            if (!m_inFlight.contains(reply))
                return;
        }
    });
    connect(reply, &QNetworkReply::finished, this, [=] {
        if (!m_inFlight.contains(reply))
            return;
        Response response = responseOf(reply, readRemaining(reply));
        forget(reply);
        if (response.ok) {
            response.ok = false;
            response.transport = true;
            response.error = QStringLiteral("the watch stream was closed by the server");
        }
        onEnd(response);
    });
}

QNetworkReply *EtcdClient::post(const QByteArray &path, const QJsonObject &body, bool withToken)
{
    QNetworkRequest request(QUrl(m_endpoint + QString::fromLatin1(path)));
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    // One long-lived stream plus short requests: plain HTTP/1.1 connections keep a hung watch from
    // holding the probes hostage on a shared HTTP/2 connection.
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (withToken && !m_token.isEmpty())
        request.setRawHeader(QByteArrayLiteral("Authorization"), m_token);
    if (request.url().scheme() == QLatin1String("https"))
        request.setSslConfiguration(m_ssl);
    QNetworkReply *reply = m_nam.post(request, QJsonDocument(body).toJson(QJsonDocument::Compact));
    m_inFlight.insert(reply);
    if (path != "/v3/watch")
        limitUnary(reply);
    return reply;
}

void EtcdClient::limitUnary(QNetworkReply *reply)
{
    // A unary answer is held whole before it is parsed: a cluster (or anything posing as one) must
    // not make it grow without bound.
    const qint64 cap = m_settings.maxResponseBytes;
    connect(reply, &QNetworkReply::downloadProgress, reply, [reply, cap](qint64 received, qint64) {
        if (received > cap && !reply->property(TooLargeProperty).toBool()) {
            reply->setProperty(TooLargeProperty, true);
            reply->abort();
        }
    });
    auto *timer = new QTimer(reply);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, reply, [reply] {
        reply->setProperty(TimedOutProperty, true);
        reply->abort();
    });
    timer->start(m_settings.requestTimeoutMs);
}

void EtcdClient::grpcRange(const EtcdRangeRequest &request, RangeHandler done)
{
    // The page of the last attempt: an attempt refused for its token, or an authentication that
    // failed, leaves it empty.
    auto page = std::make_shared<EtcdRangePage>();
    authorized(
        [this, request, page](Handler answered) {
            QNetworkReply *reply = postGrpcRange(request);
            connect(reply, &QNetworkReply::finished, this, [this, reply, page, answered] {
                const Response response = grpcRangeResponseOf(reply, readRemaining(reply), page.get());
                forget(reply);
                answered(response);
            });
        },
        [page, done](const Response &response) { done(response, *page); }, true);
}

QNetworkReply *EtcdClient::postGrpcRange(const EtcdRangeRequest &request)
{
    QNetworkRequest http(QUrl(m_endpoint + QLatin1String("/etcdserverpb.KV/Range")));
    http.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/grpc"));
    // gRPC's status comes in trailers; servers (and proxies) drop them unless the client says it reads them.
    http.setRawHeader(QByteArrayLiteral("te"), QByteArrayLiteral("trailers"));
    // Cleartext HTTP/2 with prior knowledge; over TLS etcd (Go's server) speaks HTTP/2 only when ALPN
    // negotiated it, which Qt does for an allowed, not a direct, HTTP/2 request.
    http.setAttribute(QNetworkRequest::Http2AllowedAttribute, true);
    if (http.url().scheme() == QLatin1String("https"))
        http.setSslConfiguration(m_ssl);
    else
        http.setAttribute(QNetworkRequest::Http2DirectAttribute, true);
    if (!m_token.isEmpty())
        http.setRawHeader(QByteArrayLiteral("token"), m_token); // etcd's gRPC auth metadata
    // A gRPC message: a compressed flag (0: not compressed), its length (32-bit big-endian), the message.
    const QByteArray message = EtcdRangeCodec::encodeRequest(request);
    QByteArray frame(5, '\0');
    qToBigEndian(quint32(message.size()), frame.data() + 1);
    frame.append(message);
    QNetworkReply *reply = m_nam.post(http, frame);
    m_inFlight.insert(reply);
    limitUnary(reply);
    return reply;
}

EtcdClient::Response EtcdClient::grpcRangeResponseOf(QNetworkReply *reply, const QByteArray &data,
                                                     EtcdRangePage *page) const
{
    Response response;
    response.transport = true;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    // Qt hands the trailers of an HTTP/2 answer over as headers once the reply has finished (a
    // "trailers-only" error answer has them in its only HEADERS frame).
    const QByteArray grpcStatus = reply->rawHeader(QByteArrayLiteral("grpc-status")).trimmed();
    if (reply->property(TooLargeProperty).toBool()) {
        response.error = QStringLiteral("the answer exceeds %1 bytes (control_plane.max_response_bytes)")
                             .arg(m_settings.maxResponseBytes);
        return response;
    }
    if (reply->property(TimedOutProperty).toBool()) {
        response.error = QStringLiteral("gRPC: no answer within %1 ms").arg(m_settings.requestTimeoutMs);
        // Qt 6.4's HTTP/2 client, its connection preface answered by an HTTP/1.1 server with "400 Bad
        // Request" and a close, sometimes reports nothing at all: a timeout is all there is to see.
        response.notGrpc = true;
        return response;
    }
    if (reply->error() != QNetworkReply::NoError && grpcStatus.isEmpty()) {
        response.error = QStringLiteral("gRPC: %1").arg(reply->errorString());
        // Nothing listening, or no such host, says nothing about gRPC; anything else (a protocol error,
        // a closed connection, an HTTP error status) may be an HTTP/1.1 server answering HTTP/2.
        switch (reply->error()) {
        case QNetworkReply::ConnectionRefusedError:
        case QNetworkReply::HostNotFoundError:
        case QNetworkReply::OperationCanceledError:
        case QNetworkReply::TimeoutError:
            break;
        default:
            response.notGrpc = true;
        }
        return response;
    }
    if (!reply->attribute(QNetworkRequest::Http2WasUsedAttribute).toBool()) {
        response.error = QStringLiteral("gRPC: the server did not speak HTTP/2 (HTTP status %1)").arg(status);
        response.notGrpc = true;
        return response;
    }
    if (grpcStatus.isEmpty()) {
        response.error = QStringLiteral("gRPC: no grpc-status in the answer (HTTP status %1)").arg(status);
        response.notGrpc = true;
        return response;
    }
    bool numeric = false;
    const int code = grpcStatus.toInt(&numeric);
    if (!numeric) {
        response.error = QStringLiteral("gRPC: grpc-status \"%1\" is not a number")
                             .arg(QString::fromLatin1(grpcStatus.left(40)));
        return response;
    }
    if (code != 0) {
        // An answer from etcd itself (or from a gRPC proxy): the message is percent-encoded UTF-8.
        response.transport = false;
        response.code = code;
        response.error = QString::fromUtf8(
            QByteArray::fromPercentEncoding(reply->rawHeader(QByteArrayLiteral("grpc-message"))));
        if (response.error.isEmpty())
            response.error = QStringLiteral("gRPC status %1").arg(code);
        // UNIMPLEMENTED: something that speaks gRPC but has no etcd KV service behind it.
        response.notGrpc = code == 12;
        return response;
    }
    // A unary answer is exactly one message.
    if (data.size() < 5) {
        response.error = QStringLiteral("gRPC: the answer holds %1 bytes, not a message").arg(data.size());
        return response;
    }
    if (data.at(0) != 0) {
        response.error = QStringLiteral("gRPC: the answer is compressed, which was not asked for");
        return response;
    }
    const quint32 length = qFromBigEndian<quint32>(data.constData() + 1);
    if (qint64(length) != qint64(data.size()) - 5) {
        response.error =
            QStringLiteral("gRPC: a message of %1 bytes in an answer of %2").arg(length).arg(data.size() - 5);
        return response;
    }
    QString error;
    if (!EtcdRangeCodec::decodeResponse(QByteArrayView(data).sliced(5), page, &error)) {
        response.error = QStringLiteral("gRPC: %1").arg(error);
        return response;
    }
    response.transport = false;
    response.ok = true;
    return response;
}

EtcdClient::Response EtcdClient::responseOf(QNetworkReply *reply, const QByteArray &data) const
{
    Response response;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    // A unary answer is one JSON object; what else may come (a stray second object, a truncated tail)
    // is cut off by the splitter, which is only asked when the whole does not parse: it copies the
    // text, a range page of megabytes included.
    QJsonParseError parseError{};
    const QJsonDocument whole = QJsonDocument::fromJson(data, &parseError);
    bool found = parseError.error == QJsonParseError::NoError && whole.isObject();
    QJsonObject obj = whole.object();
    if (!found) {
        JsonStreamSplitter splitter;
        splitter.append(data);
        const QList<QByteArray> objects = splitter.takeObjects();
        found = !objects.isEmpty();
        parseError = {};
        obj = found ? QJsonDocument::fromJson(objects.first(), &parseError).object() : QJsonObject();
    }
    if (obj.contains(QLatin1String("error")) || (status >= 300 && obj.contains(QLatin1String("code")))) {
        response.error = messageOf(obj);
        response.code = codeOf(obj);
        if (response.error.isEmpty())
            response.error = QStringLiteral("HTTP status %1").arg(status);
    } else if (reply->property(TooLargeProperty).toBool()) {
        response.transport = true;
        response.error = QStringLiteral("the answer exceeds %1 bytes (control_plane.max_response_bytes)")
                             .arg(m_settings.maxResponseBytes);
    } else if (reply->property(TimedOutProperty).toBool()) {
        response.transport = true;
        response.error = QStringLiteral("no answer within %1 ms").arg(m_settings.requestTimeoutMs);
    } else if (reply->error() != QNetworkReply::NoError) {
        response.transport = true;
        response.error = reply->errorString();
    } else if (status != 200) {
        response.transport = true;
        response.error = QStringLiteral("unexpected HTTP status %1").arg(status);
    } else if (!found || parseError.error != QJsonParseError::NoError) {
        response.transport = true;
        response.error = QStringLiteral("the answer is not a JSON object");
    } else {
        response.ok = true;
        response.body = obj;
    }
    return response;
}

void EtcdClient::forget(QNetworkReply *reply)
{
    m_inFlight.remove(reply);
    reply->deleteLater();
}

void EtcdClient::abortAll()
{
    const QSet<QNetworkReply *> replies = std::exchange(m_inFlight, {});
    for (QNetworkReply *reply : replies) {
        reply->disconnect(this);
        reply->abort();
        reply->deleteLater();
    }
}
