#include "sockettunnel.h"

#include "httpclock.h"

#include <QTcpSocket>

namespace {

constexpr qsizetype Chunk = 16 * 1024;

} // namespace

SocketTunnel::SocketTunnel(QTcpSocket *client, const QByteArray &fromClient, QTcpSocket *upstream,
                           const QByteArray &fromUpstream, const Settings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
{
    m_client.socket = client;
    m_client.pending = fromClient;
    m_client.counter = &m_totals.clientToUpstream;
    m_upstream.socket = upstream;
    m_upstream.pending = fromUpstream;
    m_upstream.counter = &m_totals.upstreamToClient;
    upstream->setParent(this);
    m_chunk.resize(Chunk);
    // Counted from here: the owner's timer may look at the tunnel before start() runs.
    m_startedMs = m_lastActivityMs = HttpClock::nowMs();
}

SocketTunnel::~SocketTunnel() = default;

void SocketTunnel::start()
{
    for (Side *side : {&m_client, &m_upstream}) {
        QTcpSocket *socket = side->socket;
        // The owner's read buffer bound applies: Qt stops reading the kernel when it is full.
        if (socket->readBufferSize() == 0)
            socket->setReadBufferSize(64 * 1024);
        connect(socket, &QTcpSocket::readyRead, this, &SocketTunnel::relayAll);
        connect(socket, &QTcpSocket::bytesWritten, this, [this] {
            m_lastActivityMs = HttpClock::nowMs();
            relayAll();
        });
        connect(socket, &QTcpSocket::disconnected, this, [this, side] { onClosed(*side); });
        if (socket->state() != QAbstractSocket::ConnectedState)
            side->closed = true;
    }
    relayAll();
    for (Side *side : {&m_client, &m_upstream}) {
        if (side->closed && !m_finished)
            onClosed(*side);
    }
}

void SocketTunnel::relayAll()
{
    if (m_relaying || m_finished)
        return;
    m_relaying = true;
    relay(m_client, m_upstream);
    relay(m_upstream, m_client);
    m_relaying = false;
}

// Moves what `from` has to `to`, while `to` has room for it.
void SocketTunnel::relay(Side &from, Side &to)
{
    if (to.closed)
        return; // nobody left to send it to: dropped with the tunnel
    const auto room = [&] { return m_settings.outputCap - to.socket->bytesToWrite(); };
    if (!from.pending.isEmpty()) {
        to.socket->write(from.pending);
        *from.counter += from.pending.size();
        from.pending.clear();
        m_lastActivityMs = HttpClock::nowMs();
    }
    while (room() > 0) {
        const qint64 n = from.socket->read(m_chunk.data(), qMin<qint64>(m_chunk.size(), room()));
        if (n <= 0)
            break;
        to.socket->write(m_chunk.constData(), n);
        *from.counter += n;
        m_lastActivityMs = HttpClock::nowMs();
    }
}

void SocketTunnel::onClosed(Side &side)
{
    if (m_finished)
        return;
    side.closed = true;
    Side &other = &side == &m_client ? m_upstream : m_client;
    if (!other.closed) {
        // What the closing side sent before its close is still passed on, whatever the cap.
        while (side.socket->bytesAvailable() > 0 || !side.pending.isEmpty()) {
            const qint64 before = *side.counter;
            relay(side, other);
            if (*side.counter == before) {
                const QByteArray rest = side.socket->readAll();
                other.socket->write(rest);
                *side.counter += rest.size();
            }
        }
        other.socket->disconnectFromHost(); // after its output is flushed
        if (other.socket->state() == QAbstractSocket::UnconnectedState)
            other.closed = true;
    }
    maybeFinish();
}

void SocketTunnel::maybeFinish()
{
    if (m_client.closed && m_upstream.closed)
        finish(false);
}

void SocketTunnel::checkTimeouts(qint64 nowMs)
{
    if (m_finished || nowMs - m_lastActivityMs <= m_settings.idleTimeoutMs)
        return;
    dropBoth();
    finish(true);
}

void SocketTunnel::abort()
{
    if (m_finished)
        return;
    dropBoth();
    finish(false);
}

void SocketTunnel::dropBoth()
{
    // Deaf first: abort() reports the disconnection synchronously.
    for (Side *side : {&m_client, &m_upstream})
        disconnect(side->socket, nullptr, this, nullptr);
    m_client.socket->abort();
    m_upstream.socket->abort();
}

void SocketTunnel::finish(bool idle)
{
    if (m_finished)
        return;
    m_finished = true;
    for (Side *side : {&m_client, &m_upstream})
        disconnect(side->socket, nullptr, this, nullptr);
    m_totals.durationMs = HttpClock::nowMs() - m_startedMs;
    m_totals.idleTimedOut = idle;
    emit finished();
}
