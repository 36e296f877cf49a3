// Tests building a configuration snapshot: collections, ids, references, canonical form and digest.
#include "canonicaljson.h"
#include "configsnapshot.h"
#include "configvalidator.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

namespace {

QJsonObject parse(const QByteArray &text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        qFatal("bad test JSON: %s: %s", text.constData(), qPrintable(error.errorString()));
    return document.object();
}

QStringList strings(const ValidationErrors &errors)
{
    QStringList out;
    for (const ValidationError &error : errors)
        out << error.toString();
    return out;
}

SnapshotPtr load(const QByteArray &text)
{
    ValidationErrors errors;
    SnapshotPtr snapshot = ConfigSnapshot::fromJson(parse(text), &errors);
    if (!errors.isEmpty())
        qWarning() << strings(errors);
    return snapshot;
}

} // namespace

class TestConfigSnapshot : public QObject
{
    Q_OBJECT

private slots:
    void keyedForm();
    void arrayForm();
    void integerAndStringIdsAreOne();
    void emptyCollections();
    void collectionErrors_data();
    void collectionErrors();
    void idMismatchInKeyedForm();
    void everyErrorReported();
    void unknownFieldsKept();
    void canonicalJsonIsSortedAndDigested();
    void digestStableUnderKeyOrder();
    void digestChangesWithValue();
    void fromObjectsMatchesFromJson();
    void emptySnapshot();
    void counts();
    void danglingReferencesAreWarnings();
    void noWarningsWhenResolved();
    void upstreamForResolutionOrder();
    void largeConfig();
};

void TestConfigSnapshot::keyedForm()
{
    const SnapshotPtr s = load(R"({"routes":{"r1":{"uri":"/a","upstream_id":"u1"}},
                                   "upstreams":{"u1":{"nodes":{"127.0.0.1:80":1}}},
                                   "services":{"s1":{"upstream_id":"u1"}}})");
    QVERIFY(s);
    QCOMPARE(s->routes().keys(), QStringList{QStringLiteral("r1")});
    QCOMPARE(s->routes().value(QStringLiteral("r1"))->id, QStringLiteral("r1"));
    QCOMPARE(s->upstreams().value(QStringLiteral("u1"))->id, QStringLiteral("u1"));
    QCOMPARE(s->services().value(QStringLiteral("s1"))->id, QStringLiteral("s1"));
    QCOMPARE(s->json().value(QStringLiteral("routes")).toObject().keys(), QStringList{QStringLiteral("r1")});
}

void TestConfigSnapshot::arrayForm()
{
    const SnapshotPtr s =
        load(R"({"routes":[{"id":12,"uri":"/a","upstream_id":3},{"id":"r2","uri":"/b","upstream_id":3}],
                                   "upstreams":[{"id":3,"nodes":[{"host":"127.0.0.1","port":81,"weight":1}]}]})");
    QVERIFY(s);
    QCOMPARE(s->routes().keys(), (QStringList{QStringLiteral("12"), QStringLiteral("r2")}));
    QCOMPARE(s->upstreams().keys(), QStringList{QStringLiteral("3")});
    // The snapshot json is keyed by id whatever the input form.
    const QJsonObject routes = s->json().value(QStringLiteral("routes")).toObject();
    QCOMPARE(routes.keys(), (QStringList{QStringLiteral("12"), QStringLiteral("r2")}));
    QCOMPARE(routes.value(QStringLiteral("12")).toObject().value(QStringLiteral("uri")).toString(),
             QStringLiteral("/a"));
    QVERIFY(s->json().value(QStringLiteral("upstreams")).toObject().contains(QStringLiteral("3")));
    QVERIFY(s->warnings().isEmpty());

    // Reading the snapshot json back gives the same configuration and digest.
    ValidationErrors errors;
    const SnapshotPtr again = ConfigSnapshot::fromJson(s->json(), &errors);
    QVERIFY(again);
    QCOMPARE(again->sha256(), s->sha256());
}

void TestConfigSnapshot::integerAndStringIdsAreOne()
{
    const SnapshotPtr s = load(R"({"routes":{"12":{"id":12,"uri":"/","upstream_id":7}},
                                   "upstreams":[{"id":"7","nodes":{}}]})");
    QVERIFY(s);
    QCOMPARE(s->upstreamFor(*s->routes().value(QStringLiteral("12"))),
             s->upstreams().value(QStringLiteral("7")));
    QVERIFY(s->warnings().isEmpty());

    ValidationErrors errors;
    QVERIFY(!ConfigSnapshot::fromJson(parse(R"({"upstreams":[{"id":12,"nodes":{}},{"id":"12","nodes":{}}]})"),
                                      &errors));
    QCOMPARE(strings(errors),
             QStringList{QStringLiteral(R"(upstreams: /1/id: expected a unique id, got "12" again)")});
}

void TestConfigSnapshot::emptyCollections()
{
    for (const QByteArray &text :
         {QByteArray("{}"), QByteArray(R"({"routes":[],"upstreams":{},"services":null})")}) {
        const SnapshotPtr s = load(text);
        QVERIFY(s);
        QVERIFY(s->routes().isEmpty());
        QCOMPARE(s->canonicalJson(), QByteArray(R"({"routes":{},"services":{},"upstreams":{}})"));
    }
}

void TestConfigSnapshot::collectionErrors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QStringList>("errors");
    QTest::newRow("collection type") << QByteArray(R"({"routes":"x"})")
                                     << QStringList{
                                            QStringLiteral("/routes: expected object or array, got string")};
    QTest::newRow("element type") << QByteArray(R"({"upstreams":["x"]})")
                                  << QStringList{
                                         QStringLiteral("upstreams: /0: expected object, got string")};
    QTest::newRow("element without id") << QByteArray(R"({"upstreams":[{"id":1,"nodes":{}},{"nodes":{}}]})")
                                        << QStringList{QStringLiteral("upstreams: /1/id: required")};
    QTest::newRow("element id type")
        << QByteArray(R"({"services":[{"id":true}]})")
        << QStringList{
               QStringLiteral("services: /0/id: expected non-empty string or integer >= 1, got boolean")};
    QTest::newRow("element id zero")
        << QByteArray(R"({"services":[{"id":0}]})")
        << QStringList{QStringLiteral("services: /0/id: expected non-empty string or integer >= 1, got 0")};
    QTest::newRow("empty key") << QByteArray(R"({"services":{"":{}}})")
                               << QStringList{QStringLiteral("services: /: expected a non-empty id")};
    QTest::newRow("invalid object") << QByteArray(R"({"routes":{"12":{"uri":7,"upstream_id":1}}})")
                                    << QStringList{
                                           QStringLiteral("routes/12: /uri: expected string, got number")};
}

void TestConfigSnapshot::collectionErrors()
{
    QFETCH(QByteArray, json);
    QFETCH(QStringList, errors);
    ValidationErrors found;
    QVERIFY(!ConfigSnapshot::fromJson(parse(json), &found));
    QCOMPARE(strings(found), errors);
    QVERIFY(!ConfigSnapshot::fromJson(parse(json), nullptr));
}

void TestConfigSnapshot::idMismatchInKeyedForm()
{
    ValidationErrors errors;
    QVERIFY(!ConfigSnapshot::fromJson(parse(R"({"routes":{"1":{"id":"2","uri":"/","upstream_id":1}}})"),
                                      &errors));
    QCOMPARE(strings(errors),
             QStringList{QStringLiteral(R"(routes/1: /id: expected "1" (the id in the key), got "2")")});
}

void TestConfigSnapshot::everyErrorReported()
{
    ValidationErrors errors{ValidationError{QStringLiteral("before"), QString(), QStringLiteral("kept")}};
    QVERIFY(!ConfigSnapshot::fromJson(
        parse(R"({"routes":{"1":{"uri":"a","upstream_id":1},"2":{"uri":"/","upstream_id":1},
                                                          "3":{"uris":[],"upstream_id":1}},
                                               "upstreams":{"u":{"nodes":[{"host":"h","port":0,"weight":1}]}},
                                               "services":[{"id":"s","plugins":1}]})"),
        &errors));
    QCOMPARE(strings(errors),
             (QStringList{QStringLiteral("before: kept"),
                          QStringLiteral("upstreams/u: /nodes/0/port: expected integer 1-65535, got 0"),
                          QStringLiteral("services/s: /plugins: expected object, got number"),
                          QStringLiteral(R"(routes/1: /uri: expected a path starting with "/", got "a")"),
                          QStringLiteral("routes/3: /uris: expected non-empty array, got []")}));
}

void TestConfigSnapshot::unknownFieldsKept()
{
    const SnapshotPtr s =
        load(R"({"routes":{"1":{"uri":"/","upstream_id":"u","vars":[["arg_a","==","b"]],"x_note":"keep"}},
                 "upstreams":{"u":{"nodes":{},"tls":{"verify":true}}},
                 "consumers":{"c":{"username":"c"}},"global_rules":[]})");
    QVERIFY(s);
    const QJsonObject route = s->json()[QStringLiteral("routes")][QStringLiteral("1")].toObject();
    QCOMPARE(route.value(QStringLiteral("x_note")).toString(), QStringLiteral("keep"));
    QVERIFY(route.contains(QStringLiteral("vars")));
    QVERIFY(s->json()[QStringLiteral("upstreams")][QStringLiteral("u")].toObject().contains(
        QStringLiteral("tls")));
    QVERIFY(s->json().contains(QStringLiteral("consumers")));
    QVERIFY(s->json().contains(QStringLiteral("global_rules")));
    QVERIFY(s->canonicalJson().contains("\"x_note\":\"keep\""));
    QVERIFY(s->canonicalJson().contains("\"consumers\":{\"c\":{\"username\":\"c\"}}"));
}

void TestConfigSnapshot::canonicalJsonIsSortedAndDigested()
{
    const SnapshotPtr s = load(R"({"upstreams":{"u":{"type":"roundrobin","nodes":{"b:1":1,"a:1":1}}},
                                   "routes":{"r":{"upstream_id":"u","uri":"/"}}})");
    QVERIFY(s);
    QCOMPARE(s->canonicalJson(),
             QByteArray(R"({"routes":{"r":{"upstream_id":"u","uri":"/"}},"services":{},)"
                        R"("upstreams":{"u":{"nodes":{"a:1":1,"b:1":1},"type":"roundrobin"}}})"));
    QCOMPARE(s->canonicalJson(), CanonicalJson::serialize(s->json()));
    QCOMPARE(s->sha256(), CanonicalJson::sha256Hex(s->canonicalJson()));
    QCOMPARE(s->sha256().size(), 64);
}

void TestConfigSnapshot::digestStableUnderKeyOrder()
{
    const SnapshotPtr a = load(
        R"({"routes":{"1":{"uri":"/","methods":["GET"],"upstream_id":"u"},"2":{"uri":"/b","upstream_id":"u"}},
                                   "upstreams":{"u":{"nodes":{"a:1":1},"type":"roundrobin"}}})");
    const SnapshotPtr b = load(R"({"upstreams":{"u":{"type":"roundrobin","nodes":{"a:1":1}}},
                                   "routes":{"2":{"upstream_id":"u","uri":"/b"},"1":{"upstream_id":"u","methods":["GET"],"uri":"/"}}})");
    QVERIFY(a && b);
    QCOMPARE(a->canonicalJson(), b->canonicalJson());
    QCOMPARE(a->sha256(), b->sha256());
}

void TestConfigSnapshot::digestChangesWithValue()
{
    const SnapshotPtr a = load(R"({"upstreams":{"u":{"nodes":{"a:1":1}}}})");
    const SnapshotPtr b = load(R"({"upstreams":{"u":{"nodes":{"a:1":2}}}})");
    const SnapshotPtr c = load(R"({"upstreams":{"u":{"nodes":{"a:1":1}}}})");
    QVERIFY(a && b && c);
    QVERIFY(a->sha256() != b->sha256());
    QCOMPARE(a->sha256(), c->sha256());
}

void TestConfigSnapshot::fromObjectsMatchesFromJson()
{
    const QJsonObject config =
        parse(R"({"routes":{"r":{"uri":"/","service_id":"s"}},"services":{"s":{"upstream_id":"u"}},
                                         "upstreams":{"u":{"nodes":{"a:1":1}}},"ssls":{}})");
    ValidationErrors errors;
    const SnapshotPtr fromJson = ConfigSnapshot::fromJson(config, &errors);
    QVERIFY(fromJson);
    ConfigSnapshot::Routes routes;
    routes.insert(QStringLiteral("r"),
                  ConfigValidator::parseRoute(
                      QStringLiteral("r"), config[QStringLiteral("routes")][QStringLiteral("r")], &errors));
    ConfigSnapshot::Services services;
    services.insert(QStringLiteral("s"),
                    ConfigValidator::parseService(QStringLiteral("s"),
                                                  config[QStringLiteral("services")][QStringLiteral("s")],
                                                  &errors));
    ConfigSnapshot::Upstreams upstreams;
    upstreams.insert(QStringLiteral("u"),
                     ConfigValidator::parseUpstream(QStringLiteral("u"),
                                                    config[QStringLiteral("upstreams")][QStringLiteral("u")],
                                                    &errors));
    QVERIFY(errors.isEmpty());
    QJsonObject extra;
    extra.insert(QStringLiteral("ssls"), QJsonObject());
    const SnapshotPtr fromObjects = ConfigSnapshot::fromObjects(routes, upstreams, services, extra);
    QCOMPARE(fromObjects->canonicalJson(), fromJson->canonicalJson());
    QCOMPARE(fromObjects->sha256(), fromJson->sha256());
    QVERIFY(fromObjects->upstreamFor(*routes.first()));
}

void TestConfigSnapshot::emptySnapshot()
{
    const SnapshotPtr e = ConfigSnapshot::empty();
    QVERIFY(e);
    QCOMPARE(ConfigSnapshot::empty(), e);
    QVERIFY(e->routes().isEmpty() && e->upstreams().isEmpty() && e->services().isEmpty());
    QCOMPARE(e->canonicalJson(), QByteArray(R"({"routes":{},"services":{},"upstreams":{}})"));
    QCOMPARE(e->sha256(), CanonicalJson::sha256Hex(R"({"routes":{},"services":{},"upstreams":{}})"));
    QCOMPARE(load("{}")->sha256(), e->sha256());
}

void TestConfigSnapshot::counts()
{
    const SnapshotPtr s = load(R"({"routes":{"1":{"uri":"/","plugins":{}},"2":{"uri":"/2","plugins":{}}},
                                   "upstreams":{"u":{"nodes":{}}}})");
    QVERIFY(s);
    QCOMPARE(s->counts(), parse(R"({"routes":2,"upstreams":1,"services":0})"));
}

void TestConfigSnapshot::danglingReferencesAreWarnings()
{
    ValidationErrors errors;
    const SnapshotPtr s = ConfigSnapshot::fromJson(parse(R"({"routes":{"7":{"uri":"/","upstream_id":9},
                                                                          "8":{"uri":"/8","service_id":"nope"}},
                                                              "services":{"s":{"upstream_id":"gone"}}})"),
                                                   &errors);
    QVERIFY(s);
    QVERIFY(errors.isEmpty());
    QCOMPARE(s->warnings(), (QStringList{QStringLiteral(R"(routes/7: /upstream_id: no upstream "9")"),
                                         QStringLiteral(R"(routes/8: /service_id: no service "nope")"),
                                         QStringLiteral(R"(services/s: /upstream_id: no upstream "gone")")}));
    QVERIFY(!s->upstreamFor(*s->routes().value(QStringLiteral("7"))));
    QVERIFY(!s->upstreamFor(*s->routes().value(QStringLiteral("8"))));
}

void TestConfigSnapshot::noWarningsWhenResolved()
{
    const SnapshotPtr s = load(R"({"routes":{"7":{"uri":"/","upstream_id":9},"8":{"uri":"/8","service_id":1}},
                                   "services":{"1":{"upstream_id":"9"}},"upstreams":{"9":{"nodes":{}}}})");
    QVERIFY(s);
    QCOMPARE(s->warnings(), QStringList());
}

void TestConfigSnapshot::upstreamForResolutionOrder()
{
    const SnapshotPtr s = load(R"({
        "upstreams":{"byId":{"nodes":{"by-id:1":1}},"svcById":{"nodes":{"svc-by-id:1":1}}},
        "services":{"inline":{"upstream":{"nodes":{"svc-inline:1":1}},"upstream_id":"svcById"},
                    "refOnly":{"upstream_id":"svcById"},"none":{"plugins":{}}},
        "routes":{
          "inlineWins":{"uri":"/1","upstream":{"nodes":{"route-inline:1":1}},"upstream_id":"byId","service_id":"inline"},
          "idBeforeService":{"uri":"/2","upstream_id":"byId","service_id":"inline"},
          "serviceInline":{"uri":"/3","service_id":"inline"},
          "serviceRef":{"uri":"/4","service_id":"refOnly"},
          "serviceWithout":{"uri":"/5","service_id":"none"},
          "danglingId":{"uri":"/6","upstream_id":"missing","service_id":"inline"},
          "pluginsOnly":{"uri":"/7","plugins":{}}}})");
    QVERIFY(s);
    const auto hostFor = [&](const char *route) -> QByteArray {
        const UpstreamPtr u = s->upstreamFor(*s->routes().value(QLatin1String(route)));
        return u ? u->nodes.value(0).host : QByteArray("<none>");
    };
    QCOMPARE(hostFor("inlineWins"), QByteArray("route-inline"));
    QCOMPARE(hostFor("idBeforeService"), QByteArray("by-id"));
    QCOMPARE(hostFor("serviceInline"), QByteArray("svc-inline"));
    QCOMPARE(hostFor("serviceRef"), QByteArray("svc-by-id"));
    QCOMPARE(hostFor("serviceWithout"), QByteArray("<none>"));
    QCOMPARE(hostFor("danglingId"), QByteArray("<none>"));
    QCOMPARE(hostFor("pluginsOnly"), QByteArray("<none>"));
}

void TestConfigSnapshot::largeConfig()
{
    // 10k routes and 1k upstreams, as a large APISIX deployment has: loading must stay well under a
    // second so that a full resync does not stall the sync controller.
    QJsonObject upstreams;
    for (int i = 0; i < 1000; ++i) {
        QJsonObject nodes;
        nodes.insert(QStringLiteral("10.0.%1.%2:8080").arg(i / 250).arg(i % 250), 1);
        nodes.insert(QStringLiteral("10.1.%1.%2:8080").arg(i / 250).arg(i % 250), 2);
        upstreams.insert(QString::number(i),
                         QJsonObject{{QStringLiteral("type"), QStringLiteral("roundrobin")},
                                     {QStringLiteral("nodes"), nodes},
                                     {QStringLiteral("timeout"), QJsonObject{{QStringLiteral("connect"), 1},
                                                                             {QStringLiteral("send"), 5},
                                                                             {QStringLiteral("read"), 5}}}});
    }
    QJsonArray routes;
    for (int i = 0; i < 10000; ++i) {
        routes.append(QJsonObject{
            {QStringLiteral("id"), i + 1},
            {QStringLiteral("uri"), QStringLiteral("/api/v1/resource%1/*").arg(i)},
            {QStringLiteral("methods"), QJsonArray{QStringLiteral("GET"), QStringLiteral("POST")}},
            {QStringLiteral("hosts"), QJsonArray{QStringLiteral("api%1.example.com").arg(i % 50)}},
            {QStringLiteral("priority"), i % 3},
            {QStringLiteral("upstream_id"), QString::number(i % 1000)},
            {QStringLiteral("plugins"),
             QJsonObject{{QStringLiteral("limit-count"), QJsonObject{{QStringLiteral("count"), 10}}}}}});
    }
    const QJsonObject config{{QStringLiteral("routes"), routes}, {QStringLiteral("upstreams"), upstreams}};

    // Speed is measured in bench/ (a timed assertion here would fail on a loaded machine, not on a bug).
    ValidationErrors errors;
    const SnapshotPtr s = ConfigSnapshot::fromJson(config, &errors);
    QVERIFY(s);
    QCOMPARE(s->routes().size(), 10000);
    QCOMPARE(s->upstreams().size(), 1000);
    QVERIFY(s->warnings().isEmpty());
}

QTEST_GUILESS_MAIN(TestConfigSnapshot)
#include "tst_configsnapshot.moc"
