// sync_probe: the measuring half of bench/sync_bench.sh (loads etcd, times propagation and start-ups).
//
//   sync_probe load ETCD_PORT < lines                 "key<TAB>value" lines (genconfig --etcd-lines) put
//                                                     in transactions of 100; prints the last revision
//   sync_probe propagation ETCD_PORT PROXY_PORT DATA_DIR COUNT UPSTREAM_ID
//                                                     COUNT puts of a new route, one at a time: put → the
//                                                     proxy serves it, put → config.json has its revision
//   sync_probe batch ETCD_PORT PROXY_PORT COUNT UPSTREAM_ID
//                                                     COUNT new routes put in ONE transaction (etcd needs
//                                                     --max-txn-ops >= COUNT): put → the last one
//                                                     served, then every one checked
//   sync_probe serve PROXY_PORT PATH -- PROGRAM ARGS...
//                                                     starts PROGRAM; ms until PATH answers 200; VmHWM
//   sync_probe sync ADMIN_PORT DATA_DIR REVISION -- PROGRAM ARGS...
//                                                     starts PROGRAM; ms until /v1/status says in_sync at
//                                                     REVISION, until config.json has it; VmHWM;
//                                                     the CPU PROGRAM used until in_sync
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpSocket>
#include <QThread>

#include <algorithm>
#include <cstdio>
#include <vector>

#ifndef Q_OS_WIN
#include <unistd.h>
#endif

namespace {

struct Answer
{
    int status = 0;
    QByteArray body;
};

// One HTTP/1.0-style exchange on its own connection: the peer closes, so the answer is all it sent.
Answer exchange(quint16 port, const QByteArray &request, int timeoutMs = 5000)
{
    Answer a;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return a;
    socket.write(request);
    QByteArray in;
    QDeadlineTimer deadline(timeoutMs);
    while (socket.state() == QAbstractSocket::ConnectedState && !deadline.hasExpired()) {
        if (socket.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime()))))
            in += socket.readAll();
    }
    in += socket.readAll();
    const qsizetype end = in.indexOf("\r\n\r\n");
    if (end < 0 || in.size() < 12)
        return a;
    a.status = in.mid(9, 3).toInt();
    a.body = in.mid(end + 4);
    return a;
}

Answer get(quint16 port, const QByteArray &path, const QByteArray &token = {})
{
    QByteArray request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    if (!token.isEmpty())
        request += "Authorization: Bearer " + token + "\r\n";
    return exchange(port, request + "\r\n");
}

QJsonObject etcdCall(quint16 port, const QByteArray &path, const QJsonObject &body)
{
    const QByteArray payload = QJsonDocument(body).toJson(QJsonDocument::Compact);
    const Answer a =
        exchange(port, "POST " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: " +
                           "application/json\r\nContent-Length: " + QByteArray::number(payload.size()) +
                           "\r\n\r\n" + payload);
    return QJsonDocument::fromJson(a.body).object();
}

qint64 headerRevision(const QJsonObject &answer)
{
    return answer.value(QLatin1String("header"))
        .toObject()
        .value(QLatin1String("revision"))
        .toString()
        .toLongLong();
}

QString b64(const QByteArray &bytes)
{
    return QString::fromLatin1(bytes.toBase64());
}

qint64 put(quint16 port, const QByteArray &key, const QByteArray &value)
{
    return headerRevision(etcdCall(
        port, "/v3/kv/put", {{QStringLiteral("key"), b64(key)}, {QStringLiteral("value"), b64(value)}}));
}

// The revision config.json records, from its first bytes (the envelope puts it second); -1 when none.
qint64 persistedRevision(const QString &dataDir)
{
    QFile file(dataDir + QStringLiteral("/config.json"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray head = file.read(256);
    const qsizetype at = head.indexOf("\"revision\":");
    if (at < 0)
        return -1;
    qsizetype i = at + 11;
    while (i < head.size() && head.at(i) == ' ')
        ++i;
    qsizetype j = i;
    while (j < head.size() && head.at(j) >= '0' && head.at(j) <= '9')
        ++j;
    return head.mid(i, j - i).toLongLong();
}

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const size_t index = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size()) + 0.5) - 1);
    return values.at(std::max<size_t>(0, index));
}

void pause()
{
    QThread::usleep(200); // polling another process: nothing here can be signalled
}

long vmHwmKb(qint64 pid)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toLong();
    }
    return -1;
}

// User + system CPU of a process so far, in ms (-1 when /proc cannot say).
double cpuMs(qint64 pid)
{
#ifdef Q_OS_WIN
    Q_UNUSED(pid);
    return -1;
#else
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray text = stat.readAll();
    // The fields after the command name (which may hold spaces), from field 3 (state) on.
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    const double ticks = fields.at(11).toDouble() + fields.at(12).toDouble();
    return ticks * 1000.0 / double(sysconf(_SC_CLK_TCK));
#endif
}

int load(quint16 etcdPort)
{
    QFile in;
    if (!in.open(stdin, QIODevice::ReadOnly))
        return 1;
    QJsonArray ops;
    qint64 revision = 0;
    int count = 0;
    const auto flush = [&] {
        if (ops.isEmpty())
            return true;
        const QJsonObject answer = etcdCall(etcdPort, "/v3/kv/txn", {{QStringLiteral("success"), ops}});
        ops = QJsonArray();
        revision = headerRevision(answer);
        return revision > 0;
    };
    while (!in.atEnd()) {
        const QByteArray line = in.readLine().trimmed();
        const qsizetype tab = line.indexOf('\t');
        if (tab <= 0)
            continue;
        ops.append(QJsonObject{
            {QStringLiteral("request_put"), QJsonObject{{QStringLiteral("key"), b64(line.left(tab))},
                                                        {QStringLiteral("value"), b64(line.mid(tab + 1))}}}});
        ++count;
        if (ops.size() == 100 && !flush()) {
            std::fprintf(stderr, "sync_probe load: a transaction failed\n");
            return 1;
        }
    }
    if (!flush()) {
        std::fprintf(stderr, "sync_probe load: a transaction failed\n");
        return 1;
    }
    std::fprintf(stderr, "loaded %d keys\n", count);
    std::printf("%lld\n", static_cast<long long>(revision));
    return 0;
}

int propagation(quint16 etcdPort, quint16 proxyPort, const QString &dataDir, int count,
                const QByteArray &upstream)
{
    std::vector<double> served;
    std::vector<double> persisted;
    const qint64 stamp = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < count; ++i) {
        const QByteArray path = "/bench/" + QByteArray::number(stamp) + "/" + QByteArray::number(i);
        const QByteArray value = "{\"uri\":\"" + path + "\",\"upstream_id\":\"" + upstream + "\"}";
        QElapsedTimer clock;
        clock.start();
        const qint64 revision = put(etcdPort, "/apisix/routes/bench-" + QByteArray::number(i), value);
        if (revision <= 0) {
            std::fprintf(stderr, "sync_probe: put %d failed\n", i);
            return 1;
        }
        // SYNC_PROBE_TIMEOUT_MS: a large configuration on a busy machine may need longer.
        const int timeoutMs = qEnvironmentVariableIntValue("SYNC_PROBE_TIMEOUT_MS") > 0
                                  ? qEnvironmentVariableIntValue("SYNC_PROBE_TIMEOUT_MS")
                                  : 10000;
        const QDeadlineTimer deadline(timeoutMs);
        double servedMs = -1;
        double persistedMs = -1;
        while ((servedMs < 0 || persistedMs < 0) && !deadline.hasExpired()) {
            if (servedMs < 0 && get(proxyPort, path).status == 200)
                servedMs = double(clock.nsecsElapsed()) / 1e6;
            if (persistedMs < 0 && persistedRevision(dataDir) >= revision)
                persistedMs = double(clock.nsecsElapsed()) / 1e6;
            if (servedMs < 0 || persistedMs < 0)
                pause();
        }
        if (servedMs < 0 || persistedMs < 0) {
            std::fprintf(stderr, "sync_probe: change %d (revision %lld) not %s within %d ms\n", i,
                         static_cast<long long>(revision), servedMs < 0 ? "served" : "persisted", timeoutMs);
            return 1;
        }
        served.push_back(servedMs);
        persisted.push_back(persistedMs);
    }
    std::printf("put -> served    over %d changes: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
                count, percentile(served, 50), percentile(served, 90), percentile(served, 99),
                percentile(served, 100));
    std::printf("put -> persisted over %d changes: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
                count, percentile(persisted, 50), percentile(persisted, 90), percentile(persisted, 99),
                percentile(persisted, 100));
    return 0;
}

int batch(quint16 etcdPort, quint16 proxyPort, int count, const QByteArray &upstream)
{
    const QByteArray stamp = QByteArray::number(QDateTime::currentMSecsSinceEpoch());
    QJsonArray ops;
    std::vector<QByteArray> paths;
    for (int i = 0; i < count; ++i) {
        paths.push_back("/batch/" + stamp + "/" + QByteArray::number(i));
        const QByteArray value = "{\"uri\":\"" + paths.back() + "\",\"upstream_id\":\"" + upstream + "\"}";
        ops.append(QJsonObject{{QStringLiteral("request_put"),
                                QJsonObject{{QStringLiteral("key"), b64("/apisix/routes/batch-" + stamp +
                                                                        "-" + QByteArray::number(i))},
                                            {QStringLiteral("value"), b64(value)}}}});
    }
    QElapsedTimer clock;
    clock.start();
    const qint64 revision =
        headerRevision(etcdCall(etcdPort, "/v3/kv/txn", {{QStringLiteral("success"), ops}}));
    if (revision <= 0) {
        std::fprintf(stderr, "sync_probe: the transaction of %d puts failed (etcd --max-txn-ops?)\n", count);
        return 1;
    }
    // Timed until the last route of the batch answers; then every other one must answer at once (the
    // batch was applied as one generation) or as soon as it can (counted as late).
    const QDeadlineTimer deadline(60000);
    while (get(proxyPort, paths.back()).status != 200) {
        if (deadline.hasExpired()) {
            std::fprintf(stderr, "sync_probe: %s (of the batch) not served within 60 s\n",
                         paths.back().constData());
            return 1;
        }
        pause();
    }
    const double servedMs = double(clock.nsecsElapsed()) / 1e6;
    int late = 0;
    for (const QByteArray &path : paths) {
        if (get(proxyPort, path).status == 200)
            continue;
        ++late;
        while (get(proxyPort, path).status != 200) {
            if (deadline.hasExpired()) {
                std::fprintf(stderr, "sync_probe: %s (of the batch) not served within 60 s\n",
                             path.constData());
                return 1;
            }
            pause();
        }
    }
    std::printf(
        "batch of %d route puts in one transaction (revision %lld) -> served: %.1f ms (%d served later)\n",
        count, static_cast<long long>(revision), servedMs, late);
    return 0;
}

// Starts the program after "--"; the caller polls, then it is stopped with SIGTERM.
bool launch(QProcess *process, const QStringList &args, int from)
{
    const QStringList command = args.mid(from);
    if (command.isEmpty())
        return false;
    // The program's log goes to $SYNC_PROBE_LOG (appended), so that only figures reach the terminal.
    const QString log = qEnvironmentVariable("SYNC_PROBE_LOG", QProcess::nullDevice());
    process->setProcessChannelMode(QProcess::MergedChannels);
    process->setStandardOutputFile(log, QIODevice::Append);
    process->start(command.first(), command.mid(1));
    return process->waitForStarted(5000);
}

void finish(QProcess *process)
{
    process->terminate();
    if (!process->waitForFinished(10000))
        process->kill();
    process->waitForFinished(5000);
}

int serve(quint16 proxyPort, const QByteArray &path, const QStringList &args, int from)
{
    QProcess process;
    QElapsedTimer clock;
    clock.start();
    if (!launch(&process, args, from))
        return 1;
    const QDeadlineTimer deadline(30000);
    while (!deadline.hasExpired() && process.state() == QProcess::Running) {
        if (get(proxyPort, path).status == 200) {
            const double ms = double(clock.nsecsElapsed()) / 1e6;
            std::printf("first request served after %.0f ms; VmHWM %ld MB\n", ms,
                        vmHwmKb(process.processId()) / 1024);
            finish(&process);
            return 0;
        }
        pause();
    }
    std::fprintf(stderr, "sync_probe: %s never answered 200\n", path.constData());
    finish(&process);
    return 1;
}

int sync(quint16 adminPort, const QString &dataDir, qint64 revision, const QStringList &args, int from)
{
    QProcess process;
    QElapsedTimer clock;
    clock.start();
    if (!launch(&process, args, from))
        return 1;
    QByteArray token;
    double inSyncMs = -1;
    double persistedMs = -1;
    double cpuAtInSyncMs = -1;
    const QDeadlineTimer deadline(60000);
    while (!deadline.hasExpired() && process.state() == QProcess::Running &&
           (inSyncMs < 0 || persistedMs < 0)) {
        if (token.isEmpty()) {
            QFile file(dataDir + QStringLiteral("/admin.token"));
            if (file.open(QIODevice::ReadOnly))
                token = file.readAll().trimmed();
        }
        if (inSyncMs < 0 && !token.isEmpty()) {
            const QJsonObject status =
                QJsonDocument::fromJson(get(adminPort, "/v1/status", token).body).object();
            if (status.value(QLatin1String("state")).toString() == QLatin1String("in_sync") &&
                status.value(QLatin1String("live")).toObject().value(QLatin1String("revision")).toInteger() ==
                    revision) {
                inSyncMs = double(clock.nsecsElapsed()) / 1e6;
                cpuAtInSyncMs = cpuMs(process.processId());
            }
        }
        if (persistedMs < 0 && persistedRevision(dataDir) == revision)
            persistedMs = double(clock.nsecsElapsed()) / 1e6;
        QThread::msleep(2); // the admin API is polled, not flooded
    }
    if (inSyncMs < 0 || persistedMs < 0) {
        std::fprintf(stderr, "sync_probe: no in_sync/persisted at revision %lld\n",
                     static_cast<long long>(revision));
        finish(&process);
        return 1;
    }
    std::printf("start -> in_sync at revision %lld: %.0f ms; -> persisted: %.0f ms; VmHWM %ld MB; CPU at "
                "in_sync %.0f ms\n",
                static_cast<long long>(revision), inSyncMs, persistedMs, vmHwmKb(process.processId()) / 1024,
                cpuAtInSyncMs);
    finish(&process);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const QString mode = args.value(1);
    const int dashes = int(args.indexOf(QStringLiteral("--")));
    if (mode == QLatin1String("load") && args.size() == 3)
        return load(quint16(args.at(2).toUInt()));
    if (mode == QLatin1String("propagation") && args.size() == 7)
        return propagation(quint16(args.at(2).toUInt()), quint16(args.at(3).toUInt()), args.at(4),
                           args.at(5).toInt(), args.at(6).toUtf8());
    if (mode == QLatin1String("batch") && args.size() == 6)
        return batch(quint16(args.at(2).toUInt()), quint16(args.at(3).toUInt()), args.at(4).toInt(),
                     args.at(5).toUtf8());
    if (mode == QLatin1String("serve") && dashes == 4)
        return serve(quint16(args.at(2).toUInt()), args.at(3).toUtf8(), args, dashes + 1);
    if (mode == QLatin1String("sync") && dashes == 5)
        return sync(quint16(args.at(2).toUInt()), args.at(3), args.at(4).toLongLong(), args, dashes + 1);
    std::fprintf(stderr, "usage: see the comment at the top of bench/sync_probe.cpp\n");
    return 2;
}
