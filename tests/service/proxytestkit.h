// What the proxy suites share: a blocking HTTP client over a real socket, upstream processes, configs.
#pragma once

#include "configsnapshot.h"
#include "testsupport.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QPair>
#include <QTcpSocket>

#include <memory>

namespace ProxyTestKit {

struct Response
{
    int status = 0;
    QList<QPair<QByteArray, QByteArray>> headers;
    QList<QPair<QByteArray, QByteArray>> trailers;
    QByteArray body; // unless the client was told not to keep it
    qint64 bodyLength = 0;
    QByteArray bodySha256; // hex
    bool patternOk = true; // body matched byte(i) = i % 251
    int minorVersion = 1;

    QByteArray header(const QByteArray &name) const;
    QByteArray trailer(const QByteArray &name) const;
    QJsonObject json() const;
};

// A client in the test thread; the proxy serves from its own threads, so blocking here is fine.
class Client
{
public:
    Client();
    ~Client();
    bool connectTo(quint16 port);
    void send(const QByteArray &raw);
    // Reads one response. `headRequest`: the response has no body whatever it says.
    bool read(Response *response, int timeoutMs = 10000, bool headRequest = false, bool keepBody = true);
    // Raw bytes until `marker` was seen (for "100 Continue").
    QByteArray readUntil(const QByteArray &marker, int timeoutMs = 5000);
    // True once the server closed the connection (after reading anything pending).
    bool waitClosed(int timeoutMs = 5000);
    QTcpSocket &socket() { return m_socket; }

private:
    QTcpSocket m_socket;
    QByteArray m_pending;
};

// One-shot request on a new connection.
Response get(quint16 port, const QByteArray &path, const QByteArray &host = "test.local",
             const QByteArray &extraHeaders = {});

class UpstreamProcess
{
public:
    bool start(const QString &name, quint16 port = 0);
    void stop() { m_process.stop(); }
    void kill() { m_process.kill(); }
    quint16 port() const { return m_port; }
    QByteArray node() const { return "127.0.0.1:" + QByteArray::number(m_port); }
    // Request heads the upstream has read, not counting the /stats requests this reading makes.
    int requestsReceived();

private:
    TestSupport::ManagedProcess m_process;
    quint16 m_port = 0;
    int m_statsReadings = 0;
};

SnapshotPtr snapshot(const QByteArray &json);
QByteArray sha256Hex(const QByteArray &data);
QByteArray pattern(qint64 offset, qint64 length);
// VmHWM of this process, in kB.
qint64 peakRssKb();

} // namespace ProxyTestKit
