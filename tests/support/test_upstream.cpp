// holdfast_test_upstream: a real HTTP/1.1 upstream for the proxy suites, written apart from the proxy's
// own HTTP code so that the two check each other.
//
//   holdfast_test_upstream --port P [--address A] [--name N]      prints "READY <port>" when listening
//
//   any path          JSON echo: method, target, version, headers, body length and sha256, node name,
//                     connection serial and request number on it, peer
//   /status/N         answers status N (204 and 304 without a body)
//   /delay/MS         waits MS milliseconds before the head, then echoes
//   /slow-body/MS     sends the head (Content-Length 5) at once, the body "hello" MS milliseconds later
//   /bytes/N          N bytes of the pattern byte(i) = i % 251, Content-Length and X-Sha256;
//                     ?chunked=1 streams it chunked with the sha256 in an X-Sha256 trailer
//   /close-delimited/N  the pattern without a length, ended by closing the connection
//   /close            closes the connection without answering
//   /trailing-bytes/N  a keep-alive 200 whose head and body are exactly N bytes, followed in the same write
//                     by a second, unasked-for response ("stale"): a proxy must not reuse the connection
//   /early/N          answers status N as soon as the request line is read, before the rest of the head
//                     or the body, then resets the connection (SO_LINGER 0): nginx's early 413/431
//   /ws/...           (with Upgrade: websocket) a minimal RFC 6455 echo, see WebSocketEcho below
//   /stats            {"connections": accepted so far, "requests": answered so far, "received": request
//                     heads read so far (a request the upstream never answered counts here too),
//                     "open": HTTP connections open now, this one included}
//
// For the health-check suites (the node a checker probes):
//   --status N        every request, whatever its path, is answered N with the body "status N", then closed
//   --hang            every connection is accepted and read, never answered (a probe must time out)
//   --log-requests    each request head is printed as "REQUEST <request line> | Host: <host>"
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrlQuery>

#include <cstdio>
#include <deque>
#include <llhttp.h>
#include <sys/socket.h>

namespace {

QByteArray g_name;
int g_connections = 0;
int g_requests = 0;
int g_received = 0;
int g_open = 0; // HTTP connections open now (WebSocket ones not counted)

// Health-check mode (--status, --hang, --log-requests): see the top of the file.
struct FixedAnswer
{
    int status = 0; // 0: the paths above
    bool hang = false;
    bool logRequests = false;
};
FixedAnswer g_fixed;

void addFixedAnswerOptions(QCommandLineParser &parser)
{
    parser.addOption({QStringLiteral("status"), QStringLiteral("Answer every request with this status."),
                      QStringLiteral("code")});
    parser.addOption({QStringLiteral("hang"), QStringLiteral("Accept and read, never answer.")});
    parser.addOption({QStringLiteral("log-requests"), QStringLiteral("Print each request head.")});
}

bool readFixedAnswerOptions(const QCommandLineParser &parser)
{
    if (parser.isSet(QStringLiteral("status"))) {
        g_fixed.status = parser.value(QStringLiteral("status")).toInt();
        if (g_fixed.status < 100 || g_fixed.status > 999) {
            std::fprintf(stderr, "--status takes a status code (100-999)\n");
            return false;
        }
    }
    g_fixed.hang = parser.isSet(QStringLiteral("hang"));
    g_fixed.logRequests = parser.isSet(QStringLiteral("log-requests"));
    return true;
}

void logRequestHead(const llhttp_t *parser, const QByteArray &url,
                    const QList<QPair<QByteArray, QByteArray>> &headers)
{
    QByteArray host;
    for (const auto &h : headers) {
        if (h.first.compare("host", Qt::CaseInsensitive) == 0)
            host = h.second.trimmed();
    }
    std::printf("REQUEST %s %s HTTP/%d.%d | Host: %s\n", llhttp_method_name(llhttp_method_t(parser->method)),
                url.constData(), int(parser->http_major), int(parser->http_minor), host.constData());
    std::fflush(stdout);
}

constexpr qint64 WriteChunk = 64 * 1024;
constexpr qint64 HighWater = 256 * 1024;

QByteArray pattern(qint64 offset, qint64 length)
{
    QByteArray out(length, Qt::Uninitialized);
    for (qint64 i = 0; i < length; ++i)
        out[i] = char((offset + i) % 251);
    return out;
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

QByteArray patternSha256(qint64 length)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (qint64 offset = 0; offset < length; offset += WriteChunk)
        hash.addData(pattern(offset, qMin(WriteChunk, length - offset)));
    return hash.result().toHex();
}

struct Request
{
    QByteArray method;
    QByteArray url;
    int versionMinor = 1;
    QList<QPair<QByteArray, QByteArray>> headers;
    qint64 bodyLength = 0;
    QByteArray bodySha256;
    bool keepAlive = true;
};

// --- WebSocket (kept apart from the HTTP echo above) ---------------------------------------------------

// The RFC 6455 server side of one upgraded connection: echoes every data frame (unmasked, same opcode),
// answers ping with pong and close with close. Text messages that are commands instead:
//   "close"     the upstream sends a close frame (1000) and closes the connection
//   "push N"    the upstream sends N bytes of the pattern in binary frames of 64 KiB, as fast as the
//               connection takes them, then the text message "pushed N"
//   "count"     the text message "count <bytes of data frames received so far>"
class WebSocketEcho : public QObject
{
public:
    WebSocketEcho(QTcpSocket *socket, const QByteArray &already)
        : m_socket(socket)
        , m_in(already)
    {
        socket->setParent(this);
        connect(socket, &QTcpSocket::readyRead, this, [this] {
            m_in += m_socket->readAll();
            parse();
        });
        connect(socket, &QTcpSocket::bytesWritten, this, &WebSocketEcho::push);
        connect(socket, &QTcpSocket::disconnected, this, &QObject::deleteLater);
        parse();
    }

    static QByteArray acceptKey(const QByteArray &key)
    {
        return QCryptographicHash::hash(key.trimmed() + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
                                        QCryptographicHash::Sha1)
            .toBase64();
    }

private:
    void send(int opcode, const QByteArray &payload, bool fin = true)
    {
        QByteArray frame;
        frame.append(char((fin ? 0x80 : 0) | opcode));
        const qint64 n = payload.size();
        if (n < 126) {
            frame.append(char(n));
        } else if (n < 65536) {
            frame.append(char(126));
            frame.append(char(n >> 8));
            frame.append(char(n & 0xff));
        } else {
            frame.append(char(127));
            for (int i = 7; i >= 0; --i)
                frame.append(char((n >> (8 * i)) & 0xff));
        }
        m_socket->write(frame + payload);
    }

    void parse()
    {
        for (;;) {
            if (m_in.size() < 2)
                return;
            const auto b0 = quint8(m_in.at(0));
            const auto b1 = quint8(m_in.at(1));
            const int opcode = b0 & 0x0f;
            qint64 length = b1 & 0x7f;
            qsizetype at = 2;
            if (length == 126) {
                if (m_in.size() < 4)
                    return;
                length = (quint8(m_in.at(2)) << 8) | quint8(m_in.at(3));
                at = 4;
            } else if (length == 127) {
                if (m_in.size() < 10)
                    return;
                length = 0;
                for (int i = 0; i < 8; ++i)
                    length = (length << 8) | quint8(m_in.at(2 + i));
                at = 10;
            }
            const bool masked = b1 & 0x80;
            const qsizetype maskAt = at;
            if (masked)
                at += 4;
            if (m_in.size() < at + length)
                return;
            QByteArray payload = m_in.mid(at, length);
            if (masked) {
                for (qsizetype i = 0; i < payload.size(); ++i)
                    payload[i] = char(payload.at(i) ^ m_in.at(maskAt + (i % 4)));
            }
            m_in.remove(0, at + length);
            handle(opcode, payload, b0 & 0x80);
        }
    }

    // `fin`: the last frame of its message; a fragmented message is echoed fragmented alike.
    void handle(int opcode, const QByteArray &payload, bool fin)
    {
        switch (opcode) {
        case 0x8: // close: answered, then the TCP connection ends
            send(0x8, payload.left(2));
            m_socket->disconnectFromHost();
            return;
        case 0x9:
            send(0xA, payload);
            return;
        case 0xA:
            return;
        default:
            break;
        }
        m_received += payload.size();
        if (opcode == 0x1 && payload == "close") {
            send(0x8, QByteArray("\x03\xe8", 2));
            m_socket->disconnectFromHost();
        } else if (opcode == 0x1 && payload.startsWith("push ")) {
            m_pushTotal = payload.mid(5).toLongLong();
            m_pushed = 0;
            push();
        } else if (opcode == 0x1 && payload == "count") {
            send(0x1, "count " + QByteArray::number(m_received));
        } else {
            send(opcode, payload, fin);
        }
    }

    void push()
    {
        while (m_pushTotal > 0 && m_socket->bytesToWrite() < HighWater) {
            const qint64 n = qMin(WriteChunk, m_pushTotal - m_pushed);
            send(0x2, pattern(m_pushed, n));
            m_pushed += n;
            if (m_pushed == m_pushTotal) {
                send(0x1, "pushed " + QByteArray::number(m_pushTotal));
                m_pushTotal = 0;
            }
        }
    }

    QTcpSocket *m_socket;
    QByteArray m_in;
    qint64 m_received = 0;
    qint64 m_pushTotal = 0;
    qint64 m_pushed = 0;
};

class Connection : public QObject
{
public:
    Connection(QTcpSocket *socket, int serial)
        : m_socket(socket)
        , m_serial(serial)
        , m_hash(QCryptographicHash::Sha256)
    {
        socket->setParent(this);
        llhttp_settings_init(&m_settings);
        m_settings.on_message_begin = [](llhttp_t *p) {
            auto *c = static_cast<Connection *>(p->data);
            c->m_current = Request();
            c->m_hash.reset();
            c->m_inField = false;
            return 0;
        };
        m_settings.on_url = [](llhttp_t *p, const char *at, size_t n) {
            static_cast<Connection *>(p->data)->m_current.url.append(at, qsizetype(n));
            return 0;
        };
        m_settings.on_header_field = [](llhttp_t *p, const char *at, size_t n) {
            auto *c = static_cast<Connection *>(p->data);
            if (!c->m_inField)
                c->m_current.headers.append(QPair<QByteArray, QByteArray>());
            c->m_inField = true;
            c->m_current.headers.last().first.append(at, qsizetype(n));
            return 0;
        };
        m_settings.on_header_field_complete = [](llhttp_t *p) {
            static_cast<Connection *>(p->data)->m_inField = false;
            return 0;
        };
        m_settings.on_header_value = [](llhttp_t *p, const char *at, size_t n) {
            auto *c = static_cast<Connection *>(p->data);
            c->m_current.headers.last().second.append(at, qsizetype(n));
            return 0;
        };
        m_settings.on_headers_complete = [](llhttp_t *p) {
            ++g_received;
            if (g_fixed.logRequests) {
                auto *c = static_cast<Connection *>(p->data);
                logRequestHead(p, c->m_current.url, c->m_current.headers);
            }
            return 0;
        };
        m_settings.on_body = [](llhttp_t *p, const char *at, size_t n) {
            auto *c = static_cast<Connection *>(p->data);
            c->m_hash.addData(QByteArrayView(at, qsizetype(n)));
            c->m_current.bodyLength += qint64(n);
            return 0;
        };
        m_settings.on_message_complete = [](llhttp_t *p) {
            auto *c = static_cast<Connection *>(p->data);
            c->m_current.method = llhttp_method_name(llhttp_method_t(p->method));
            c->m_current.versionMinor = p->http_minor;
            c->m_current.keepAlive = llhttp_should_keep_alive(p) != 0;
            c->m_current.bodySha256 = c->m_hash.result().toHex();
            c->m_queue.push_back(c->m_current);
            return 0;
        };
        llhttp_init(&m_parser, HTTP_REQUEST, &m_settings);
        m_parser.data = this;
        ++g_open;
        connect(socket, &QTcpSocket::readyRead, this, &Connection::onReadyRead);
        connect(socket, &QTcpSocket::bytesWritten, this, &Connection::onBytesWritten);
        connect(socket, &QTcpSocket::disconnected, this, &QObject::deleteLater);
    }

    ~Connection() override { --g_open; }

private:
    void onReadyRead()
    {
        const QByteArray data = m_socket->readAll();
        const llhttp_errno_t err = llhttp_execute(&m_parser, data.constData(), size_t(data.size()));
        if (err == HPE_PAUSED_UPGRADE) {
            const qsizetype used = qsizetype(llhttp_get_error_pos(&m_parser) - data.constData());
            upgrade(data.mid(used));
            return;
        }
        if (err != HPE_OK) {
            m_socket->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            m_socket->disconnectFromHost();
            return;
        }
        // The request line is whole once a header field has begun: an /early/ request is answered now,
        // while its sender is still writing the rest.
        if (!m_busy && m_current.url.startsWith("/early/") && !m_current.headers.isEmpty()) {
            answerEarlyAndReset(m_current.url.mid(7).toInt());
            return;
        }
        next();
    }

    // A request with Upgrade and "Connection: upgrade": a WebSocket handshake on /ws/ is taken (after any
    // request queued before it is answered: they are not pipelined in the tests); elsewhere it is served
    // as a plain request and the connection closes after it.
    void upgrade(const QByteArray &after)
    {
        const Request request = m_queue.back();
        m_queue.pop_back();
        QByteArray key;
        QByteArray upgradeTo;
        for (const auto &h : request.headers) {
            if (h.first.compare("sec-websocket-key", Qt::CaseInsensitive) == 0)
                key = h.second;
            if (h.first.compare("upgrade", Qt::CaseInsensitive) == 0)
                upgradeTo = h.second.toLower();
        }
        ++g_requests;
        if (!request.url.startsWith("/ws/") || upgradeTo != "websocket" || key.isEmpty()) {
            Request plain = request;
            plain.keepAlive = false;
            m_queue.push_back(plain);
            next();
            return;
        }
        m_socket->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: " +
                        WebSocketEcho::acceptKey(key) + "\r\nX-Upstream-Name: " + g_name + "\r\n\r\n");
        disconnect(m_socket, nullptr, this, nullptr);
        new WebSocketEcho(m_socket, after);
        m_socket = nullptr;
        deleteLater();
    }

    void answerWithTrailingBytes(const Request &request, qint64 total)
    {
        const auto headFor = [](qint64 bodyLength) {
            return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                   QByteArray::number(bodyLength) + "\r\n\r\n";
        };
        qint64 bodyLength = total;
        while (headFor(bodyLength).size() + bodyLength != total && bodyLength > 0)
            bodyLength = qMax<qint64>(0, total - headFor(bodyLength).size());
        m_socket->write(headFor(bodyLength) + QByteArray(bodyLength, 'x') +
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nstale");
        done(request);
    }

    void answerEarlyAndReset(int status)
    {
        const QByteArray body = "{\"early\":" + QByteArray::number(status) + "}";
        m_socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) +
                        "\r\nContent-Type: application/json\r\nContent-Length: " +
                        QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        m_socket->flush();
        const struct linger reset = {1, 0};
        ::setsockopt(int(m_socket->socketDescriptor()), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ++g_requests;
        m_socket->abort();
        deleteLater();
    }

    void next()
    {
        if (m_busy || m_queue.empty())
            return;
        m_busy = true;
        const Request request = m_queue.front();
        m_queue.pop_front();
        serve(request);
    }

    void done(const Request &request)
    {
        ++g_requests;
        m_busy = false;
        if (!request.keepAlive) {
            m_socket->disconnectFromHost();
            return;
        }
        next();
    }

    void sendHead(const Request &request, int status, const QList<QPair<QByteArray, QByteArray>> &headers)
    {
        QByteArray head = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) +
                          "\r\nX-Upstream-Name: " + g_name + "\r\n";
        for (const auto &h : headers)
            head += h.first + ": " + h.second + "\r\n";
        if (!request.keepAlive)
            head += "Connection: close\r\n";
        head += "\r\n";
        m_socket->write(head);
    }

    void respond(const Request &request, int status, const QByteArray &contentType, const QByteArray &body)
    {
        QList<QPair<QByteArray, QByteArray>> headers;
        if (status != 204 && status != 304) {
            headers.append(qMakePair(QByteArray("Content-Type"), QByteArray(contentType)));
            headers.append(
                qMakePair(QByteArray("Content-Length"), QByteArray(QByteArray::number(body.size()))));
        }
        sendHead(request, status, headers);
        if (request.method != "HEAD" && status != 204 && status != 304)
            m_socket->write(body);
        done(request);
    }

    void echo(const Request &request)
    {
        QJsonObject headers;
        QJsonArray list;
        for (const auto &h : request.headers) {
            const QString name = QString::fromLatin1(h.first.toLower());
            const QString value = QString::fromLatin1(h.second);
            headers.insert(name, headers.contains(name)
                                     ? headers.value(name).toString() + QStringLiteral(", ") + value
                                     : value);
            list.append(QJsonArray{QString::fromLatin1(h.first), value});
        }
        QJsonObject o;
        o.insert(QStringLiteral("name"), QString::fromLatin1(g_name));
        o.insert(QStringLiteral("method"), QString::fromLatin1(request.method));
        o.insert(QStringLiteral("target"), QString::fromLatin1(request.url));
        o.insert(QStringLiteral("version"), QStringLiteral("1.%1").arg(request.versionMinor));
        o.insert(QStringLiteral("headers"), headers);
        o.insert(QStringLiteral("header_list"), list);
        o.insert(QStringLiteral("body_length"), double(request.bodyLength));
        o.insert(QStringLiteral("body_sha256"), QString::fromLatin1(request.bodySha256));
        o.insert(QStringLiteral("connection"), m_serial);
        o.insert(QStringLiteral("request_on_connection"), ++m_requestsHere);
        o.insert(QStringLiteral("peer"), m_socket->peerAddress().toString());
        respond(request, 200, "application/json", QJsonDocument(o).toJson(QJsonDocument::Compact));
    }

    void serve(const Request &request)
    {
        if (g_fixed.hang)
            return; // busy for good: what follows on this connection is read, never answered
        if (g_fixed.status != 0) {
            answerFixed(request);
            return;
        }
        const QByteArray path = request.url.split('?').first();
        const QUrlQuery query(QString::fromLatin1(request.url.mid(path.size() + 1)));
        const QList<QByteArray> parts = path.split('/');
        const QByteArray first = parts.value(1);
        const qint64 arg = parts.value(2).toLongLong();
        if (first == "status") {
            const int status = int(arg);
            respond(request, status, "application/json", "{\"status\":" + QByteArray::number(status) + "}");
        } else if (first == "delay") {
            QPointer<Connection> self(this);
            QTimer::singleShot(int(arg), this, [self, request] {
                if (self)
                    self->echo(request);
            });
        } else if (first == "slow-body") {
            sendHead(request, 200,
                     {qMakePair(QByteArray("Content-Type"), QByteArray("text/plain")),
                      qMakePair(QByteArray("Content-Length"), QByteArray("5"))});
            m_socket->flush();
            QPointer<Connection> self(this);
            QTimer::singleShot(int(arg), this, [self, request] {
                if (!self)
                    return;
                self->m_socket->write("hello");
                self->done(request);
            });
        } else if (first == "bytes") {
            startBytes(request, arg, query.queryItemValue(QStringLiteral("chunked")) == QLatin1String("1"),
                       false);
        } else if (first == "close-delimited") {
            startBytes(request, arg, false, true);
        } else if (first == "early") {
            answerEarlyAndReset(int(arg));
        } else if (first == "trailing-bytes") {
            answerWithTrailingBytes(request, arg);
        } else if (first == "close") {
            m_socket->abort();
            deleteLater();
        } else if (first == "stats") {
            respond(request, 200, "application/json",
                    "{\"connections\":" + QByteArray::number(g_connections) + ",\"requests\":" +
                        QByteArray::number(g_requests) + ",\"received\":" + QByteArray::number(g_received) +
                        ",\"open\":" + QByteArray::number(g_open) + "}");
        } else {
            echo(request);
        }
    }

    void answerFixed(Request request)
    {
        request.keepAlive = false;
        respond(request, g_fixed.status, "text/plain", "status " + QByteArray::number(g_fixed.status) + '\n');
    }

    void startBytes(const Request &request, qint64 length, bool chunked, bool closeDelimited)
    {
        m_streamRequest = request;
        m_streamTotal = length;
        m_streamSent = 0;
        m_streamChunked = chunked;
        m_streamClose = closeDelimited;
        m_streamHash.reset();
        QList<QPair<QByteArray, QByteArray>> headers{{"Content-Type", "application/octet-stream"}};
        if (chunked) {
            headers.append(qMakePair(QByteArray("Transfer-Encoding"), QByteArray("chunked")));
            headers.append(qMakePair(QByteArray("Trailer"), QByteArray("X-Sha256")));
        } else if (closeDelimited) {
            headers.append(qMakePair(QByteArray("Connection"), QByteArray("close")));
        } else {
            headers.append(qMakePair(QByteArray("Content-Length"), QByteArray(QByteArray::number(length))));
            headers.append(qMakePair(QByteArray("X-Sha256"), QByteArray(patternSha256(length))));
        }
        sendHead(request, 200, headers);
        if (request.method == "HEAD") {
            done(request);
            return;
        }
        m_streaming = true;
        pushBytes();
    }

    void pushBytes()
    {
        while (m_streaming && m_socket->bytesToWrite() < HighWater) {
            if (m_streamSent == m_streamTotal) {
                m_streaming = false;
                if (m_streamChunked)
                    m_socket->write("0\r\nX-Sha256: " + m_streamHash.result().toHex() + "\r\n\r\n");
                if (m_streamClose) {
                    m_socket->disconnectFromHost();
                    return;
                }
                done(m_streamRequest);
                return;
            }
            const qint64 n = qMin(WriteChunk, m_streamTotal - m_streamSent);
            const QByteArray piece = pattern(m_streamSent, n);
            m_streamHash.addData(piece);
            if (m_streamChunked)
                m_socket->write(QByteArray::number(n, 16) + "\r\n" + piece + "\r\n");
            else
                m_socket->write(piece);
            m_streamSent += n;
        }
    }

    void onBytesWritten()
    {
        if (m_streaming)
            pushBytes();
    }

    QTcpSocket *m_socket;
    int m_serial;
    int m_requestsHere = 0;
    llhttp_t m_parser;
    llhttp_settings_t m_settings;
    QCryptographicHash m_hash;
    Request m_current;
    std::deque<Request> m_queue;
    bool m_inField = false;
    bool m_busy = false;

    Request m_streamRequest;
    QCryptographicHash m_streamHash{QCryptographicHash::Sha256};
    qint64 m_streamTotal = 0;
    qint64 m_streamSent = 0;
    bool m_streamChunked = false;
    bool m_streamClose = false;
    bool m_streaming = false;
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOption({QStringLiteral("port"), QStringLiteral("Port (0: any)."), QStringLiteral("port"),
                      QStringLiteral("0")});
    parser.addOption({QStringLiteral("address"), QStringLiteral("Address."), QStringLiteral("address"),
                      QStringLiteral("127.0.0.1")});
    parser.addOption({QStringLiteral("name"), QStringLiteral("Name in answers."), QStringLiteral("name"),
                      QStringLiteral("upstream")});
    addFixedAnswerOptions(parser);
    parser.process(app);
    g_name = parser.value(QStringLiteral("name")).toUtf8();
    if (!readFixedAnswerOptions(parser))
        return 2;

    QTcpServer server;
    server.setMaxPendingConnections(1024);
    if (!server.listen(QHostAddress(parser.value(QStringLiteral("address"))),
                       quint16(parser.value(QStringLiteral("port")).toUInt()))) {
        std::fprintf(stderr, "cannot listen: %s\n", qPrintable(server.errorString()));
        return 1;
    }
    QObject::connect(&server, &QTcpServer::newConnection, &server, [&server] {
        while (QTcpSocket *socket = server.nextPendingConnection())
            new Connection(socket, ++g_connections);
    });
    std::printf("READY %d\n", int(server.serverPort()));
    std::fflush(stdout);
    return app.exec();
}
