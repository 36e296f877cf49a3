// ProtoWire: the protobuf wire format's known encodings, and malformed input read to a clear error.
#include "protowire.h"

#include <QRandomGenerator>
#include <QTest>

#include <limits>

class TestProtoWire : public QObject
{
    Q_OBJECT

private slots:
    void varintEncodings_data();
    void varintEncodings();
    void readsEveryWireType();
    void writtenFieldsReadBack();
    void emptyMessageHasNoFields();
    void malformed_data();
    void malformed();
    void wrongWireTypeNamesTheField();
    void randomBytesNeverReadOutside();
};

namespace {

QByteArray hex(const char *text)
{
    return QByteArray::fromHex(text);
}

} // namespace

void TestProtoWire::varintEncodings_data()
{
    QTest::addColumn<quint64>("value");
    QTest::addColumn<QByteArray>("encoded");
    // The encodings of protobuf's own documentation and the edges of each byte count.
    QTest::newRow("0") << quint64(0) << hex("00");
    QTest::newRow("1") << quint64(1) << hex("01");
    QTest::newRow("127") << quint64(127) << hex("7f");
    QTest::newRow("128") << quint64(128) << hex("8001");
    QTest::newRow("150") << quint64(150) << hex("9601");
    QTest::newRow("300") << quint64(300) << hex("ac02");
    QTest::newRow("2^32") << (quint64(1) << 32) << hex("8080808010");
    QTest::newRow("-1 as int64") << quint64(-1) << hex("ffffffffffffffffff01");
    QTest::newRow("2^63") << (quint64(1) << 63) << hex("80808080808080808001");
}

void TestProtoWire::varintEncodings()
{
    QFETCH(quint64, value);
    QFETCH(QByteArray, encoded);
    QByteArray out;
    ProtoWire::appendVarint(&out, value);
    QCOMPARE(out.toHex(), encoded.toHex());

    // Read back as the value of field 1.
    QByteArray message = hex("08") + encoded;
    ProtoWire::Reader reader(message, QStringLiteral("M"));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 1);
    QCOMPARE(reader.wireType(), ProtoWire::WireType::Varint);
    QCOMPARE(reader.varint(), value);
    QVERIFY(!reader.next());
    QVERIFY2(!reader.hasError(), qPrintable(reader.error()));
}

void TestProtoWire::readsEveryWireType()
{
    // field 1 varint 150; field 2 "testing"; field 3 fixed64; field 4 fixed32; field 2047 varint 1.
    const QByteArray message = hex("089601"
                                   "120774657374696e67"
                                   "190807060504030201"
                                   "2504030201"
                                   "f87f01");
    ProtoWire::Reader reader(message, QStringLiteral("M"));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 1);
    QCOMPARE(reader.varint(), quint64(150));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 2);
    QCOMPARE(reader.wireType(), ProtoWire::WireType::LengthDelimited);
    QCOMPARE(reader.bytes().toByteArray(), QByteArray("testing"));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 3);
    QCOMPARE(reader.wireType(), ProtoWire::WireType::Fixed64);
    QCOMPARE(reader.varint(), quint64(0x0102030405060708));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 4);
    QCOMPARE(reader.wireType(), ProtoWire::WireType::Fixed32);
    QCOMPARE(reader.varint(), quint64(0x01020304));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 2047);
    QCOMPARE(reader.varint(), quint64(1));
    QVERIFY(!reader.next());
    QVERIFY2(!reader.hasError(), qPrintable(reader.error()));
}

void TestProtoWire::writtenFieldsReadBack()
{
    QByteArray out;
    const QByteArray big(300, 'x'); // a length that takes two bytes
    ProtoWire::appendBytesField(&out, 1, "/apisix/");
    ProtoWire::appendBytesField(&out, 2, QByteArray());
    ProtoWire::appendVarintField(&out, 3, 10000);
    ProtoWire::appendBytesField(&out, 16, big); // a tag that takes two bytes
    QCOMPARE(out.left(10).toHex(), hex("0a082f6170697369782f").toHex());

    ProtoWire::Reader reader(out, QStringLiteral("M"));
    QVERIFY(reader.next());
    QCOMPARE(reader.bytes().toByteArray(), QByteArray("/apisix/"));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 2);
    QVERIFY(reader.bytes().isEmpty());
    QVERIFY(reader.next());
    QCOMPARE(reader.varint(), quint64(10000));
    QVERIFY(reader.next());
    QCOMPARE(reader.field(), 16);
    QCOMPARE(reader.bytes().toByteArray(), big);
    QVERIFY(!reader.next());
    QVERIFY(!reader.hasError());
}

void TestProtoWire::emptyMessageHasNoFields()
{
    ProtoWire::Reader reader(QByteArrayView(), QStringLiteral("M"));
    QVERIFY(!reader.next());
    QVERIFY(!reader.hasError());
}

void TestProtoWire::malformed_data()
{
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QString>("error");
    QTest::newRow("truncated tag") << hex("80") << QStringLiteral("M: truncated varint at byte 0");
    QTest::newRow("truncated varint value") << hex("0896") << QStringLiteral("M: truncated varint at byte 1");
    QTest::newRow("truncated after a good field") << hex("089601"
                                                         "08ff")
                                                  << QStringLiteral("M: truncated varint at byte 4");
    QTest::newRow("varint over 64 bits")
        << hex("08ffffffffffffffffff7f") << QStringLiteral("M: varint longer than 64 bits at byte 1");
    QTest::newRow("varint of 11 bytes")
        << hex("08ffffffffffffffffffff01") << QStringLiteral("M: varint longer than 64 bits at byte 1");
    QTest::newRow("length past the end")
        << hex("12077465")
        << QStringLiteral("M: field 2: length 7 runs past the end (2 bytes left) at byte 0");
    QTest::newRow("huge length") << hex("12ffffffffffffffff7f")
                                 << QStringLiteral("M: field 2: length 9223372036854775807 runs past the end "
                                                   "(0 bytes left) at byte 0");
    QTest::newRow("length missing") << hex("12") << QStringLiteral("M: truncated varint at byte 1");
    QTest::newRow("fixed64 short") << hex("0901020304")
                                   << QStringLiteral(
                                          "M: field 1: a 8-byte value runs past the end at byte 0");
    QTest::newRow("fixed32 short") << hex("0d0102")
                                   << QStringLiteral(
                                          "M: field 1: a 4-byte value runs past the end at byte 0");
    QTest::newRow("field 0") << hex("0001") << QStringLiteral("M: invalid field number 0 at byte 0");
    QTest::newRow("start group") << hex("0b")
                                 << QStringLiteral("M: field 1: unsupported wire type 3 at byte 0");
    QTest::newRow("end group") << hex("0c")
                               << QStringLiteral("M: field 1: unsupported wire type 4 at byte 0");
    QTest::newRow("wire type 6") << hex("0e")
                                 << QStringLiteral("M: field 1: unsupported wire type 6 at byte 0");
    QTest::newRow("wire type 7") << hex("0f")
                                 << QStringLiteral("M: field 1: unsupported wire type 7 at byte 0");
    QTest::newRow("field number too large")
        << hex("f8ffffff7f01") << QStringLiteral("M: invalid field number 4294967295 at byte 0");
}

void TestProtoWire::malformed()
{
    QFETCH(QByteArray, message);
    QFETCH(QString, error);
    ProtoWire::Reader reader(message, QStringLiteral("M"));
    int fields = 0;
    while (reader.next())
        ++fields;
    QVERIFY(reader.hasError());
    QVERIFY2(reader.error().startsWith(error), qPrintable(reader.error()));
    // After an error the reader stays at the end.
    QVERIFY(!reader.next());
    QVERIFY(fields <= 1);
}

void TestProtoWire::wrongWireTypeNamesTheField()
{
    const QByteArray message = hex("089601");
    // The element of a repeated field is named by its index, formatted only now that there is an error.
    ProtoWire::Reader reader(message, QStringLiteral("RangeResponse.kvs"), 3);
    QVERIFY(reader.next());
    QVERIFY(!reader.expect(ProtoWire::WireType::LengthDelimited));
    QCOMPARE(reader.error(),
             QStringLiteral("RangeResponse.kvs[3]: field 1: expected a length-delimited value, "
                            "got a varint one at byte 0"));
    QVERIFY(!reader.next());
}

void TestProtoWire::randomBytesNeverReadOutside()
{
    // Whatever the bytes, every field's value lies inside them and reading ends (an ASan build checks
    // the reads themselves).
    QRandomGenerator random(12);
    for (int round = 0; round < 20000; ++round) {
        QByteArray message(random.bounded(1, 40), Qt::Uninitialized);
        for (char &c : message)
            c = char(random.bounded(256));
        ProtoWire::Reader reader(message, QStringLiteral("M"));
        int fields = 0;
        while (reader.next()) {
            ++fields;
            QVERIFY(fields <= message.size());
            if (reader.wireType() == ProtoWire::WireType::LengthDelimited && !reader.bytes().isEmpty()) {
                QVERIFY(reader.bytes().data() >= message.constData());
                QVERIFY(reader.bytes().data() + reader.bytes().size() <=
                        message.constData() + message.size());
            }
        }
    }
}

QTEST_GUILESS_MAIN(TestProtoWire)
#include "tst_protowire.moc"
