// Helpers the suites share to start real processes on free loopback ports and stop them by pid.
#pragma once

#include <QByteArray>
#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <memory>

namespace TestSupport {

// A TCP port on 127.0.0.1 that nothing listens on right now.
quint16 freePort();

// Path of a program built by this tree (holdfastd, a test helper, ...), from HOLDFAST_BUILD_DIR.
QString builtProgram(const QString &name);
QString sourceDir();

// Waits until something accepts TCP connections on 127.0.0.1:port, or the timeout ends.
bool waitForPort(quint16 port, int timeoutMs = 10000);

// A child process that is stopped (SIGTERM, then SIGKILL) by pid when the object goes away.
class ManagedProcess
{
public:
    ManagedProcess() = default;
    ~ManagedProcess();
    ManagedProcess(const ManagedProcess &) = delete;
    ManagedProcess &operator=(const ManagedProcess &) = delete;

    bool start(const QString &program, const QStringList &arguments, const QStringList &extraEnv = {});
    void stop(int graceMs = 3000); // SIGTERM, wait, SIGKILL
    void kill();                   // SIGKILL now
    qint64 pid() const;
    bool isRunning() const;
    QByteArray output() const; // stdout and stderr merged, as read so far
    QProcess *process() { return m_process.get(); }

private:
    std::unique_ptr<QProcess> m_process;
    mutable QByteArray m_output;
};

// Starts holdfast_test_upstream on a port of its choosing (--port 0), `arguments` added, and waits for its
// READY line; the port, 0 when it did not start.
quint16 startTestUpstream(ManagedProcess &process, const QStringList &arguments = {});

// Sends `request` to 127.0.0.1:port on a new connection and returns all it reads until the peer closes or
// is silent for timeoutMs; empty when nothing accepts.
QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs = 5000);

// holdfast_test_upstream's /stats on 127.0.0.1:port ({"connections", "requests", "received", "open"}),
// read on a connection of its own; empty when it does not answer.
QJsonObject upstreamStats(quint16 port);

} // namespace TestSupport
