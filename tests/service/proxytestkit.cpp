#include "proxytestkit.h"

#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QFile>
#include <QJsonDocument>
#include <QTest>

#include <llhttp.h>

namespace ProxyTestKit {

namespace {

struct ParseState
{
    Response *response;
    QCryptographicHash hash{QCryptographicHash::Sha256};
    bool keepBody = true;
    bool headRequest = false;
    bool inField = false;
    bool inBody = false;
    bool done = false;

    QList<QPair<QByteArray, QByteArray>> &fields() { return inBody ? response->trailers : response->headers; }
};

ParseState *state(llhttp_t *p)
{
    return static_cast<ParseState *>(p->data);
}

const llhttp_settings_t &settings()
{
    static const llhttp_settings_t s = [] {
        llhttp_settings_t x;
        llhttp_settings_init(&x);
        x.on_header_field = [](llhttp_t *p, const char *at, size_t n) {
            ParseState *st = state(p);
            if (!st->inField)
                st->fields().append(QPair<QByteArray, QByteArray>());
            st->inField = true;
            st->fields().last().first.append(at, qsizetype(n));
            return 0;
        };
        x.on_header_field_complete = [](llhttp_t *p) {
            state(p)->inField = false;
            return 0;
        };
        x.on_header_value = [](llhttp_t *p, const char *at, size_t n) {
            ParseState *st = state(p);
            st->fields().last().second.append(at, qsizetype(n));
            return 0;
        };
        x.on_headers_complete = [](llhttp_t *p) {
            ParseState *st = state(p);
            st->response->status = int(p->status_code);
            st->response->minorVersion = p->http_minor;
            st->inBody = true;
            if (p->status_code / 100 == 1)
                return 1; // 100 Continue: the final response follows
            return st->headRequest ? 1 : 0;
        };
        x.on_body = [](llhttp_t *p, const char *at, size_t n) {
            ParseState *st = state(p);
            Response *r = st->response;
            const QByteArrayView data(at, qsizetype(n));
            for (qsizetype i = 0; i < data.size() && r->patternOk; ++i) {
                if (data[i] != char((r->bodyLength + i) % 251))
                    r->patternOk = false;
            }
            r->bodyLength += qint64(n);
            st->hash.addData(data);
            if (st->keepBody)
                r->body.append(data);
            return 0;
        };
        x.on_message_complete = [](llhttp_t *p) {
            ParseState *st = state(p);
            if (st->response->status / 100 == 1) {
                *st->response = Response();
                st->inBody = false;
                return 0;
            }
            st->done = true;
            return int(HPE_PAUSED);
        };
        return x;
    }();
    return s;
}

} // namespace

QByteArray Response::header(const QByteArray &name) const
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

QByteArray Response::trailer(const QByteArray &name) const
{
    for (const auto &h : trailers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

QJsonObject Response::json() const
{
    return QJsonDocument::fromJson(body).object();
}

Client::Client() = default;
Client::~Client() = default;

bool Client::connectTo(quint16 port)
{
    // Bounded like the gateway's own sockets: the memory suites measure this process, and a client
    // that pulls everything the kernel holds (tcp_rmem allows 32 MB here) would be what they measure.
    m_socket.setReadBufferSize(256 * 1024);
    m_socket.connectToHost(QHostAddress::LocalHost, port);
    return m_socket.waitForConnected(5000);
}

void Client::send(const QByteArray &raw)
{
    m_socket.write(raw);
    while (m_socket.bytesToWrite() > 0 && m_socket.state() == QAbstractSocket::ConnectedState) {
        if (!m_socket.waitForBytesWritten(10000))
            break;
    }
}

bool Client::read(Response *response, int timeoutMs, bool headRequest, bool keepBody)
{
    *response = Response();
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &settings());
    ParseState st;
    st.response = response;
    st.keepBody = keepBody;
    st.headRequest = headRequest;
    parser.data = &st;
    QDeadlineTimer deadline(timeoutMs);
    bool eof = false;
    while (!st.done) {
        if (m_pending.isEmpty()) {
            if (eof)
                break;
            if (m_socket.bytesAvailable() == 0 &&
                !m_socket.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime())))) {
                if (m_socket.state() != QAbstractSocket::ConnectedState || deadline.hasExpired()) {
                    eof = m_socket.state() != QAbstractSocket::ConnectedState;
                    if (!eof)
                        return false;
                }
            }
            m_pending = m_socket.readAll();
            if (m_pending.isEmpty() && m_socket.state() != QAbstractSocket::ConnectedState) {
                // End of stream: completes a close-delimited body.
                llhttp_finish(&parser);
                break;
            }
        }
        const auto err = llhttp_execute(&parser, m_pending.constData(), size_t(m_pending.size()));
        if (err != HPE_OK && err != HPE_PAUSED)
            return false;
        const qsizetype n = err == HPE_PAUSED
                                ? qsizetype(llhttp_get_error_pos(&parser) - m_pending.constData())
                                : m_pending.size();
        m_pending.remove(0, n);
        if (err == HPE_PAUSED)
            break;
    }
    response->bodySha256 = st.hash.result().toHex();
    return st.done;
}

QByteArray Client::readUntil(const QByteArray &marker, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!m_pending.contains(marker) && !deadline.hasExpired()) {
        if (m_socket.bytesAvailable() == 0)
            m_socket.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime())));
        m_pending += m_socket.readAll();
        if (m_socket.state() != QAbstractSocket::ConnectedState && m_socket.bytesAvailable() == 0)
            break;
    }
    const qsizetype at = m_pending.indexOf(marker);
    if (at < 0)
        return {};
    const QByteArray result = m_pending.left(at + marker.size());
    m_pending.remove(0, at + marker.size());
    return result;
}

bool Client::waitClosed(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (m_socket.state() == QAbstractSocket::ConnectedState && !deadline.hasExpired()) {
        m_socket.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime())));
        m_pending += m_socket.readAll();
    }
    return m_socket.state() != QAbstractSocket::ConnectedState;
}

Response get(quint16 port, const QByteArray &path, const QByteArray &host, const QByteArray &extraHeaders)
{
    Client client;
    Response response;
    if (!client.connectTo(port))
        return response;
    client.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + extraHeaders + "\r\n");
    client.read(&response);
    return response;
}

bool UpstreamProcess::start(const QString &name, quint16 port)
{
    if (!m_process.start(TestSupport::builtProgram(QStringLiteral("holdfast_test_upstream")),
                         {QStringLiteral("--port"), QString::number(port), QStringLiteral("--name"), name}))
        return false;
    QDeadlineTimer deadline(10000);
    while (!deadline.hasExpired()) {
        const QByteArray out = m_process.output();
        const qsizetype at = out.indexOf("READY ");
        if (at >= 0 && out.indexOf('\n', at) > at) {
            m_port = quint16(out.mid(at + 6, out.indexOf('\n', at) - at - 6).trimmed().toUInt());
            return m_port != 0;
        }
        if (!m_process.isRunning())
            return false;
        m_process.process()->waitForReadyRead(200);
    }
    return false;
}

int UpstreamProcess::requestsReceived()
{
    const int received = get(m_port, "/stats").json().value(QStringLiteral("received")).toInt();
    return received - ++m_statsReadings;
}

SnapshotPtr snapshot(const QByteArray &json)
{
    ValidationErrors errors;
    const SnapshotPtr result = ConfigSnapshot::fromJson(QJsonDocument::fromJson(json).object(), &errors);
    for (const ValidationError &error : errors)
        qWarning() << "config error:" << error.toString();
    return result;
}

QByteArray sha256Hex(const QByteArray &data)
{
    return QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex();
}

QByteArray pattern(qint64 offset, qint64 length)
{
    QByteArray out(length, Qt::Uninitialized);
    for (qint64 i = 0; i < length; ++i)
        out[i] = char((offset + i) % 251);
    return out;
}

qint64 peakRssKb()
{
    QFile file(QStringLiteral("/proc/self/status"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    }
    return -1;
}

} // namespace ProxyTestKit
