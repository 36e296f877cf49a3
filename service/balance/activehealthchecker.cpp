#include "activehealthchecker.h"

#include <QSet>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#if QT_CONFIG(ssl)
#include <QSslSocket>
#endif

#include <algorithm>
#include <cmath>

namespace {

// While the interval for a node's state is 0 (probing disabled in that state, as lua-resty-healthcheck
// reads it), the checker looks again this often whether a passive report changed the state.
constexpr int IdleRecheckMs = 1000;
constexpr qsizetype MaxStatusLineBytes = 4096;

int toMs(double seconds)
{
    return int(std::clamp(std::ceil(seconds * 1000.0), 1.0, 86400000.0));
}

// "HTTP/1.1 200 OK" -> 200; 0 when the line is not a status line.
int parseStatusLine(QByteArrayView line)
{
    if (!line.startsWith("HTTP/"))
        return 0;
    const qsizetype space = line.indexOf(' ');
    if (space < 0 || line.size() < space + 4)
        return 0;
    int status = 0;
    for (qsizetype i = space + 1; i < space + 4; ++i) {
        const char c = line[i];
        if (c < '0' || c > '9')
            return 0;
        status = status * 10 + (c - '0');
    }
    if (line.size() > space + 4 && line[space + 4] != ' ' && line[space + 4] != '\r')
        return 0;
    return status;
}

} // namespace

struct ActiveHealthChecker::Target
{
    std::shared_ptr<UpstreamHealth> health;
    int node = 0;
    QTimer *timer = nullptr; // the next probe while idle, the probe's timeout while probing
    QTcpSocket *socket = nullptr;
    QByteArray response;
    bool probing = false;
};

ActiveHealthChecker::ActiveHealthChecker()
    : m_thread(std::make_unique<QThread>())
{
    m_thread->setObjectName(QStringLiteral("holdfast-health"));
    moveToThread(m_thread.get());
    m_thread->start();
}

ActiveHealthChecker::~ActiveHealthChecker()
{
    stop();
}

void ActiveHealthChecker::setTargets(HealthMapPtr targets)
{
    if (m_stopped.load() || !targets)
        return;
    QMetaObject::invokeMethod(
        this, [this, targets = std::move(targets)] { applyTargets(targets); }, Qt::QueuedConnection);
}

void ActiveHealthChecker::stop()
{
    if (m_stopped.exchange(true) || !m_thread)
        return;
    QThread *caller = QThread::currentThread();
    // Sockets and timers must be torn down in the thread that owns them; then the object comes back to
    // the caller so that it can be destroyed there.
    QMetaObject::invokeMethod(
        this,
        [this, caller] {
            dropAll();
            moveToThread(caller);
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
}

void ActiveHealthChecker::applyTargets(const HealthMapPtr &targets)
{
    if (m_stopped.load())
        return;
    QSet<const UpstreamHealth *> wanted;
    for (const std::shared_ptr<UpstreamHealth> &health : *targets) {
        if (health && health->active().enabled)
            wanted.insert(health.get());
    }

    QSet<const UpstreamHealth *> present;
    for (auto it = m_targets.begin(); it != m_targets.end();) {
        Target *target = it->get();
        if (wanted.contains(target->health.get())) {
            present.insert(target->health.get());
            ++it;
            continue;
        }
        dropSocket(target, false);
        delete target->timer;
        it = m_targets.erase(it);
    }

    for (const std::shared_ptr<UpstreamHealth> &health : *targets) {
        if (!health || !wanted.contains(health.get()) || present.contains(health.get()))
            continue;
        present.insert(health.get());
        for (int node = 0; node < health->nodeCount(); ++node) {
            auto target = std::make_unique<Target>();
            target->health = health;
            target->node = node;
            target->timer = new QTimer(this);
            target->timer->setSingleShot(true);
            Target *raw = target.get();
            connect(target->timer, &QTimer::timeout, this, [this, raw] { onTimer(raw); });
            m_targets.push_back(std::move(target));
            schedule(raw, 0);
        }
    }
}

void ActiveHealthChecker::schedule(Target *target, int delayMs)
{
    target->timer->start(delayMs);
}

void ActiveHealthChecker::onTimer(Target *target)
{
    if (target->probing) {
        finishProbe(target, UpstreamHealth::Outcome::timeout());
        return;
    }
    const ActiveHealthCheck &active = target->health->active();
    const double interval =
        target->health->isHealthy(target->node) ? active.healthyInterval : active.unhealthyInterval;
    if (interval <= 0) {
        schedule(target, IdleRecheckMs);
        return;
    }
    startProbe(target);
}

void ActiveHealthChecker::startProbe(Target *target)
{
    const ActiveHealthCheck &active = target->health->active();
    const UpstreamNode &node = target->health->node(target->node);
    const quint16 port = active.port ? active.port : node.port;
    const QString host = QString::fromLatin1(node.host);

    target->response.clear();
    target->probing = true;

    QTcpSocket *socket = nullptr;
#if QT_CONFIG(ssl)
    if (active.type == "https") {
        auto *ssl = new QSslSocket(this);
        // The model has no https_verify_certificate: a probe carries no secret and only asks "are you up".
        ssl->setPeerVerifyMode(QSslSocket::VerifyNone);
        connect(ssl, &QSslSocket::encrypted, this, [this, target] { onConnected(target); });
        socket = ssl;
    }
#endif
    if (!socket) {
        socket = new QTcpSocket(this);
        connect(socket, &QTcpSocket::connected, this, [this, target] { onConnected(target); });
    }
    target->socket = socket;
    connect(socket, &QTcpSocket::readyRead, this, [this, target] { onReadyRead(target); });
    connect(socket, &QTcpSocket::errorOccurred, this, [this, target](QAbstractSocket::SocketError) {
        // The server may close right after its answer: read what arrived before calling it a failure.
        onReadyRead(target);
        if (target->probing)
            finishProbe(target, UpstreamHealth::Outcome::tcpFailure());
    });

    target->timer->start(toMs(active.timeout));
#if QT_CONFIG(ssl)
    if (auto *ssl = qobject_cast<QSslSocket *>(socket)) {
        const QString peerName = active.host.isEmpty() ? host : QString::fromLatin1(active.host);
        ssl->connectToHostEncrypted(host, port, peerName);
        return;
    }
#endif
    socket->connectToHost(host, port);
}

void ActiveHealthChecker::onConnected(Target *target)
{
    if (!target->probing)
        return;
    const ActiveHealthCheck &active = target->health->active();
    if (active.type == "tcp") {
        finishProbe(target, UpstreamHealth::Outcome::tcpSuccess());
        return;
    }
    const UpstreamNode &node = target->health->node(target->node);
    QByteArray hostHeader = active.host;
    if (hostHeader.isEmpty()) {
        const quint16 port = active.port ? active.port : node.port;
        const quint16 defaultPort = active.type == "https" ? 443 : 80;
        hostHeader = node.host.contains(':') ? '[' + node.host + ']' : node.host;
        if (port != defaultPort)
            hostHeader += ':' + QByteArray::number(port);
    }
    const QByteArray path = active.httpPath.isEmpty() ? QByteArrayLiteral("/") : active.httpPath;
    // HTTP/1.0 with Connection: close: one request, the answer ends with the connection.
    target->socket->write("GET " + path + " HTTP/1.0\r\nHost: " + hostHeader +
                          "\r\nUser-Agent: holdfast-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n");
}

void ActiveHealthChecker::onReadyRead(Target *target)
{
    if (!target->probing || !target->socket)
        return;
    target->response += target->socket->readAll();
    const qsizetype eol = target->response.indexOf('\n');
    if (eol < 0) {
        if (target->response.size() > MaxStatusLineBytes)
            finishProbe(target, UpstreamHealth::Outcome::tcpFailure());
        return;
    }
    const int status = parseStatusLine(QByteArrayView(target->response).first(eol));
    finishProbe(target,
                status ? UpstreamHealth::Outcome::httpStatus(status) : UpstreamHealth::Outcome::tcpFailure());
}

void ActiveHealthChecker::finishProbe(Target *target, const UpstreamHealth::Outcome &outcome)
{
    dropSocket(target, false);
    target->probing = false;
    target->timer->stop();

    UpstreamHealth &health = *target->health;
    const UpstreamHealth::Transition transition = health.reportProbe(target->node, outcome);
    const bool healthy = health.isHealthy(target->node);
    qCDebug(lcHealth, "%s: probe of %s: kind %d status %d, %s", qUtf8Printable(health.key()),
            UpstreamHealth::nodeName(health.node(target->node)).constData(), int(outcome.kind),
            outcome.status, healthy ? "healthy" : "unhealthy");
    emit probeFinished(health.key(), target->node, healthy);
    if (transition != UpstreamHealth::Transition::None)
        emit nodeStateChanged(health.key(), target->node, healthy);

    const double interval = healthy ? health.active().healthyInterval : health.active().unhealthyInterval;
    schedule(target, interval > 0 ? toMs(interval) : IdleRecheckMs);
}

void ActiveHealthChecker::dropSocket(Target *target, bool now)
{
    QTcpSocket *socket = target->socket;
    if (!socket)
        return;
    target->socket = nullptr;
    disconnect(socket, nullptr, this, nullptr);
    socket->abort();
    // Usually called from one of the socket's own signals, where deleting it outright is not allowed.
    if (now)
        delete socket;
    else
        socket->deleteLater();
}

void ActiveHealthChecker::dropAll()
{
    for (const std::unique_ptr<Target> &target : m_targets) {
        dropSocket(target.get(), true);
        delete target->timer;
    }
    m_targets.clear();
}
