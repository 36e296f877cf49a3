// A raw bidirectional byte relay between two connected TCP sockets, after an HTTP protocol switch (101).
#pragma once

#include <QByteArray>
#include <QObject>

class QTcpSocket;

// Relays client <-> upstream without interpreting the bytes (WebSocket frames, for the proxy). Back-pressure:
// a side is read only while the other side's unsent output is under `outputCap`, and each socket's own read
// buffer is bounded, so a slow reader stops the writer through TCP instead of growing memory (at most about
// outputCap + the read buffer + one read chunk per direction). When either side closes, what it sent is
// passed on, the other side is closed after its output is flushed, and finished() follows once both are
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

    // Takes `upstream` (re-parented to the tunnel); `client` stays its owner's but is the tunnel's to use
    // until finished(). `fromClient`/`fromUpstream`: bytes already read from each side, sent on first.
    SocketTunnel(QTcpSocket *client, const QByteArray &fromClient, QTcpSocket *upstream,
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
    struct Side
    {
        QTcpSocket *socket = nullptr;
        QByteArray pending; // read before the tunnel began: sent to the other side first
        qint64 *counter = nullptr;
        bool closed = false; // the peer closed, or the socket went away
    };

    void relay(Side &from, Side &to);
    void relayAll();
    void onClosed(Side &side);
    void maybeFinish();
    void dropBoth();
    void finish(bool idle);

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
