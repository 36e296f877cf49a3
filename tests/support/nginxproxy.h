// A real nginx (Debian's nginx-light) as an HTTP/1.1-only reverse proxy in front of a loopback port.
#pragma once

#include "testsupport.h"

#include <QByteArray>
#include <QString>
#include <QTemporaryDir>

// What many sites put in front of etcd: a plain HTTP/1.1 proxy. It forwards the JSON gateway's requests
// and streams (no buffering, so a watch flows) and cannot carry gRPC, which needs HTTP/2 end to end.
class NginxProxy
{
public:
    NginxProxy() = default;
    NginxProxy(const NginxProxy &) = delete;
    NginxProxy &operator=(const NginxProxy &) = delete;

    // Listens on a free port and forwards everything to 127.0.0.1:targetPort; waits until it accepts.
    bool start(quint16 targetPort);
    void stop() { m_process.stop(); }

    QString endpoint() const; // http://127.0.0.1:<port>
    QString lastError() const { return m_lastError; }
    // The access log so far: one line per request, the request line quoted.
    QByteArray accessLog() const;

private:
    TestSupport::ManagedProcess m_process;
    QTemporaryDir m_dir;
    quint16 m_port = 0;
    QString m_lastError;
};
