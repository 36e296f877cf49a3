// A raw bidirectional byte relay between two connected TCP sockets, after an HTTP protocol switch (101).
#pragma once

#include "streamsocket.h"

#include <QByteArray>
#include <QObject>

#include <memory>

// Relays client <-> upstream without interpreting the bytes (WebSocket frames, for the proxy). Back-pressure:
// a side is read only while the other side's unsent output is under `outputCap` (a QtStreamSocket's own read
// buffer is bounded too), so a slow reader stops the writer through TCP instead of growing memory (at most
// about outputCap + a read buffer + one read chunk per direction). When either side ends its stream, what it
// sent is passed on, both are closed after their output is flushed, and finished() follows once both are
// closed. Nothing moving either way for `idleTimeoutMs` closes both. Lives in its sockets' thread; the
// owner calls checkTimeouts() from its timer.
class SocketTunnel : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        qint64 outputCap = 256 * 1024;
        int idleTimeoutMs = 60000;
    };

    struct Totals
    {
        qint64 clientToUpstream = 0;
        qint64 upstreamToClient = 0;
        qint64 durationMs = 0;
        bool idleTimedOut = false;
    };

    // Takes `upstream`; `client` stays its owner's (and must outlive the tunnel) but is the tunnel's to use
    // until finished(). `fromClient`/`fromUpstream`: bytes already read from each side, sent on first.
    SocketTunnel(StreamSocket *client, const QByteArray &fromClient, std::unique_ptr<StreamSocket> upstream,
                 const QByteArray &fromUpstream, const Settings &settings, QObject *parent = nullptr);
    ~SocketTunnel() override;

    void start();
    void checkTimeouts(qint64 nowMs);
    // Drops both sides at once; finished() follows (once).
    void abort();
    bool isFinished() const { return m_finished; }
    const Totals &totals() const { return m_totals; }

signals:
    void finished();

private:
    struct Side : StreamSocket::Handler
    {
        virtual ~Side() = default;
        void socketReadable() override { tunnel->relayAll(); }
        void socketWritten() override;
        void socketClosed() override { tunnel->onEnded(*this); }

        SocketTunnel *tunnel = nullptr;
        Side *other = nullptr;
        StreamSocket *socket = nullptr;
        QByteArray pending; // read before the tunnel began: sent to the other side first
        qint64 *counter = nullptr;
        bool ended = false; // nothing more comes from this side: its stream ended, or it went away
    };

    void relay(Side &from, Side &to);
    void relayAll();
    void onEnded(Side &side);
    void maybeFinish();
    void dropBoth();
    void finish(bool idle);

    std::unique_ptr<StreamSocket> m_upstreamSocket;
    Side m_client;
    Side m_upstream;
    Settings m_settings;
    Totals m_totals;
    QByteArray m_chunk;
    qint64 m_startedMs = 0;
    qint64 m_lastActivityMs = 0;
    bool m_relaying = false;
    bool m_finished = false;
};
