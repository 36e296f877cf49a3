#include "accesslog.h"

#include <QAtomicInteger>
#include <QDateTime>
#include <QFile>
#include <QLoggingCategory>
#include <QMutex>
#include <QMutexLocker>
#include <QThread>
#include <QWaitCondition>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <iterator>
#include <utility>

Q_LOGGING_CATEGORY(lcAccessLog, "holdfast.admin.accesslog")

enum class AccessLog::Format::Variable : quint8
{
    Literal,
    RemoteAddr,
    RemotePort,
    TimeLocal,
    TimeIso8601,
    Msec,
    Request,
    RequestMethod,
    RequestUri,
    ServerProtocol,
    Status,
    BodyBytesSent,
    BytesSent,
    RequestLength,
    HttpReferer,
    HttpUserAgent,
    HttpHost,
    RouteId,
    RequestTime,
    UpstreamAddr,
    UpstreamStatus,
    UpstreamResponseTime,
};

namespace {

using Variable = AccessLog::Format::Variable;

using Entry = AccessLog::Entry;

// How each variable is written: an escaped text member of the Entry, a number read from it, or (neither)
// a case of its own in Format::append.
const struct
{
    const char *name;
    Variable variable;
    QByteArray Entry::*text;
    qint64 (*number)(const Entry &);
} Variables[] = {
    {"remote_addr", Variable::RemoteAddr, &Entry::remoteAddr, nullptr},
    {"remote_port", Variable::RemotePort, nullptr, [](const Entry &e) { return qint64(e.remotePort); }},
    {"time_local", Variable::TimeLocal, nullptr, nullptr},
    {"time_iso8601", Variable::TimeIso8601, nullptr, nullptr},
    {"msec", Variable::Msec, nullptr, nullptr},
    {"request", Variable::Request, nullptr, nullptr},
    {"request_method", Variable::RequestMethod, &Entry::method, nullptr},
    {"request_uri", Variable::RequestUri, &Entry::target, nullptr},
    {"server_protocol", Variable::ServerProtocol, &Entry::protocol, nullptr},
    {"status", Variable::Status, nullptr, [](const Entry &e) { return qint64(e.status); }},
    {"body_bytes_sent", Variable::BodyBytesSent, nullptr, [](const Entry &e) { return e.bodyBytesSent; }},
    {"bytes_sent", Variable::BytesSent, nullptr, [](const Entry &e) { return e.bytesSent; }},
    {"request_length", Variable::RequestLength, nullptr, [](const Entry &e) { return e.requestLength; }},
    {"http_referer", Variable::HttpReferer, &Entry::referer, nullptr},
    {"http_user_agent", Variable::HttpUserAgent, &Entry::userAgent, nullptr},
    {"http_host", Variable::HttpHost, &Entry::host, nullptr},
    {"route_id", Variable::RouteId, &Entry::routeId, nullptr},
    {"request_time", Variable::RequestTime, nullptr, nullptr},
    {"upstream_addr", Variable::UpstreamAddr, &Entry::upstreamAddr, nullptr},
    {"upstream_status", Variable::UpstreamStatus, &Entry::upstreamStatus, nullptr},
    {"upstream_response_time", Variable::UpstreamResponseTime, nullptr, nullptr},
};

const char *const Months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool isNameChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// As nginx's default escaping: a client cannot forge a line or break the quoting.
void appendEscaped(QByteArray &out, QByteArrayView value)
{
    if (value.isEmpty()) {
        out += '-';
        return;
    }
    static const char hex[] = "0123456789ABCDEF";
    for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            const char escaped[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
            out.append(escaped, 4);
        } else {
            out += ch;
        }
    }
}

// Seconds with millisecond resolution, as nginx prints $request_time.
void appendSeconds(QByteArray &out, qint64 micros)
{
    const qint64 millis = qMax<qint64>(micros, 0) / 1000;
    char text[32];
    const int n = std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(millis / 1000),
                                static_cast<long long>(millis % 1000));
    out.append(text, n);
}

} // namespace

AccessLog::Format::Format()
    : Format(parse(DefaultFormat))
{}

AccessLog::Format AccessLog::Format::parse(QByteArrayView text, QString *error)
{
    Format format{Unparsed{}};
    format.m_text = text.toByteArray();
    QByteArray literal;
    auto fail = [&](qsizetype offset, const QString &why) {
        if (error)
            *error = QStringLiteral("access log format: offset %1: %2").arg(offset).arg(why);
        format.m_parts.clear();
        format.m_valid = false;
        return format;
    };
    for (qsizetype i = 0; i < text.size();) {
        if (text[i] != '$') {
            literal += text[i++];
            continue;
        }
        const qsizetype start = i++;
        const bool braced = i < text.size() && text[i] == '{';
        if (braced)
            ++i;
        const qsizetype nameStart = i;
        while (i < text.size() && isNameChar(text[i]))
            ++i;
        const QByteArray name = text.sliced(nameStart, i - nameStart).toByteArray();
        if (braced) {
            if (i >= text.size() || text[i] != '}')
                return fail(start, QStringLiteral("expected '}' to close the variable name"));
            ++i;
        }
        if (name.isEmpty())
            return fail(start, QStringLiteral("expected a variable name after '$'"));
        const QByteArray lower = name.toLower();
        if (lower == "http_authorization" || lower == "http_proxy_authorization" || lower == "http_cookie")
            return fail(
                start,
                QStringLiteral("$%1 is never logged: it carries credentials").arg(QString::fromLatin1(name)));
        const auto found = std::find_if(std::cbegin(Variables), std::cend(Variables),
                                        [&name](const auto &v) { return name == v.name; });
        if (found == std::cend(Variables))
            return fail(start, QStringLiteral("unknown variable $%1").arg(QString::fromLatin1(name)));
        if (!literal.isEmpty())
            format.m_parts.append(Part{Variable::Literal, std::exchange(literal, {}), nullptr, nullptr});
        format.m_parts.append(Part{found->variable, {}, found->text, found->number});
    }
    if (!literal.isEmpty())
        format.m_parts.append(Part{Variable::Literal, literal, nullptr, nullptr});
    format.m_valid = true;
    return format;
}

void AccessLog::Format::cacheTime(qint64 seconds) const
{
    // Formatting a date is far dearer than a log line, and a busy worker writes many lines a second.
    const QDateTime local = QDateTime::fromSecsSinceEpoch(seconds);
    const QDate date = local.date();
    const QTime time = local.time();
    const int offset = local.offsetFromUtc();
    const char sign = offset < 0 ? '-' : '+';
    const int offsetMinutes = qAbs(offset) / 60;
    char text[64];
    int n = std::snprintf(text, sizeof text, "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", date.day(),
                          Months[date.month() - 1], date.year(), time.hour(), time.minute(), time.second(),
                          sign, offsetMinutes / 60, offsetMinutes % 60);
    m_timeLocal = QByteArray(text, n);
    n = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", date.year(),
                      date.month(), date.day(), time.hour(), time.minute(), time.second(), sign,
                      offsetMinutes / 60, offsetMinutes % 60);
    m_timeIso8601 = QByteArray(text, n);
    m_cachedSecond = seconds;
}

void AccessLog::Format::append(QByteArray &out, const Entry &e) const
{
    const qint64 msecs = e.timeMsecs > 0 ? e.timeMsecs : QDateTime::currentMSecsSinceEpoch();
    for (const Part &part : m_parts) {
        if (part.text) {
            appendEscaped(out, e.*part.text);
            continue;
        }
        if (part.number) {
            out += QByteArray::number(part.number(e));
            continue;
        }
        switch (part.variable) {
        case Variable::Literal:
            out += part.literal;
            break;
        case Variable::TimeLocal:
        case Variable::TimeIso8601:
            if (msecs / 1000 != m_cachedSecond)
                cacheTime(msecs / 1000);
            out += part.variable == Variable::TimeLocal ? m_timeLocal : m_timeIso8601;
            break;
        case Variable::Msec: {
            char text[32];
            const int n =
                std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(msecs / 1000),
                              static_cast<long long>(msecs % 1000));
            out.append(text, n);
            break;
        }
        case Variable::Request:
            if (e.method.isEmpty()) {
                out += '-';
            } else {
                appendEscaped(out, e.method);
                out += ' ';
                appendEscaped(out, e.target);
                out += ' ';
                appendEscaped(out, e.protocol);
            }
            break;
        case Variable::RequestTime:
            appendSeconds(out, e.requestTimeMicros);
            break;
        case Variable::UpstreamResponseTime:
            if (e.upstreamResponseTimeMicros < 0)
                out += '-';
            else
                appendSeconds(out, e.upstreamResponseTimeMicros);
            break;
        default: // text and number variables: written above, from the table
            break;
        }
    }
    out += '\n';
}

// State the AccessLog, its buffers (in the workers) and the writer thread share.
struct AccessLog::Shared
{
    struct Item
    {
        enum Kind
        {
            Lines,
            Reopen,
            Replace
        } kind = Lines;
        QByteArray lines;
        std::unique_ptr<QFile> file; // Replace: the new destination, null to close
        QString path;
    };

    // Bumped (under the mutex) whenever `enabled` or `format` change, so buffers notice with one load.
    QAtomicInt generation{0};
    QAtomicInteger<quint64> dropped{0};

    mutable QMutex mutex;
    QWaitCondition wake;
    bool enabled = false;
    bool stopping = false;
    QString path;
    Format format;
    std::deque<Item> queue;
    qsizetype queuedBytes = 0;
    std::unique_ptr<QThread> writer;

    void handOver(QByteArray lines);
    void runWriter();
};

void AccessLog::Shared::handOver(QByteArray lines)
{
    QMutexLocker lock(&mutex);
    if (!enabled || stopping)
        return;
    if (queuedBytes + lines.size() > MaxQueuedBytes) {
        const quint64 count = quint64(lines.count('\n'));
        if (dropped.fetchAndAddRelaxed(count) == 0)
            qCWarning(lcAccessLog) << "access log" << path << "cannot keep up: dropping lines";
        return;
    }
    queuedBytes += lines.size();
    queue.push_back(Item{Item::Lines, std::move(lines), nullptr, {}});
    wake.wakeOne();
}

void AccessLog::Shared::runWriter()
{
    std::unique_ptr<QFile> file;
    QString filePath;
    bool failing = false;
    QMutexLocker lock(&mutex);
    for (;;) {
        while (queue.empty() && !stopping)
            wake.wait(&mutex);
        if (queue.empty())
            break;
        std::deque<Item> items;
        items.swap(queue);
        queuedBytes = 0;
        lock.unlock();

        for (Item &item : items) {
            switch (item.kind) {
            case Item::Lines:
                if (!file)
                    break;
                if (file->write(item.lines) != item.lines.size()) {
                    if (!failing)
                        qCWarning(lcAccessLog)
                            << "access log" << filePath << "write failed:" << file->errorString();
                    failing = true;
                } else {
                    failing = false;
                }
                break;
            case Item::Replace:
                file = std::move(item.file);
                filePath = item.path;
                failing = false;
                break;
            case Item::Reopen: {
                if (!file || filePath == QLatin1String("-"))
                    break;
                auto reopened = std::make_unique<QFile>(filePath);
                if (reopened->open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Unbuffered)) {
                    file = std::move(reopened);
                    failing = false;
                    qCInfo(lcAccessLog) << "access log" << filePath << "reopened";
                } else {
                    qCWarning(lcAccessLog)
                        << "access log" << filePath
                        << "cannot be reopened, writing on to the old file:" << reopened->errorString();
                }
                break;
            }
            }
        }
        items.clear(); // drops a replaced file here, in the writer, rather than under the lock
        lock.relock();
    }
}

AccessLog::Buffer::Buffer(const AccessLog &log)
    : m_shared(log.m_shared)
{
    m_timer.setSingleShot(true);
    m_timer.setInterval(FlushIntervalMs);
    QObject::connect(&m_timer, &QTimer::timeout, [this] { flush(); });
}

AccessLog::Buffer::~Buffer()
{
    flush();
}

int AccessLog::Buffer::currentGeneration() const
{
    return m_shared->generation.loadAcquire();
}

void AccessLog::Buffer::refresh()
{
    QMutexLocker lock(&m_shared->mutex);
    m_generation = m_shared->generation.loadRelaxed();
    m_enabled = m_shared->enabled;
    m_format = m_shared->format;
    if (!m_enabled) {
        m_lines.clear();
        m_timer.stop();
    }
}

void AccessLog::Buffer::append(const Entry &entry)
{
    if (!isEnabled())
        return;
    m_format.append(m_lines, entry);
    if (m_lines.size() >= FlushBytes)
        flush();
    else if (!m_timer.isActive())
        m_timer.start();
}

void AccessLog::Buffer::flush()
{
    m_timer.stop();
    if (m_lines.isEmpty())
        return;
    const qsizetype used = m_lines.size();
    m_shared->handOver(std::exchange(m_lines, {}));
    // One allocation per flush instead of a few regrowths per buffer.
    m_lines.reserve(qMin(used, FlushBytes) + 1024);
}

AccessLog::AccessLog()
    : m_shared(std::make_shared<Shared>())
{}

AccessLog::~AccessLog()
{
    std::unique_ptr<QThread> writer;
    {
        QMutexLocker lock(&m_shared->mutex);
        m_shared->stopping = true;
        m_shared->enabled = false;
        m_shared->generation.ref();
        m_shared->wake.wakeAll();
        writer = std::move(m_shared->writer);
    }
    if (writer)
        writer->wait();
}

bool AccessLog::open(const QString &path, QString *error)
{
    std::unique_ptr<QFile> file;
    if (path == QLatin1String("-")) {
        file = std::make_unique<QFile>();
        if (!file->open(1, QIODevice::WriteOnly | QIODevice::Unbuffered, QFileDevice::DontCloseHandle)) {
            if (error)
                *error = QStringLiteral("access log: cannot write to stdout: %1").arg(file->errorString());
            return false;
        }
    } else if (!path.isEmpty()) {
        file = std::make_unique<QFile>(path);
        if (!file->open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Unbuffered)) {
            if (error)
                *error = QStringLiteral("access log %1: cannot open: %2").arg(path, file->errorString());
            return false;
        }
    }

    QMutexLocker lock(&m_shared->mutex);
    if (m_shared->stopping)
        return false;
    if (file && !m_shared->writer) {
        m_shared->writer.reset(QThread::create([shared = m_shared.get()] { shared->runWriter(); }));
        m_shared->writer->setObjectName(QStringLiteral("holdfast-accesslog"));
        m_shared->writer->start(QThread::LowPriority);
    }
    if (file)
        file->moveToThread(m_shared->writer.get());
    if (m_shared->writer) {
        m_shared->queue.push_back(Shared::Item{Shared::Item::Replace, {}, std::move(file), path});
        m_shared->wake.wakeOne();
    }
    m_shared->path = path;
    m_shared->enabled = !path.isEmpty();
    m_shared->generation.ref();
    return true;
}

bool AccessLog::setFormat(QByteArrayView format, QString *error)
{
    Format compiled = Format::parse(format, error);
    if (!compiled.isValid())
        return false;
    QMutexLocker lock(&m_shared->mutex);
    m_shared->format = compiled;
    m_shared->generation.ref();
    return true;
}

void AccessLog::reopen()
{
    QMutexLocker lock(&m_shared->mutex);
    if (!m_shared->writer || m_shared->stopping)
        return;
    m_shared->queue.push_back(Shared::Item{Shared::Item::Reopen, {}, nullptr, {}});
    m_shared->wake.wakeOne();
}

bool AccessLog::isEnabled() const
{
    QMutexLocker lock(&m_shared->mutex);
    return m_shared->enabled;
}

QString AccessLog::path() const
{
    QMutexLocker lock(&m_shared->mutex);
    return m_shared->path;
}

quint64 AccessLog::droppedLines() const
{
    return m_shared->dropped.loadRelaxed();
}
