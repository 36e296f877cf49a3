// HttpRequestParser on its own: bytes in, a validated head or a precise error out, with no socket.
#include "httprequestparser.h"

#include <QTest>

namespace {

struct Outcome
{
    int status = 0; // 0: the request parsed completely
    QByteArray reason;
    QByteArray method;
    QByteArray target;
    QByteArray path;
    QByteArray query;
    QByteArray authority;
    QByteArray host;
    QByteArray version;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    int messages = 0;
};

class Collector : public HttpRequestParser::BodySink
{
public:
    void parsedBody(QByteArrayView data) override { body.append(data.data(), data.size()); }
    QByteArray body;
};

// Feeds `input` in pieces of `step` bytes (0: all at once) until it is used up or the parser fails.
Outcome parse(const QByteArray &input, int step = 0, HttpLimits limits = {})
{
    Outcome out;
    HttpRequestParser parser(limits);
    Collector collector;
    parser.setBodySink(&collector);
    qsizetype pos = 0;
    qsizetype end = step > 0 ? qMin<qsizetype>(step, input.size()) : input.size();
    for (int guard = 0; guard < 100000; ++guard) {
        const qsizetype used = parser.parse(input.constData() + pos, end - pos);
        pos += used;
        const auto status = parser.status();
        if (status == HttpRequestParser::Status::Failed) {
            out.status = parser.errorStatus();
            out.reason = parser.errorReason();
            return out;
        }
        if (status == HttpRequestParser::Status::MessageComplete) {
            const HttpRequestHead &h = parser.head();
            ++out.messages;
            out.method = h.method.toByteArray();
            out.target = h.target;
            out.path = h.path.toByteArray();
            out.query = h.query.toByteArray();
            out.authority = h.authority;
            out.host = h.host.toByteArray();
            out.version = QByteArray::number(h.versionMajor) + '.' + QByteArray::number(h.versionMinor);
            out.headers.clear();
            for (int i = 0; i < h.headers.size(); ++i)
                out.headers.append({h.headers.name(i).toByteArray(), h.headers.value(i).toByteArray()});
            out.body = collector.body;
            collector.body.clear();
            if (pos == input.size())
                return out;
            continue;
        }
        if (status == HttpRequestParser::Status::HeadComplete || status == HttpRequestParser::Status::Paused)
            continue; // the rest (body, completion) on the next call
        if (pos == end) {
            if (end == input.size())
                return out; // incomplete
            end = step > 0 ? qMin<qsizetype>(end + step, input.size()) : input.size();
        }
    }
    return out;
}

QByteArray field(const Outcome &o, const QByteArray &name)
{
    for (const auto &h : o.headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return "<absent>";
}

} // namespace

class TestHttpParser : public QObject
{
    Q_OBJECT

private slots:
    void refused_data();
    void refused();
    void refusedByteByByte_data() { refused_data(); }
    void refusedByteByByte();
    void accepted_data();
    void accepted();
    void chunkedBodyDecoded();
    void pipelinedRequestsOneAtATime();
    void underscoreHeadersDroppedUnlessKept();
    void stopsAtTheHeadAndAtTheMessage();
    void upgradeLeavesTheBytesAfterTheHead();
};

static HttpLimits testLimits()
{
    HttpLimits limits;
    limits.maxHeaderBytes = 4096;
    limits.maxBodyBytes = 1000;
    return limits;
}

void TestHttpParser::refused_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("reason"); // a part of the precise error, or empty
    const QByteArray host = "Host: h\r\n";
    const QByteArray post = "POST / HTTP/1.1\r\n" + host;
    const QByteArray chunked = post + "Transfer-Encoding: chunked\r\n\r\n";
    // What Debian's lenient http-parser 2.9.4 accepted, and llhttp (strict) with our checks refuses.
    QTest::newRow("obs-fold after an empty value")
        << "GET / HTTP/1.1\r\n" + host + "X-Empty:\r\n folded\r\n\r\n"
        << 400 << QByteArray("folding");
    QTest::newRow("obs-fold after a value") << "GET / HTTP/1.1\r\n" + host + "X-Folded: a\r\n  b\r\n\r\n"
                                            << 400 << QByteArray("folding");
    QTest::newRow("folded content-length")
        << post + "X: 1\r\n Content-Length: 3\r\n\r\nabc" << 400 << QByteArray("folding");
    QTest::newRow("bare CR followed by a byte")
        << QByteArray("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n") << 400 << QByteArray("LF");
    QTest::newRow("CR LF CR X as end of head")
        << "GET / HTTP/1.1\r\n" + host + "\rX" << 400 << QByteArray("LF");
    QTest::newRow("3 CR X as chunk-size line") << chunked + "3\rXabc\r\n0\r\n\r\n" << 400 << QByteArray("LF");
    QTest::newRow("chunk longer than its size") << chunked + "3\r\nabcdef\r\n0\r\n\r\n"
                                                << 400 << QByteArray("CRLF");
    QTest::newRow("bare LF line ends") << QByteArray("GET / HTTP/1.1\nHost: h\n\n") << 400 << QByteArray();
    // Framing.
    QTest::newRow("content-length and transfer-encoding")
        << post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 400 << QByteArray();
    QTest::newRow("transfer-encoding and content-length")
        << post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        << 400 << QByteArray();
    QTest::newRow("duplicate content-length")
        << post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc" << 400 << QByteArray();
    QTest::newRow("content-length list") << post + "Content-Length: 3, 3\r\n\r\nabc" << 400 << QByteArray();
    QTest::newRow("content-length plus sign")
        << post + "Content-Length: +3\r\n\r\nabc" << 400 << QByteArray();
    QTest::newRow("content-length overflow")
        << post + "Content-Length: 99999999999999999999999\r\n\r\nabc" << 400 << QByteArray();
    QTest::newRow("transfer-encoding gzip, chunked")
        << post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
        << 501 << QByteArray("transfer coding");
    QTest::newRow("transfer-encoding gzip")
        << post + "Transfer-Encoding: gzip\r\n\r\nabc" << 501 << QByteArray("transfer coding");
    QTest::newRow("transfer-encoding twice")
        << post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        << 400 << QByteArray("Transfer-Encoding");
    QTest::newRow("transfer-encoding in HTTP/1.0")
        << "POST / HTTP/1.0\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        << 400 << QByteArray("HTTP/1.0");
    QTest::newRow("bad chunk size") << chunked + "zz\r\nabc\r\n0\r\n\r\n" << 400 << QByteArray();
    QTest::newRow("chunk size overflow") << chunked + "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n"
                                         << 400 << QByteArray();
    // Tokens and characters.
    QTest::newRow("space before colon")
        << QByteArray("GET / HTTP/1.1\r\nHost : h\r\n\r\n") << 400 << QByteArray();
    QTest::newRow("control character in value") << "GET / HTTP/1.1\r\n" + host + "X: a\x01" + "b\r\n\r\n"
                                                << 400 << QByteArray();
    QTest::newRow("bad method") << "G@T / HTTP/1.1\r\n" + host + "\r\n" << 400 << QByteArray();
    QTest::newRow("space in target") << "GET /a b HTTP/1.1\r\n" + host + "\r\n" << 400 << QByteArray();
    QTest::newRow("HTTP/2 version") << "GET / HTTP/2.0\r\n" + host + "\r\n" << 505 << QByteArray("version");
    QTest::newRow("CONNECT") << "CONNECT h:443 HTTP/1.1\r\n" + host + "\r\n" << 405 << QByteArray("CONNECT");
    // Host.
    QTest::newRow("missing host") << QByteArray("GET / HTTP/1.1\r\n\r\n") << 400 << QByteArray("Host");
    QTest::newRow("two hosts") << "GET / HTTP/1.1\r\n" + host + "Host: other\r\n\r\n"
                               << 400 << QByteArray("Host");
    QTest::newRow("host a.com:1@b.com")
        << QByteArray("GET / HTTP/1.1\r\nHost: a.com:1@b.com\r\n\r\n") << 400 << QByteArray("userinfo");
    QTest::newRow("host with userinfo")
        << QByteArray("GET / HTTP/1.1\r\nHost: user@a.com\r\n\r\n") << 400 << QByteArray("userinfo");
    QTest::newRow("host port too big")
        << QByteArray("GET / HTTP/1.1\r\nHost: a.com:65536\r\n\r\n") << 400 << QByteArray("port");
    QTest::newRow("host port not a number")
        << QByteArray("GET / HTTP/1.1\r\nHost: a.com:8x\r\n\r\n") << 400 << QByteArray("port");
    QTest::newRow("host empty port") << QByteArray("GET / HTTP/1.1\r\nHost: a.com:\r\n\r\n") << 400
                                     << QByteArray("port");
    QTest::newRow("host with slash") << QByteArray("GET / HTTP/1.1\r\nHost: a.com/x\r\n\r\n") << 400
                                     << QByteArray("character");
    QTest::newRow("host with space") << QByteArray("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") << 400
                                     << QByteArray("character");
    QTest::newRow("host empty") << QByteArray("GET / HTTP/1.1\r\nHost: \r\n\r\n") << 400
                                << QByteArray("empty");
    QTest::newRow("absolute form with userinfo")
        << QByteArray("GET http://u@a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n") << 400 << QByteArray("userinfo");
    QTest::newRow("bad ipv6 literal")
        << QByteArray("GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n") << 400 << QByteArray("IPv6");
    // Limits.
    QTest::newRow("oversized request line")
        << "GET /" + QByteArray(5000, 'a') + " HTTP/1.1\r\n" + host + "\r\n"
        << 431 << QByteArray("too large");
    QTest::newRow("many headers") << "GET / HTTP/1.1\r\n" + host +
                                         QByteArray("X-A: 1234567890\r\n").repeated(300) + "\r\n"
                                  << 431 << QByteArray("too large");
    QTest::newRow("body over limit") << post + "Content-Length: 1001\r\n\r\n"
                                     << 413 << QByteArray("too large");
    QTest::newRow("chunked body over limit") << chunked + "400\r\n" + QByteArray(1024, 'x') + "\r\n0\r\n\r\n"
                                             << 413 << QByteArray("too large");
}

void TestHttpParser::refused()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    const Outcome o = parse(request, 0, testLimits());
    QCOMPARE(o.status, status);
    QVERIFY2(!o.reason.isEmpty(), "an error names its reason");
    if (!reason.isEmpty())
        QVERIFY2(o.reason.contains(reason), o.reason.constData());
}

void TestHttpParser::refusedByteByByte()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QCOMPARE(parse(request, 1, testLimits()).status, status);
}

void TestHttpParser::accepted_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("what");
    QTest::addColumn<QByteArray>("expected");
    const QByteArray get = "GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n";
    QTest::newRow("method") << QByteArray("DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n") << QByteArray("method")
                            << QByteArray("DELETE");
    QTest::newRow("PURGE") << QByteArray("PURGE /d HTTP/1.1\r\nHost: h\r\n\r\n") << QByteArray("method")
                           << QByteArray("PURGE");
    QTest::newRow("path") << get << QByteArray("path") << QByteArray("/a/b");
    QTest::newRow("query") << get << QByteArray("query") << QByteArray("x=1&y");
    QTest::newRow("host without port") << QByteArray("GET / HTTP/1.1\r\nHost: Ex.COM:8080\r\n\r\n")
                                       << QByteArray("host") << QByteArray("Ex.COM");
    QTest::newRow("ipv6 host") << QByteArray("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
                               << QByteArray("host") << QByteArray("::1");
    QTest::newRow("host with underscore and tilde") << QByteArray("GET / HTTP/1.1\r\nHost: a_b~c.x\r\n\r\n")
                                                    << QByteArray("host") << QByteArray("a_b~c.x");
    QTest::newRow("absolute form overrides host")
        << QByteArray("GET http://abs.example:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n")
        << QByteArray("authority") << QByteArray("abs.example:81");
    QTest::newRow("absolute form target")
        << QByteArray("GET http://abs.example/p?q HTTP/1.1\r\nHost: o\r\n\r\n") << QByteArray("target")
        << QByteArray("/p?q");
    QTest::newRow("absolute form without path")
        << QByteArray("GET http://abs.example HTTP/1.1\r\nHost: o\r\n\r\n") << QByteArray("target")
        << QByteArray("/");
    QTest::newRow("http/1.0 without host")
        << QByteArray("GET /x HTTP/1.0\r\n\r\n") << QByteArray("version") << QByteArray("1.0");
    QTest::newRow("value trimmed") << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX-V: \t a b \t\r\n\r\n")
                                   << QByteArray("x-v") << QByteArray("a b");
    QTest::newRow("empty value then a field")
        << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\nX-F: f\r\n\r\n") << QByteArray("x-e")
        << QByteArray("");
    QTest::newRow("field after an empty value")
        << QByteArray("GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\nX-F: f\r\n\r\n") << QByteArray("x-f")
        << QByteArray("f");
    QTest::newRow("body") << QByteArray("PATCH / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
                          << QByteArray("body") << QByteArray("hello");
}

void TestHttpParser::accepted()
{
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, what);
    QFETCH(QByteArray, expected);
    for (int step : {0, 1, 7}) {
        const Outcome o = parse(request, step, testLimits());
        QCOMPARE(o.status, 0);
        QCOMPARE(o.messages, 1);
        QByteArray actual;
        if (what == "method")
            actual = o.method;
        else if (what == "path")
            actual = o.path;
        else if (what == "query")
            actual = o.query;
        else if (what == "host")
            actual = o.host;
        else if (what == "authority")
            actual = o.authority;
        else if (what == "target")
            actual = o.target;
        else if (what == "version")
            actual = o.version;
        else if (what == "body")
            actual = o.body;
        else
            actual = field(o, what);
        QCOMPARE(actual, expected);
    }
}

void TestHttpParser::chunkedBodyDecoded()
{
    const QByteArray request = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: ignored\r\n\r\n";
    for (int step : {0, 1, 3}) {
        const Outcome o = parse(request, step, testLimits());
        QCOMPARE(o.status, 0);
        QCOMPARE(o.body, QByteArray("hello world"));
        QCOMPARE(field(o, "x-trailer"), QByteArray("<absent>")); // trailers are not forwarded
    }
}

void TestHttpParser::pipelinedRequestsOneAtATime()
{
    QByteArray batch;
    for (int i = 0; i < 5; ++i)
        batch += "GET /" + QByteArray::number(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    HttpRequestParser parser(testLimits());
    qsizetype pos = 0;
    for (int i = 0; i < 5; ++i) {
        // Each call stops at the head, then the completion; the next request stays unread until asked.
        pos += parser.parse(batch.constData() + pos, batch.size() - pos);
        QCOMPARE(parser.status(), HttpRequestParser::Status::HeadComplete);
        QCOMPARE(parser.head().path, QByteArrayView("/" + QByteArray::number(i)));
        pos += parser.parse(batch.constData() + pos, batch.size() - pos);
        QCOMPARE(parser.status(), HttpRequestParser::Status::MessageComplete);
    }
    QCOMPARE(pos, batch.size());
}

void TestHttpParser::underscoreHeadersDroppedUnlessKept()
{
    const QByteArray request = "GET / HTTP/1.1\r\nHost: h\r\nX_Auth_User: admin\r\nX-Auth-User: bob\r\n\r\n";
    const Outcome dropped = parse(request, 0, testLimits());
    QCOMPARE(dropped.status, 0);
    QCOMPARE(field(dropped, "x_auth_user"), QByteArray("<absent>"));
    QCOMPARE(field(dropped, "x-auth-user"), QByteArray("bob"));
    HttpLimits keep = testLimits();
    keep.keepUnderscoreHeaders = true;
    const Outcome kept = parse(request, 1, keep);
    QCOMPARE(field(kept, "x_auth_user"), QByteArray("admin"));
}

void TestHttpParser::stopsAtTheHeadAndAtTheMessage()
{
    const QByteArray request =
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\n";
    HttpRequestParser parser(testLimits());
    Collector collector;
    parser.setBodySink(&collector);
    qsizetype pos = parser.parse(request.constData(), request.size());
    QCOMPARE(parser.status(), HttpRequestParser::Status::HeadComplete);
    QCOMPARE(request.sliced(pos, 3), QByteArray("abc")); // nothing of the body read before the caller said so
    QVERIFY(parser.head().hasBody());
    pos += parser.parse(request.constData() + pos, request.size() - pos);
    QCOMPARE(parser.status(), HttpRequestParser::Status::MessageComplete);
    QCOMPARE(collector.body, QByteArray("abc"));
    QVERIFY(request.sliced(pos).startsWith("GET /next"));
}

// An upgrade request is flagged and completes as a bodyless message; the bytes after its head (the first
// WebSocket frame, sent in the same packet) are not consumed: they belong to whoever takes the upgrade.
// Without the upgrade taken, they parse as the next request (the parser never sticks in llhttp's
// HPE_PAUSED_UPGRADE).
void TestHttpParser::upgradeLeavesTheBytesAfterTheHead()
{
    const QByteArray head =
        "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    const QByteArray frame("\x81\x85\x01\x02\x03\x04iiiii", 11);
    const QByteArray input = head + frame;
    HttpRequestParser parser(testLimits());
    qsizetype pos = parser.parse(input.constData(), input.size());
    QCOMPARE(parser.status(), HttpRequestParser::Status::HeadComplete);
    QVERIFY(parser.head().upgrade);
    QCOMPARE(pos, head.size());
    QVERIFY(parser.completesWithoutInput());
    pos += parser.parse(input.constData() + pos, 0);
    QCOMPARE(parser.status(), HttpRequestParser::Status::MessageComplete);
    QCOMPARE(pos, head.size());

    const Outcome plain =
        parse("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
              "\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
              0, testLimits());
    QCOMPARE(plain.status, 0);
    QCOMPARE(plain.messages, 2);
    QCOMPARE(plain.target, QByteArray("/next"));

    HttpRequestParser noUpgrade(testLimits());
    const QByteArray ordinary = "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n";
    noUpgrade.parse(ordinary.constData(), ordinary.size());
    QVERIFY(!noUpgrade.head().upgrade);
}

QTEST_GUILESS_MAIN(TestHttpParser)
#include "tst_httpparser.moc"
