// Access log: one line per request, formatted by each worker into its own buffer, written by one thread.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QTimer>

#include <memory>

// The request path takes no lock: a worker formats into its Buffer, and hands the whole buffer to the
// writer thread (one mutex) every FlushIntervalMs or when it passes FlushBytes. A log with no path has
// no writer thread, and Buffer::isEnabled() is then one atomic load.
class AccessLog
{
public:
    static constexpr qsizetype FlushBytes = 64 * 1024;
    static constexpr int FlushIntervalMs = 100;
    // Past this, handed-over buffers are dropped (and counted) rather than growing without bound
    // while the disk stalls.
    static constexpr qsizetype MaxQueuedBytes = 16 * 1024 * 1024;
    static constexpr const char *DefaultFormat =
        "$remote_addr - - [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
        "\"$http_user_agent\" $request_time $upstream_addr $upstream_response_time";

    // What the proxy knows of a finished request. Deliberately without Authorization (or any other
    // header than these): credentials can never reach a log line.
    struct Entry
    {
        QByteArray remoteAddr; // "127.0.0.1", "::1"
        quint16 remotePort = 0;
        qint64 timeMsecs = 0; // wall clock when the response ended (ms since the epoch); 0 means now
        QByteArray method;
        QByteArray target;   // as received, with the query string
        QByteArray protocol; // "HTTP/1.1"
        QByteArray host;
        int status = 0;
        qint64 bodyBytesSent = 0;
        qint64 bytesSent = 0;     // with the response head
        qint64 requestLength = 0; // request line, head and body
        QByteArray referer;
        QByteArray userAgent;
        QByteArray routeId;
        qint64 requestTimeMicros = 0;
        QByteArray upstreamAddr;                // "" when no upstream was contacted; "a:1, b:2" after a retry
        QByteArray upstreamStatus;              // likewise, "502, 200"
        qint64 upstreamResponseTimeMicros = -1; // -1 when no upstream answered
    };

    // A compiled log format with nginx's variable syntax ($name or ${name}). A Format caches the last
    // formatted second, so one instance must not be used by two threads at once (copies are fine).
    class Format
    {
    public:
        enum class Variable : quint8;

        Format(); // DefaultFormat

        // Invalid (and `error` says where and why) for an unknown variable or a lone '$'.
        static Format parse(QByteArrayView text, QString *error = nullptr);
        bool isValid() const { return m_valid; }
        QByteArray text() const { return m_text; }

        // Appends one line, newline included.
        void append(QByteArray &out, const Entry &entry) const;

    private:
        struct Unparsed
        {};
        explicit Format(Unparsed) {}

        struct Part
        {
            Variable variable;
            QByteArray literal;
            QByteArray Entry::*text = nullptr;         // an escaped text member, or
            qint64 (*number)(const Entry &) = nullptr; // a number, or neither
        };
        void cacheTime(qint64 seconds) const;

        QList<Part> m_parts;
        QByteArray m_text;
        bool m_valid = false;
        mutable qint64 m_cachedSecond = -1;
        mutable QByteArray m_timeLocal;
        mutable QByteArray m_timeIso8601;
    };

    struct Shared;

    // One per worker, created, used and destroyed in that worker's thread (it owns a QTimer there).
    class Buffer
    {
    public:
        explicit Buffer(const AccessLog &log);
        ~Buffer(); // hands over what is left
        Buffer(const Buffer &) = delete;
        Buffer &operator=(const Buffer &) = delete;

        // Checked before building an Entry, so a disabled log costs the proxy nothing more.
        bool isEnabled()
        {
            if (m_generation != currentGeneration())
                refresh();
            return m_enabled;
        }
        void append(const Entry &entry);
        void flush();

    private:
        int currentGeneration() const;
        void refresh();

        std::shared_ptr<Shared> m_shared;
        int m_generation = -1;
        bool m_enabled = false;
        Format m_format;
        QByteArray m_lines;
        QTimer m_timer;
    };

    AccessLog();
    ~AccessLog(); // writes everything handed over so far, then stops the writer
    AccessLog(const AccessLog &) = delete;
    AccessLog &operator=(const AccessLog &) = delete;

    // "" disables the log, "-" writes to stdout. When the file cannot be opened this returns false,
    // sets `error`, and the log keeps its previous destination.
    bool open(const QString &path, QString *error = nullptr);
    bool setFormat(QByteArrayView format, QString *error = nullptr);
    // Opens the path again after what was handed over before is written: for logrotate (SIGHUP).
    // Failing to, the writer keeps the file it has and warns.
    void reopen();

    bool isEnabled() const;
    QString path() const;
    quint64 droppedLines() const;

private:
    std::shared_ptr<Shared> m_shared;
};
