// Tests for JsonDiff: pointers, kinds, order and the JSON shape the admin API serves.
#include "jsondiff.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

namespace {

// Any JSON text, scalars included (QJsonDocument only takes objects and arrays at the top).
QJsonValue json(const char *text)
{
    const QByteArray wrapped = QByteArrayLiteral("[") + QByteArray(text) + QByteArrayLiteral("]");
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(wrapped, &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON %s: %s", text, qPrintable(error.errorString()));
    return doc.array().at(0);
}

QString compact(const QJsonValue &value)
{
    if (value.isUndefined())
        return QStringLiteral("-");
    const QByteArray text = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(text.mid(1, text.size() - 2));
}

// "kind pointer old new", written without toJson so that these tests do not lean on it.
QStringList describe(const QList<JsonChange> &changes)
{
    QStringList lines;
    for (const JsonChange &c : changes) {
        lines.append(QStringLiteral("%1 %2 %3 %4")
                         .arg(QLatin1String(JsonChange::kindName(c.kind)), c.pointer, compact(c.oldValue),
                              compact(c.newValue)));
    }
    return lines;
}

QStringList diff(const char *from, const char *to)
{
    return describe(JsonDiff::diff(json(from), json(to)));
}

QStringList lines(std::initializer_list<const char *> items)
{
    QStringList out;
    for (const char *item : items)
        out.append(QString::fromUtf8(item));
    return out;
}

} // namespace

class TestJsonDiff : public QObject
{
    Q_OBJECT

private slots:
    void identicalDocumentsGiveNoChange_data();
    void identicalDocumentsGiveNoChange();
    void differentDocumentsAreNeverEmpty();
    void numbersCompareByValue();
    void topLevelAddedRemovedChanged();
    void nestedAddedRemovedChanged();
    void nestedArraysAndObjects();
    void arrayGrows();
    void arrayShrinks();
    void typeChangeIsChangedAtThatPointer();
    void rootChanges();
    void pointerEscaping();
    void orderIsSortedAndStable();
    void arrayIndicesAscendNumerically();
    void toJsonShape();
    void kindNames();
};

void TestJsonDiff::identicalDocumentsGiveNoChange_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("object") << QByteArrayLiteral(
        R"({"routes":{"1":{"uri":"/a","methods":["GET"],"plugins":{"x":{"n":[1,2,{"k":null}]}}}},"n":1.5})");
    QTest::newRow("array") << QByteArrayLiteral(R"([1,"two",true,null,[],{}])");
    QTest::newRow("string") << QByteArrayLiteral(R"("text")");
    QTest::newRow("number") << QByteArrayLiteral("42");
    QTest::newRow("null") << QByteArrayLiteral("null");
}

void TestJsonDiff::identicalDocumentsGiveNoChange()
{
    QFETCH(QByteArray, text);
    // Two separate parses share no data, so equality has to be found by comparing.
    QCOMPARE(describe(JsonDiff::diff(json(text.constData()), json(text.constData()))), QStringList());
    const QJsonValue value = json(text.constData());
    QCOMPARE(describe(JsonDiff::diff(value, value)), QStringList());
}

void TestJsonDiff::differentDocumentsAreNeverEmpty()
{
    // Guards the fast path for equal subtrees: a difference deep inside must still be found.
    QCOMPARE(diff(R"({"a":{"b":{"c":[1,{"d":"x"}]}}})", R"({"a":{"b":{"c":[1,{"d":"y"}]}}})"),
             lines({R"(changed /a/b/c/1/d "x" "y")"}));
}

void TestJsonDiff::numbersCompareByValue()
{
    // The parser keeps 1 as an integer and 1.0 as a double; Qt's container equality tells them apart,
    // the diff must not report them as a change.
    QCOMPARE(diff(R"({"a":[1,{"b":2}]})", R"({"a":[1.0,{"b":2.0}]})"), QStringList());
    QCOMPARE(describe(JsonDiff::diff(QJsonValue(1), QJsonValue(1.0))), QStringList());
    QCOMPARE(diff(R"({"a":1})", R"({"a":1.5})"), lines({"changed /a 1 1.5"}));
}

void TestJsonDiff::topLevelAddedRemovedChanged()
{
    QCOMPARE(diff(R"({"a":1,"b":2,"c":3})", R"({"b":2,"c":4,"d":"new"})"),
             lines({"removed /a 1 -", "changed /c 3 4", R"(added /d - "new")"}));
    QCOMPARE(diff(R"({"a":null})", R"({})"), lines({"removed /a null -"}));
    QCOMPARE(diff(R"({})", R"({"a":null})"), lines({"added /a - null"}));
    QCOMPARE(diff(R"({"a":null})", R"({"a":false})"), lines({"changed /a null false"}));
}

void TestJsonDiff::nestedAddedRemovedChanged()
{
    const char *from = R"({"routes":{"1":{"uri":"/a","name":"one","plugins":{"cors":{}}}},"upstreams":{}})";
    const char *to =
        R"({"routes":{"1":{"uri":"/b","plugins":{"cors":{"max_age":5}},"status":0}},"upstreams":{}})";
    QCOMPARE(diff(from, to), lines({
                                 R"(removed /routes/1/name "one" -)",
                                 "added /routes/1/plugins/cors/max_age - 5",
                                 "added /routes/1/status - 0",
                                 R"(changed /routes/1/uri "/a" "/b")",
                             }));
    // A whole object added or removed is one change carrying the object, not one per member.
    QCOMPARE(diff(R"({"routes":{}})", R"({"routes":{"2":{"uri":"/x"}}})"),
             lines({R"(added /routes/2 - {"uri":"/x"})"}));
    QCOMPARE(diff(R"({"routes":{"2":{"uri":"/x"}}})", R"({"routes":{}})"),
             lines({R"(removed /routes/2 {"uri":"/x"} -)"}));
}

void TestJsonDiff::nestedArraysAndObjects()
{
    const char *from = R"({"nodes":[{"host":"a","weight":1},{"host":"b","weight":1}],"m":[[1,2],[3]]})";
    const char *to =
        R"({"nodes":[{"host":"a","weight":1},{"host":"b","weight":5,"port":81}],"m":[[1,2],[3,4]]})";
    QCOMPARE(diff(from, to), lines({
                                 "added /m/1/1 - 4",
                                 "added /nodes/1/port - 81",
                                 "changed /nodes/1/weight 1 5",
                             }));
}

void TestJsonDiff::arrayGrows()
{
    QCOMPARE(diff("[1,2]", "[1,2,3,[4]]"), lines({"added /2 - 3", "added /3 - [4]"}));
    QCOMPARE(diff(R"({"a":[]})", R"({"a":["x"]})"), lines({R"(added /a/0 - "x")"}));
}

void TestJsonDiff::arrayShrinks()
{
    QCOMPARE(diff("[1,2,3,4]", "[1,5]"), lines({"changed /1 2 5", "removed /2 3 -", "removed /3 4 -"}));
    QCOMPARE(diff(R"({"a":["x"]})", R"({"a":[]})"), lines({R"(removed /a/0 "x" -)"}));
}

void TestJsonDiff::typeChangeIsChangedAtThatPointer()
{
    QCOMPARE(diff(R"({"x":{"a":1}})", R"({"x":[1]})"), lines({R"(changed /x {"a":1} [1])"}));
    QCOMPARE(diff(R"({"x":[1]})", R"({"x":{"0":1}})"), lines({R"(changed /x [1] {"0":1})"}));
    QCOMPARE(diff(R"({"port":80})", R"({"port":"80"})"), lines({R"(changed /port 80 "80")"}));
    QCOMPARE(diff(R"([true])", R"([1])"), lines({"changed /0 true 1"}));
    QCOMPARE(diff(R"([null])", R"([0])"), lines({"changed /0 null 0"}));
}

void TestJsonDiff::rootChanges()
{
    QCOMPARE(diff("{}", "[]"), lines({"changed  {} []"}));
    QCOMPARE(diff("1", "2"), lines({"changed  1 2"}));
    const QJsonValue absent(QJsonValue::Undefined);
    QCOMPARE(describe(JsonDiff::diff(absent, json(R"({"a":1})"))), lines({R"(added  - {"a":1})"}));
    QCOMPARE(describe(JsonDiff::diff(json("[1]"), absent)), lines({"removed  [1] -"}));
    QCOMPARE(describe(JsonDiff::diff(absent, absent)), QStringList());
}

void TestJsonDiff::pointerEscaping()
{
    QCOMPARE(diff(R"({"a/b":1,"m~n":1,"~1":1,"plain":1})", R"({"a/b":2,"m~n":2,"~1":2,"plain":1})"),
             lines({"changed /a~1b 1 2", "changed /m~0n 1 2", "changed /~01 1 2"}));
    QCOMPARE(diff(R"({"/":{"~":[0]}})", R"({"/":{"~":[0,1]}})"), lines({"added /~1/~0/1 - 1"}));
    QCOMPARE(diff(R"({})", R"({"":1})"), lines({"added / - 1"}));
    QCOMPARE(JsonDiff::escapePointerToken(QStringLiteral("~/a/~")), QStringLiteral("~0~1a~1~0"));
    QCOMPARE(JsonDiff::escapePointerToken(QStringLiteral("plain")), QStringLiteral("plain"));
}

void TestJsonDiff::orderIsSortedAndStable()
{
    // Members inserted in reverse order, so any insertion-ordered walk would come out backwards.
    QJsonObject from;
    QJsonObject to;
    const QStringList keys{QStringLiteral("zeta"), QStringLiteral("b"), QStringLiteral("a10"),
                           QStringLiteral("a2"),   QStringLiteral("B"), QStringLiteral("a")};
    for (qsizetype i = 0; i < keys.size(); ++i) {
        from.insert(keys.at(i), QJsonObject{{QStringLiteral("v"), 1}, {QStringLiteral("w"), 1}});
        to.insert(keys.at(i), QJsonObject{{QStringLiteral("w"), 2}, {QStringLiteral("v"), 2}});
    }
    to.remove(QStringLiteral("a2"));
    to.insert(QStringLiteral("a3"), 0);
    from.insert(QStringLiteral("a1"), 0);

    const QList<JsonChange> first = JsonDiff::diff(from, to);
    const QList<JsonChange> second = JsonDiff::diff(from, to);
    QCOMPARE(describe(second), describe(first));

    QStringList pointers;
    for (const JsonChange &c : first)
        pointers.append(c.pointer);
    QCOMPARE(pointers, lines({"/B/v", "/B/w", "/a/v", "/a/w", "/a1", "/a10/v", "/a10/w", "/a2", "/a3", "/b/v",
                              "/b/w", "/zeta/v", "/zeta/w"}));
}

void TestJsonDiff::arrayIndicesAscendNumerically()
{
    QJsonArray from;
    QJsonArray to;
    for (int i = 0; i < 12; ++i) {
        from.append(i);
        to.append(i + 100);
    }
    to.append(7);
    QStringList pointers;
    for (const JsonChange &c : JsonDiff::diff(from, to))
        pointers.append(c.pointer);
    QCOMPARE(pointers,
             lines({"/0", "/1", "/2", "/3", "/4", "/5", "/6", "/7", "/8", "/9", "/10", "/11", "/12"}));
}

void TestJsonDiff::toJsonShape()
{
    const QJsonArray out = JsonDiff::toJson(
        JsonDiff::diff(json(R"({"a":null,"b":1,"c":{"x":1}})"), json(R"({"b":2,"c":{"x":1},"d":[1]})")));
    const QJsonArray expected = json(R"([
        {"pointer": "/a", "kind": "removed", "old": null},
        {"pointer": "/b", "kind": "changed", "old": 1, "new": 2},
        {"pointer": "/d", "kind": "added", "new": [1]}
    ])")
                                    .toArray();
    QCOMPARE(QJsonDocument(out).toJson(QJsonDocument::Compact),
             QJsonDocument(expected).toJson(QJsonDocument::Compact));
    // A removed null still carries "old": an absent value and a null one are not the same.
    QVERIFY(out.at(0).toObject().contains(QStringLiteral("old")));
    QVERIFY(!out.at(0).toObject().contains(QStringLiteral("new")));
    QVERIFY(!out.at(2).toObject().contains(QStringLiteral("old")));
    QCOMPARE(JsonDiff::toJson({}), QJsonArray());
}

void TestJsonDiff::kindNames()
{
    QCOMPARE(JsonChange::kindName(JsonChange::Kind::Added), "added");
    QCOMPARE(JsonChange::kindName(JsonChange::Kind::Removed), "removed");
    QCOMPARE(JsonChange::kindName(JsonChange::Kind::Changed), "changed");
}

QTEST_GUILESS_MAIN(TestJsonDiff)
#include "tst_jsondiff.moc"
