#include "testsupport.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QProcessEnvironment>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#ifndef Q_OS_WIN
#include <signal.h>
#endif

namespace TestSupport {

quint16 freePort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    return server.serverPort();
}

QString builtProgram(const QString &name)
{
    const QString buildDir = qEnvironmentVariable("HOLDFAST_BUILD_DIR");
    const QStringList candidates = {buildDir + QStringLiteral("/service/") + name,
                                    buildDir + QStringLiteral("/tests/support/") + name,
                                    buildDir + QStringLiteral("/console/") + name,
                                    QCoreApplication::applicationDirPath() + QLatin1Char('/') + name};
    for (const QString &candidate : candidates) {
        if (QFileInfo(candidate).isExecutable())
            return candidate;
    }
    return name;
}

QString sourceDir()
{
    return qEnvironmentVariable("HOLDFAST_SOURCE_DIR");
}

bool waitForPort(quint16 port, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (socket.waitForConnected(200))
            return true;
        QThread::msleep(20); // polling a port: there is no event to wait on from outside the process
    }
    return false;
}

ManagedProcess::~ManagedProcess()
{
    stop(1000);
}

bool ManagedProcess::start(const QString &program, const QStringList &arguments, const QStringList &extraEnv)
{
    m_process = std::make_unique<QProcess>();
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &pair : extraEnv) {
        const qsizetype eq = pair.indexOf(QLatin1Char('='));
        env.insert(pair.left(eq), pair.mid(eq + 1));
    }
    m_process->setProcessEnvironment(env);
    m_process->start(program, arguments);
    return m_process->waitForStarted(10000);
}

void ManagedProcess::stop(int graceMs)
{
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(graceMs)) {
            m_process->kill();
            m_process->waitForFinished(5000);
        }
    }
    output();
}

void ManagedProcess::kill()
{
    if (m_process && m_process->state() != QProcess::NotRunning) {
        m_process->kill();
        m_process->waitForFinished(5000);
    }
}

qint64 ManagedProcess::pid() const
{
    return m_process ? m_process->processId() : 0;
}

bool ManagedProcess::isRunning() const
{
    return m_process && m_process->state() == QProcess::Running;
}

QByteArray ManagedProcess::output() const
{
    if (m_process)
        m_output += m_process->readAll();
    return m_output;
}

quint16 startTestUpstream(ManagedProcess &process, const QStringList &arguments)
{
    if (!process.start(builtProgram(QStringLiteral("holdfast_test_upstream")),
                       QStringList{QStringLiteral("--port"), QStringLiteral("0")} + arguments))
        return 0;
    const auto readyLine = [&] {
        const QByteArray out = process.output();
        const qsizetype at = out.indexOf("READY ");
        return at >= 0 && out.indexOf('\n', at) > at ? out.mid(at + 6, out.indexOf('\n', at) - at - 6)
                                                     : QByteArray();
    };
    QDeadlineTimer deadline(10000);
    while (readyLine().isEmpty() && process.isRunning() && !deadline.hasExpired())
        process.process()->waitForReadyRead(100);
    return quint16(readyLine().trimmed().toUInt());
}

QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return {};
    socket.write(request);
    QByteArray raw;
    while (socket.waitForReadyRead(timeoutMs))
        raw += socket.readAll();
    return raw + socket.readAll();
}

QJsonObject upstreamStats(quint16 port)
{
    const QByteArray raw = exchange(port, "GET /stats HTTP/1.1\r\nHost: u\r\nConnection: close\r\n\r\n");
    return QJsonDocument::fromJson(raw.mid(raw.indexOf("\r\n\r\n") + 4)).object();
}

} // namespace TestSupport
