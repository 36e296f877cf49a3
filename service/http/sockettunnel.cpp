#include "sockettunnel.h"

#include "httpclock.h"

namespace {

constexpr qsizetype Chunk = 16 * 1024;

} // namespace

SocketTunnel::SocketTunnel(StreamSocket *client, const QByteArray &fromClient,
                           std::unique_ptr<StreamSocket> upstream, const QByteArray &fromUpstream,
                           const Settings &settings, QObject *parent)
    : QObject(parent)
    , m_upstreamSocket(std::move(upstream))
    , m_settings(settings)
{
    m_client.socket = client;
    m_client.pending = fromClient;
    m_client.counter = &m_totals.clientToUpstream;
    m_upstream.socket = m_upstreamSocket.get();
    m_upstream.pending = fromUpstream;
    m_upstream.counter = &m_totals.upstreamToClient;
    for (Side *side : {&m_client, &m_upstream}) {
        side->tunnel = this;
        side->other = side == &m_client ? &m_upstream : &m_client;
    }
    m_chunk.resize(Chunk);
    // Counted from here: the owner's timer may look at the tunnel before start() runs.
    m_startedMs = m_lastActivityMs = HttpClock::nowMs();
}

SocketTunnel::~SocketTunnel()
{
    // The client socket is its owner's and may be gone already; the upstream one goes with the tunnel.
    if (m_upstreamSocket)
        m_upstreamSocket->setHandler(nullptr);
}

void SocketTunnel::start()
{
    if (m_finished)
        return;
    for (Side *side : {&m_client, &m_upstream}) {
        side->socket->setHandler(side);
        side->socket->setReading(true);
    }
    relayAll();
    for (Side *side : {&m_client, &m_upstream}) {
        if (!side->socket->isOpen() && !m_finished)
            onEnded(*side);
    }
}

void SocketTunnel::Side::socketWritten()
{
    tunnel->m_lastActivityMs = HttpClock::nowMs();
    tunnel->relayAll();
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

// Moves what `from` has to `to`, while `to` has room for it; reading `from` stops while it has none.
void SocketTunnel::relay(Side &from, Side &to)
{
    if (from.ended || m_finished)
        return;
    if (to.ended && !to.socket->isOpen())
        return; // nobody left to send it to: dropped with the tunnel
    const auto room = [&] { return m_settings.outputCap - to.socket->bytesToWrite(); };
    if (!from.pending.isEmpty()) {
        to.socket->write(from.pending);
        *from.counter += from.pending.size();
        from.pending.clear();
        m_lastActivityMs = HttpClock::nowMs();
    }
    bool atEnd = false;
    while (room() > 0) {
        const qint64 n = from.socket->read(m_chunk.data(), qMin<qint64>(m_chunk.size(), room()));
        if (n < 0)
            atEnd = true;
        if (n <= 0)
            break;
        to.socket->write(QByteArrayView(m_chunk.constData(), n));
        *from.counter += n;
        m_lastActivityMs = HttpClock::nowMs();
    }
    from.socket->setReading(!atEnd && room() > 0);
    if (atEnd)
        onEnded(from);
}

void SocketTunnel::onEnded(Side &side)
{
    if (m_finished || side.ended) {
        maybeFinish();
        return;
    }
    side.ended = true;
    Side &other = *side.other;
    side.socket->setReading(false);
    if (other.socket->isOpen()) {
        // What the ending side sent before its end is still passed on, whatever the cap.
        if (!side.pending.isEmpty()) {
            other.socket->write(side.pending);
            *side.counter += side.pending.size();
            side.pending.clear();
        }
        for (;;) {
            const qint64 n = side.socket->read(m_chunk.data(), m_chunk.size());
            if (n <= 0)
                break;
            other.socket->write(QByteArrayView(m_chunk.constData(), n));
            *side.counter += n;
        }
        // Closed once what it has queued is out; nothing more is relayed to or from it.
        other.ended = true;
        other.socket->setReading(false);
        other.socket->closeAfterFlush();
    }
    side.socket->closeAfterFlush();
    maybeFinish();
}

void SocketTunnel::maybeFinish()
{
    if (!m_client.socket->isOpen() && !m_upstream.socket->isOpen())
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
    for (Side *side : {&m_client, &m_upstream}) {
        side->socket->setHandler(nullptr);
        side->socket->abort();
    }
}

void SocketTunnel::finish(bool idle)
{
    if (m_finished)
        return;
    m_finished = true;
    for (Side *side : {&m_client, &m_upstream})
        side->socket->setHandler(nullptr);
    m_totals.durationMs = HttpClock::nowMs() - m_startedMs;
    m_totals.idleTimedOut = idle;
    emit finished();
}
