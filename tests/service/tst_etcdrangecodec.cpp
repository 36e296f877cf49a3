// EtcdRangeCodec: RangeRequest bytes as etcd reads them, a RangeResponse captured from etcd 3.4, and
// malformed answers refused with an error naming the message and byte.
#include "etcdrangecodec.h"

#include <QJsonDocument>
#include <QTest>

class TestEtcdRangeCodec : public QObject
{
    Q_OBJECT

private slots:
    void encodesRequest();
    void leavesDefaultFieldsOut();
    void decodesEtcdAnswer();
    void jsonAnswerDecodesTheSame();
    void skipsUnknownFields();
    void malformedAnswers_data();
    void malformedAnswers();
};

namespace {

// RangeRequest{key "/apisix/", range_end "/apisix0"} answered by etcd 3.4.23 over gRPC (the frame's
// message): header {cluster_id, member_id, revision 3, raft_term 2}, kvs /apisix/routes/1 (mod 2) and
// /apisix/routes/2 (mod 3), count 2.
const char *const EtcdAnswer = "0a1a08aaf4e5f599f3ebe7d101108df2f48ec1f7a6d7bd0118032002"
                               "12260a102f6170697369782f726f757465732f31100218022001"
                               "2a0c7b22757269223a222f61227d"
                               "12260a102f6170697369782f726f757465732f32100318032001"
                               "2a0c7b22757269223a222f62227d"
                               "2002";

} // namespace

void TestEtcdRangeCodec::encodesRequest()
{
    EtcdRangeRequest request;
    request.key = "/apisix/";
    request.rangeEnd = "/apisix0";
    request.limit = 10000;
    request.revision = 300;
    // key=1 bytes, range_end=2 bytes, limit=3 varint, revision=4 varint (etcd's rpc.proto).
    QCOMPARE(EtcdRangeCodec::encodeRequest(request).toHex(), QByteArray("0a082f6170697369782f"
                                                                        "12082f61706973697830"
                                                                        "18904e"
                                                                        "20ac02"));
}

void TestEtcdRangeCodec::leavesDefaultFieldsOut()
{
    EtcdRangeRequest request;
    request.key = "k";
    QCOMPARE(EtcdRangeCodec::encodeRequest(request).toHex(), QByteArray("0a016b"));
    const QJsonObject json = EtcdRangeCodec::requestToJson(request);
    QVERIFY(!json.contains(QLatin1String("limit")));
    QVERIFY(!json.contains(QLatin1String("revision")));
}

void TestEtcdRangeCodec::decodesEtcdAnswer()
{
    EtcdRangePage page;
    QString error;
    QVERIFY2(EtcdRangeCodec::decodeResponse(QByteArray::fromHex(EtcdAnswer), &page, &error),
             qPrintable(error));
    QCOMPARE(page.revision, qint64(3));
    QCOMPARE(page.clusterId, QStringLiteral("15118495548433857066"));
    QCOMPARE(page.more, false);
    QCOMPARE(page.kvs.size(), 2);
    QCOMPARE(page.kvs.at(0).key, QByteArray("/apisix/routes/1"));
    QCOMPARE(page.kvs.at(0).value, QByteArray(R"({"uri":"/a"})"));
    QCOMPARE(page.kvs.at(0).modRevision, qint64(2));
    QCOMPARE(page.kvs.at(1).key, QByteArray("/apisix/routes/2"));
    QCOMPARE(page.kvs.at(1).modRevision, qint64(3));
}

void TestEtcdRangeCodec::jsonAnswerDecodesTheSame()
{
    // The gateway's rendering of the same answer (uint64 and int64 as strings, bytes as base64).
    const QJsonObject body = QJsonDocument::fromJson(R"({
        "header": {"cluster_id": "15118495548433857066", "member_id": "13668033151171901709",
                   "revision": "3", "raft_term": "2"},
        "kvs": [{"key": "L2FwaXNpeC9yb3V0ZXMvMQ==", "create_revision": "2", "mod_revision": "2",
                 "version": "1", "value": "eyJ1cmkiOiIvYSJ9"},
                {"key": "L2FwaXNpeC9yb3V0ZXMvMg==", "create_revision": "3", "mod_revision": "3",
                 "version": "1", "value": "eyJ1cmkiOiIvYiJ9"}],
        "count": "2"})")
                                 .object();
    const EtcdRangePage json = EtcdRangeCodec::pageFromJson(body);
    EtcdRangePage grpc;
    QString error;
    QVERIFY(EtcdRangeCodec::decodeResponse(QByteArray::fromHex(EtcdAnswer), &grpc, &error));
    QCOMPARE(json.revision, grpc.revision);
    QCOMPARE(json.clusterId, grpc.clusterId);
    QCOMPARE(json.more, grpc.more);
    QCOMPARE(json.kvs.size(), grpc.kvs.size());
    for (qsizetype i = 0; i < json.kvs.size(); ++i) {
        QCOMPARE(json.kvs.at(i).key, grpc.kvs.at(i).key);
        QCOMPARE(json.kvs.at(i).value, grpc.kvs.at(i).value);
        QCOMPARE(json.kvs.at(i).modRevision, grpc.kvs.at(i).modRevision);
    }
}

void TestEtcdRangeCodec::skipsUnknownFields()
{
    // A later etcd may add fields; a fixed64 field 15 and a bytes field 16 at the top and in a kv.
    const QByteArray message = QByteArray::fromHex("790102030405060708"
                                                   "820103616263"
                                                   "120f0a016b2a0176790807060504030201"
                                                   "1801");
    EtcdRangePage page;
    QString error;
    QVERIFY2(EtcdRangeCodec::decodeResponse(message, &page, &error), qPrintable(error));
    QCOMPARE(page.kvs.size(), 1);
    QCOMPARE(page.kvs.at(0).key, QByteArray("k"));
    QCOMPARE(page.kvs.at(0).value, QByteArray("v"));
    QCOMPARE(page.more, true);
}

void TestEtcdRangeCodec::malformedAnswers_data()
{
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QString>("error");
    const QByteArray answer = QByteArray::fromHex(EtcdAnswer);
    QTest::newRow("cut inside a kv") << answer.left(60)
                                     << QStringLiteral("RangeResponse: field 2: length 38 runs past the end");
    QTest::newRow("cut inside the header")
        << answer.left(10) << QStringLiteral("RangeResponse: field 1: length 26 runs past the end");
    // A kv whose inner length claims more than the kv holds.
    QTest::newRow("kv key past its kv") << QByteArray::fromHex("12030a056b")
                                        << QStringLiteral("RangeResponse.kvs[0]: field 1: length 5 runs past "
                                                          "the end (1 bytes left) at byte 0");
    QTest::newRow("key as a varint") << QByteArray::fromHex("1202"
                                                            "0801")
                                     << QStringLiteral("RangeResponse.kvs[0]: field 1: expected a "
                                                       "length-delimited value, got a varint one at byte 0");
    QTest::newRow("header as a varint")
        << QByteArray::fromHex("0801")
        << QStringLiteral("RangeResponse: field 1: expected a length-delimited");
    QTest::newRow("truncated revision in the header")
        << QByteArray::fromHex("0a021880")
        << QStringLiteral("RangeResponse.header: truncated varint at byte 1");
    QTest::newRow("HTML instead of protobuf")
        << QByteArray("<html>")
        << QStringLiteral("RangeResponse: field 7: unsupported wire type 4 at byte 0");
}

void TestEtcdRangeCodec::malformedAnswers()
{
    QFETCH(QByteArray, message);
    QFETCH(QString, error);
    EtcdRangePage page;
    QString why;
    QVERIFY(!EtcdRangeCodec::decodeResponse(message, &page, &why));
    QVERIFY2(why.startsWith(error), qPrintable(why));
}

QTEST_GUILESS_MAIN(TestEtcdRangeCodec)
#include "tst_etcdrangecodec.moc"
