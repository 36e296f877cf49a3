// Tests the access log: line format, flushing to a file, reopening after logrotate, disabling, threads.
#include "accesslog.h"

#include <QDateTime>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <ctime>
#include <memory>

namespace {

QByteArray readAll(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

AccessLog::Entry sampleEntry(const QByteArray &target = "/api/items?id=7")
{
    AccessLog::Entry e;
    e.remoteAddr = "127.0.0.1";
    e.remotePort = 50123;
    e.timeMsecs = QDateTime(QDate(2026, 11, 24), QTime(12, 0, 0, 123), Qt::UTC).toMSecsSinceEpoch();
    e.method = "GET";
    e.target = target;
    e.protocol = "HTTP/1.1";
    e.host = "api.example.com";
    e.status = 200;
    e.bodyBytesSent = 1234;
    e.bytesSent = 1400;
    e.requestLength = 87;
    e.userAgent = "curl/8.0";
    e.routeId = "12";
    e.requestTimeMicros = 15600;
    e.upstreamAddr = "127.0.0.1:8081";
    e.upstreamStatus = "200";
    e.upstreamResponseTimeMicros = 12345;
    return e;
}

// UTC+2 with no daylight saving, so the expected times do not depend on the machine or the season.
const QByteArray DefaultLine =
    "127.0.0.1 - - [24/Nov/2026:14:00:00 +0200] \"GET /api/items?id=7 HTTP/1.1\" 200 1234 "
    "\"-\" \"curl/8.0\" 0.015 127.0.0.1:8081 0.012\n";

} // namespace

class TestAccessLog : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void defaultFormat();
    void allVariables();
    void escaping();
    void badFormats();
    void writtenAfterFlushInterval();
    void handedOverPastFlushBytes();
    void reopenAfterRename();
    void disabledWritesNothing();
    void openFailureKeepsDestination();
    void workersInThreads();
    void formatChangeReachesBuffers();

private:
    QTemporaryDir m_dir;
};

void TestAccessLog::initTestCase()
{
    qputenv("TZ", "HFT-2");
    tzset();
    QVERIFY(m_dir.isValid());
}

void TestAccessLog::defaultFormat()
{
    AccessLog::Format format;
    QVERIFY(format.isValid());
    QByteArray out;
    format.append(out, sampleEntry());
    QCOMPARE(out, DefaultLine);

    // No upstream contacted (a 404 without a route): nginx's "-" placeholders.
    AccessLog::Entry e = sampleEntry();
    e.status = 404;
    e.upstreamAddr.clear();
    e.upstreamResponseTimeMicros = -1;
    e.userAgent.clear();
    out.clear();
    format.append(out, e);
    QCOMPARE(out, QByteArray(
                      "127.0.0.1 - - [24/Nov/2026:14:00:00 +0200] \"GET /api/items?id=7 HTTP/1.1\" 404 1234 "
                      "\"-\" \"-\" 0.015 - -\n"));
}

void TestAccessLog::allVariables()
{
    QString error;
    const AccessLog::Format format = AccessLog::Format::parse(
        "$remote_addr:$remote_port|${time_iso8601}|$msec|$request_method|$request_uri|$server_protocol|$http_"
        "host|"
        "$bytes_sent|$request_length|$route_id|$upstream_status|$http_referer|${status}x",
        &error);
    QVERIFY2(format.isValid(), qPrintable(error));
    AccessLog::Entry e = sampleEntry();
    e.referer = "https://example.com/";
    QByteArray out;
    format.append(out, e);
    QCOMPARE(out, QByteArray(
                      "127.0.0.1:50123|2026-11-24T14:00:00+02:00|1795521600.123|GET|/api/items?id=7|HTTP/1.1|"
                      "api.example.com|1400|87|12|200|https://example.com/|200x\n"));
}

void TestAccessLog::escaping()
{
    AccessLog::Entry e = sampleEntry("/a\"b\\c");
    e.userAgent = "evil\"agent\n127.0.0.1 - - fake line\x01\xff";
    QByteArray out;
    AccessLog::Format().append(out, e);
    QCOMPARE(out.count('\n'), 1);
    QVERIFY2(out.contains("\"GET /a\\x22b\\x5Cc HTTP/1.1\""), out.constData());
    QVERIFY2(out.contains("\"evil\\x22agent\\x0A127.0.0.1 - - fake line\\x01\\xFF\""), out.constData());
}

void TestAccessLog::badFormats()
{
    QString error;
    QVERIFY(!AccessLog::Format::parse("$status $nope", &error).isValid());
    QCOMPARE(error, QStringLiteral("access log format: offset 8: unknown variable $nope"));
    QVERIFY(!AccessLog::Format::parse("$status $", &error).isValid());
    QCOMPARE(error, QStringLiteral("access log format: offset 8: expected a variable name after '$'"));
    QVERIFY(!AccessLog::Format::parse("${status", &error).isValid());
    QCOMPARE(error, QStringLiteral("access log format: offset 0: expected '}' to close the variable name"));
    // Credentials never reach the log, whatever the operator writes.
    for (const char *secret : {"$http_authorization", "${http_authorization}", "$http_proxy_authorization",
                               "$http_cookie", "$HTTP_AUTHORIZATION"}) {
        QVERIFY(!AccessLog::Format::parse(secret, &error).isValid());
        QVERIFY2(error.contains(QStringLiteral("never logged")), qPrintable(error));
    }

    AccessLog log;
    QVERIFY(!log.setFormat("$nope", &error));
    QVERIFY(error.contains(QStringLiteral("$nope")));
}

void TestAccessLog::writtenAfterFlushInterval()
{
    const QString path = m_dir.filePath(QStringLiteral("interval.log"));
    AccessLog log;
    QString error;
    QVERIFY2(log.open(path, &error), qPrintable(error));
    QVERIFY(log.isEnabled());
    AccessLog::Buffer buffer(log);
    QVERIFY(buffer.isEnabled());
    buffer.append(sampleEntry());
    buffer.append(sampleEntry());
    // Buffered, not written per request: nothing there before the worker's event loop runs.
    QCOMPARE(readAll(path), QByteArray());
    QTRY_COMPARE_WITH_TIMEOUT(readAll(path), DefaultLine + DefaultLine, 5000);
}

void TestAccessLog::handedOverPastFlushBytes()
{
    const QString path = m_dir.filePath(QStringLiteral("bytes.log"));
    AccessLog log;
    QVERIFY(log.open(path));
    AccessLog::Buffer buffer(log);
    qsizetype total = 0;
    const int lines = int(AccessLog::FlushBytes / DefaultLine.size()) + 20;
    for (int i = 0; i < lines; ++i) {
        buffer.append(sampleEntry());
        total += DefaultLine.size();
    }
    // No event processing here, so the flush timer cannot fire: only the size threshold hands over.
    QDeadlineTimer deadline(5000);
    while (QFileInfo(path).size() < AccessLog::FlushBytes && !deadline.hasExpired())
        QThread::msleep(5);
    const qint64 written = QFileInfo(path).size();
    QVERIFY(written >= AccessLog::FlushBytes);
    QVERIFY(written < total);
    QTRY_COMPARE_WITH_TIMEOUT(QFileInfo(path).size(), qint64(total), 5000);
}

void TestAccessLog::reopenAfterRename()
{
    const QString path = m_dir.filePath(QStringLiteral("rotate.log"));
    const QString rotated = path + QStringLiteral(".1");
    AccessLog log;
    QVERIFY(log.open(path));
    AccessLog::Buffer buffer(log);
    buffer.append(sampleEntry("/before"));
    QTRY_VERIFY_WITH_TIMEOUT(readAll(path).contains("/before"), 5000);

    // What logrotate does: rename, then signal the gateway.
    QVERIFY(QFile::rename(path, rotated));
    buffer.append(sampleEntry("/still-old"));
    buffer.flush(); // handed over before reopen(): belongs to the old file
    log.reopen();
    buffer.append(sampleEntry("/after"));
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(path) && readAll(path).contains("/after"), 5000);
    const QByteArray fresh = readAll(path);
    const QByteArray old = readAll(rotated);
    QCOMPARE(fresh.count('\n'), 1);
    QVERIFY(!fresh.contains("/before"));
    QCOMPARE(old.count('\n'), 2);
    QVERIFY(old.contains("/before"));
    QVERIFY(old.contains("/still-old"));
    QVERIFY(!old.contains("/after"));
}

void TestAccessLog::disabledWritesNothing()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    {
        AccessLog never;
        QVERIFY(!never.isEnabled());
        AccessLog::Buffer buffer(never);
        QVERIFY(!buffer.isEnabled());
        buffer.append(sampleEntry());
        buffer.flush();
        never.reopen();
    }
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).size(), 0);

    // Turned off at run time: what is appended meanwhile is lost, not written once re-enabled.
    const QString path = dir.filePath(QStringLiteral("toggle.log"));
    AccessLog log;
    QVERIFY(log.open(path));
    AccessLog::Buffer buffer(log);
    buffer.append(sampleEntry("/one"));
    QTRY_VERIFY_WITH_TIMEOUT(readAll(path).contains("/one"), 5000);
    QVERIFY(log.open(QString()));
    QVERIFY(!log.isEnabled());
    QVERIFY(!buffer.isEnabled());
    buffer.append(sampleEntry("/two"));
    buffer.flush();
    QVERIFY(log.open(path));
    QVERIFY(buffer.isEnabled());
    buffer.append(sampleEntry("/three"));
    QTRY_VERIFY_WITH_TIMEOUT(readAll(path).contains("/three"), 5000);
    const QByteArray contents = readAll(path);
    QCOMPARE(contents.count('\n'), 2);
    QVERIFY(!contents.contains("/two"));
}

void TestAccessLog::openFailureKeepsDestination()
{
    const QString path = m_dir.filePath(QStringLiteral("keep.log"));
    AccessLog log;
    QVERIFY(log.open(path));
    QString error;
    const QString bad = m_dir.filePath(QStringLiteral("no/such/dir/x.log"));
    QVERIFY(!log.open(bad, &error));
    QVERIFY2(error.startsWith(QStringLiteral("access log %1: cannot open: ").arg(bad)), qPrintable(error));
    QCOMPARE(log.path(), path);
    AccessLog::Buffer buffer(log);
    buffer.append(sampleEntry());
    QTRY_COMPARE_WITH_TIMEOUT(readAll(path), DefaultLine, 5000);

    AccessLog toStdout;
    QVERIFY(toStdout.open(QStringLiteral("-")));
    QVERIFY(toStdout.isEnabled());
}

void TestAccessLog::workersInThreads()
{
    const QString path = m_dir.filePath(QStringLiteral("threads.log"));
    AccessLog log;
    QVERIFY(log.setFormat("$request_uri $status"));
    QVERIFY(log.open(path));

    constexpr int workers = 3;
    constexpr int perWorker = 3000;
    QThread threads[workers];
    QObject contexts[workers];
    AccessLog::Buffer *buffers[workers] = {};
    for (int w = 0; w < workers; ++w) {
        contexts[w].moveToThread(&threads[w]);
        threads[w].start();
        // Each worker owns its buffer, in its thread, as the proxy's workers will; the buffer's own
        // timer flushes what is left below the size threshold.
        QMetaObject::invokeMethod(&contexts[w], [&buffers, &log, w] {
            buffers[w] = new AccessLog::Buffer(log);
            for (int i = 0; i < perWorker; ++i) {
                AccessLog::Entry e;
                e.target = "/w" + QByteArray::number(w) + "/" + QByteArray::number(i);
                e.status = 200;
                buffers[w]->append(e);
            }
        });
    }
    QTRY_COMPARE_WITH_TIMEOUT(readAll(path).count('\n'), workers * perWorker, 10000);
    for (int w = 0; w < workers; ++w) {
        QMetaObject::invokeMethod(
            &contexts[w], [&buffers, w] { delete buffers[w]; }, Qt::BlockingQueuedConnection);
        threads[w].quit();
        threads[w].wait();
    }
    const QRegularExpression pattern(QStringLiteral("^/w(\\d)/(\\d+) 200$"));
    QSet<QString> seen;
    for (const QByteArray &line : readAll(path).split('\n')) {
        if (line.isEmpty())
            continue;
        const QRegularExpressionMatch m = pattern.match(QString::fromLatin1(line));
        QVERIFY2(m.hasMatch(), line.constData());
        seen.insert(QString::fromLatin1(line));
    }
    QCOMPARE(seen.size(), workers * perWorker);
}

void TestAccessLog::formatChangeReachesBuffers()
{
    const QString path = m_dir.filePath(QStringLiteral("format.log"));
    AccessLog log;
    QVERIFY(log.open(path));
    AccessLog::Buffer buffer(log);
    buffer.append(sampleEntry());
    QVERIFY(log.setFormat("$status $route_id"));
    buffer.append(sampleEntry());
    QTRY_COMPARE_WITH_TIMEOUT(readAll(path), DefaultLine + "200 12\n", 5000);
}

QTEST_GUILESS_MAIN(TestAccessLog)
#include "tst_accesslog.moc"
