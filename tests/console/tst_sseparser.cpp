// SseParser: events split across reads, comments, multi-line data, CRLF.
#include "sseparser.h"

#include <QTest>

class tst_SseParser : public QObject
{
    Q_OBJECT

private slots:
    void eventsAcrossReads();
    void commentsAndMultilineData();
};

void tst_SseParser::eventsAcrossReads()
{
    SseParser parser;
    QVERIFY(parser.feed("id: 1\nevent: sta").isEmpty());
    QVERIFY(parser.feed("te\ndata: {\"state\":").isEmpty());
    const QList<SseParser::Event> events = parser.feed("\"in_sync\"}\n\nevent: applied\r\ndata: {}\r\n\r\n");
    QCOMPARE(events.size(), 2);
    QCOMPARE(events[0].type, QByteArray("state"));
    QCOMPARE(events[0].id, QByteArray("1"));
    QCOMPARE(events[0].data, QByteArray("{\"state\":\"in_sync\"}"));
    QCOMPARE(events[1].type, QByteArray("applied"));
    QCOMPARE(parser.pending(), 0);
}

void tst_SseParser::commentsAndMultilineData()
{
    SseParser parser;
    const QList<SseParser::Event> events =
        parser.feed(": keepalive\n\ndata: a\ndata:b\n\nevent: x\n\ndata: c\n");
    // The keepalive and the event without data dispatch nothing; "c" waits for its blank line.
    QCOMPARE(events.size(), 1);
    QCOMPARE(events[0].type, QByteArray("message"));
    QCOMPARE(events[0].data, QByteArray("a\nb"));
    QCOMPARE(parser.feed("\n").size(), 1);
}

QTEST_APPLESS_MAIN(tst_SseParser)
#include "tst_sseparser.moc"
