// Tests the canonical JSON form and digest that live and persisted configurations are compared by.
#include "canonicaljson.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

namespace {

QJsonValue parse(const QByteArray &text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson("[" + text + "]", &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(error.errorString()));
    return document.array().at(0);
}

} // namespace

class TestCanonicalJson : public QObject
{
    Q_OBJECT

private slots:
    void sortsKeysWhateverTheInputOrder_data();
    void sortsKeysWhateverTheInputOrder();
    void compactWithoutWhitespace();
    void nonAsciiKeysSortByCodePoint();
    void parsedAndBuiltObjectsAgree();
    void matchesQtCompactForAsciiKeys();
    void numbers_data();
    void numbers();
    void escapesStrings();
    void idempotent();
    void scalars();
    void sha256KnownVector();
    void digestFollowsContentNotOrder();
    void typeNames();
};

void TestCanonicalJson::sortsKeysWhateverTheInputOrder_data()
{
    QTest::addColumn<QByteArray>("input");
    const QByteArray expected = R"({"a":1,"b":{"x":[{"m":1,"n":2}],"y":null},"c":[3,2,1]})";
    QTest::newRow("sorted") << expected;
    QTest::newRow("reversed") << QByteArray(R"({"c":[3,2,1],"b":{"y":null,"x":[{"n":2,"m":1}]},"a":1})");
    QTest::newRow("mixed") << QByteArray(R"({"b":{"x":[{"m":1,"n":2}],"y":null},"c":[3,2,1],"a":1})");
    QTest::newRow("spaced") << QByteArray("{ \"c\" : [ 3 , 2 , 1 ] ,\n \"a\" : 1 ,\t\"b\" : { \"y\" : null , "
                                          "\"x\" : [ { \"n\" : 2 , \"m\" : 1 } ] } }");
}

void TestCanonicalJson::sortsKeysWhateverTheInputOrder()
{
    QFETCH(QByteArray, input);
    QCOMPARE(CanonicalJson::serialize(parse(input)),
             QByteArray(R"({"a":1,"b":{"x":[{"m":1,"n":2}],"y":null},"c":[3,2,1]})"));
}

void TestCanonicalJson::compactWithoutWhitespace()
{
    const QJsonValue value = parse("{\n  \"k\" : [ 1, { \"v\" : \"a b\" } ],\n  \"e\" : { }\n}");
    QCOMPARE(CanonicalJson::serialize(value), QByteArray(R"({"e":{},"k":[1,{"v":"a b"}]})"));
}

void TestCanonicalJson::nonAsciiKeysSortByCodePoint()
{
    // b (U+0062) < é (U+00E9) < ａ (U+FF41) < 😀 (U+1F600): code point order, that is UTF-8 byte order.
    const QByteArray expected =
        "{\"b\":1,\"\xC3\xA9\":2,\"\xEF\xBD\x81\":3,\"\xF0\x9F\x98\x80\":{\"z\":2,\"\xC3\xA9\":1}}";
    const QByteArray shuffled =
        "{\"\xF0\x9F\x98\x80\":{\"\xC3\xA9\":1,\"z\":2},\"\xEF\xBD\x81\":3,\"b\":1,\"\xC3\xA9\":2}";
    QCOMPARE(CanonicalJson::serialize(parse(shuffled)), expected);
    QCOMPARE(CanonicalJson::serialize(parse(expected)), expected);
}

void TestCanonicalJson::parsedAndBuiltObjectsAgree()
{
    // Qt 6.4 keeps a parsed object's non-ASCII keys in a different order than inserts do; the canonical
    // form must not depend on how the object came to be.
    const QString smile = QString::fromUtf8("\xF0\x9F\x98\x80");
    const QString fullwidth = QString::fromUtf8("\xEF\xBD\x81");
    QJsonObject built;
    built.insert(smile, 1);
    built.insert(fullwidth, 2);
    built.insert(QStringLiteral("b"), 3);
    const QJsonValue parsed = parse("{\"\xEF\xBD\x81\":2,\"b\":3,\"\xF0\x9F\x98\x80\":1}");
    QCOMPARE(CanonicalJson::serialize(built), CanonicalJson::serialize(parsed));
    QCOMPARE(CanonicalJson::serialize(built),
             QByteArray("{\"b\":3,\"\xEF\xBD\x81\":2,\"\xF0\x9F\x98\x80\":1}"));
}

void TestCanonicalJson::matchesQtCompactForAsciiKeys()
{
    // For ASCII keys the form is the one QJsonDocument writes, so tools that use Qt's writer agree.
    const QByteArray text = R"({"z":{"b":[1,2.5,"x\"y"],"a":true},"a":null,"m":-7,"Z":"Q"})";
    const QJsonObject object = parse(text).toObject();
    QCOMPARE(CanonicalJson::serialize(object), QJsonDocument(object).toJson(QJsonDocument::Compact));
}

void TestCanonicalJson::numbers_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("integer") << QByteArray("42") << QByteArray("42");
    QTest::newRow("negative") << QByteArray("-3") << QByteArray("-3");
    QTest::newRow("zero") << QByteArray("0") << QByteArray("0");
    QTest::newRow("integral double") << QByteArray("1.0") << QByteArray("1");
    QTest::newRow("exponent") << QByteArray("1e2") << QByteArray("100");
    QTest::newRow("fraction") << QByteArray("1.50") << QByteArray("1.5");
    QTest::newRow("shortest") << QByteArray("0.1") << QByteArray("0.1");
    QTest::newRow("beyond 2^53 exact") << QByteArray("12345678901234567") << QByteArray("12345678901234567");
    QTest::newRow("huge") << QByteArray("1e300") << QByteArray("1e+300");
}

void TestCanonicalJson::numbers()
{
    QFETCH(QByteArray, input);
    QFETCH(QByteArray, expected);
    QCOMPARE(CanonicalJson::serialize(parse(input)), expected);
}

void TestCanonicalJson::escapesStrings()
{
    QJsonObject object;
    object.insert(QStringLiteral("s"), QString::fromUtf8("q\"b\\n\nt\tc\x01/\xC3\xA9"));
    const QByteArray canonical = CanonicalJson::serialize(object);
    QCOMPARE(canonical, QByteArray("{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001/\xC3\xA9\"}"));
    QCOMPARE(QJsonDocument::fromJson(canonical).object(), object);
}

void TestCanonicalJson::idempotent()
{
    const QByteArray text = "{\"r\":{\"12\":{\"uri\":\"/a*\",\"w\":[1.25,{\"\xC3\xA9\":null}]}},\"n\":1e2}";
    const QByteArray once = CanonicalJson::serialize(parse(text));
    QCOMPARE(CanonicalJson::serialize(parse(once)), once);
}

void TestCanonicalJson::scalars()
{
    QCOMPARE(CanonicalJson::serialize(QJsonValue(true)), QByteArray("true"));
    QCOMPARE(CanonicalJson::serialize(QJsonValue(false)), QByteArray("false"));
    QCOMPARE(CanonicalJson::serialize(QJsonValue()), QByteArray("null"));
    QCOMPARE(CanonicalJson::serialize(QJsonValue(QStringLiteral("x"))), QByteArray("\"x\""));
    QCOMPARE(CanonicalJson::serialize(QJsonArray()), QByteArray("[]"));
    QCOMPARE(CanonicalJson::serialize(QJsonObject()), QByteArray("{}"));
}

void TestCanonicalJson::sha256KnownVector()
{
    QCOMPARE(CanonicalJson::sha256Hex("abc"),
             QByteArray("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    QCOMPARE(CanonicalJson::sha256Hex(QByteArray()),
             QByteArray("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

void TestCanonicalJson::digestFollowsContentNotOrder()
{
    const auto digest = [](const QByteArray &text) {
        return CanonicalJson::sha256Hex(CanonicalJson::serialize(parse(text)));
    };
    const QByteArray a = digest(R"({"nodes":{"127.0.0.1:80":1},"type":"roundrobin"})");
    QCOMPARE(digest(R"({"type":"roundrobin","nodes":{"127.0.0.1:80":1}})"), a);
    QVERIFY(digest(R"({"type":"roundrobin","nodes":{"127.0.0.1:80":2}})") != a);
    QCOMPARE(a.size(), 64);
    QCOMPARE(a, a.toLower());
}

void TestCanonicalJson::typeNames()
{
    QCOMPARE(CanonicalJson::typeName(QJsonValue()), "null");
    QCOMPARE(CanonicalJson::typeName(QJsonValue(true)), "boolean");
    QCOMPARE(CanonicalJson::typeName(QJsonValue(1)), "number");
    QCOMPARE(CanonicalJson::typeName(QJsonValue(QStringLiteral("s"))), "string");
    QCOMPARE(CanonicalJson::typeName(QJsonArray()), "array");
    QCOMPARE(CanonicalJson::typeName(QJsonObject()), "object");
}

QTEST_GUILESS_MAIN(TestCanonicalJson)
#include "tst_canonicaljson.moc"
