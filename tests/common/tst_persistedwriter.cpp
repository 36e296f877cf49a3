// Tests of PersistedWriter: its digest is the snapshot's, its file reads back as the snapshot, and the bytes
// it keeps between generations never go stale (each generation equals what a fresh writer makes of it).
#include "canonicaljson.h"
#include "configstore.h"
#include "configvalidator.h"
#include "persistedwriter.h"
#include "sha256.h"
#include "testconfig.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QtTest>

namespace {

using TestSupport::snapshotOf;

const QDateTime savedAt(QDate(2026, 12, 1), QTime(22, 0, 0, 5), Qt::UTC);

QJsonObject upstreamJson(const QString &node)
{
    return QJsonObject{{QStringLiteral("type"), QStringLiteral("roundrobin")},
                       {QStringLiteral("nodes"), QJsonObject{{node, 1}}}};
}

RoutePtr routeOf(const QString &id, const QString &uri, const QString &upstreamId)
{
    ValidationErrors errors;
    return ConfigValidator::parseRoute(
        id, QJsonObject{{QStringLiteral("uri"), uri}, {QStringLiteral("upstream_id"), upstreamId}}, &errors);
}

UpstreamPtr upstreamOf(const QString &id, const QString &node)
{
    ValidationErrors errors;
    return ConfigValidator::parseUpstream(id, upstreamJson(node), &errors);
}

QByteArray freshBytes(const ConfigSnapshot &snapshot, qint64 revision)
{
    PersistedWriter fresh;
    fresh.prepare(snapshot, revision, {}, savedAt);
    return fresh.bytes();
}

} // namespace

class tst_PersistedWriter : public QObject
{
    Q_OBJECT

private slots:
    void digestIsTheSnapshotDigest_data();
    void digestIsTheSnapshotDigest();
    void fileReadsBackAsTheSnapshot();
    void oneObjectPerLine();
    void onlyChangedObjectsAreSerialisedAgain();
    void keptBytesNeverGoStale();
    void sha256MatchesQCryptographicHash();
};

void tst_PersistedWriter::digestIsTheSnapshotDigest_data()
{
    QTest::addColumn<QJsonObject>("config");
    const auto routes = [](const QStringList &ids) {
        QJsonObject objects;
        int n = 0;
        for (const QString &id : ids)
            objects.insert(id,
                           QJsonObject{{QStringLiteral("uri"), QStringLiteral("/r%1").arg(++n)},
                                       {QStringLiteral("upstream"), upstreamJson(QStringLiteral("h:1"))}});
        return objects;
    };
    QTest::newRow("empty") << QJsonObject();
    QTest::newRow("ascii ids") << QJsonObject{
        {QStringLiteral("routes"),
         routes({QStringLiteral("10"), QStringLiteral("9"), QStringLiteral("a"), QStringLiteral("B")})}};
    // UTF-16 and UTF-8 order these differently: U+E000 sorts after a surrogate pair in UTF-16, before
    // it in UTF-8 (code points). Canonical JSON uses UTF-8 order.
    QTest::newRow("ids outside the BMP")
        << QJsonObject{{QStringLiteral("routes"),
                        routes({QString::fromUtf8("\xee\x80\x80"), QString::fromUtf8("\xf0\x9f\x98\x80"),
                                QString::fromUtf8("\xc3\xa9"), QStringLiteral("z")})}};
    QJsonObject escapes{{QStringLiteral("uri"), QStringLiteral("/q")},
                        {QStringLiteral("desc"), QStringLiteral("tab\t quote\" backslash\\ nl\n \x01")},
                        {QStringLiteral("priority"), 3.0},
                        {QStringLiteral("x_numbers"), QJsonArray{1e300, 0.1, -2.5, qint64(1) << 60}},
                        {QStringLiteral("upstream"), upstreamJson(QStringLiteral("h:2"))}};
    QTest::newRow("escapes and numbers")
        << QJsonObject{{QStringLiteral("routes"), QJsonObject{{QStringLiteral("e\"1"), escapes}}}};
    QTest::newRow("extra members and services")
        << QJsonObject{{QStringLiteral("routes"), routes({QStringLiteral("1")})},
                       {QStringLiteral("upstreams"),
                        QJsonObject{{QStringLiteral("u"), upstreamJson(QStringLiteral("h:3"))}}},
                       {QStringLiteral("services"),
                        QJsonObject{{QStringLiteral("s"),
                                     QJsonObject{{QStringLiteral("upstream_id"), QStringLiteral("u")}}}}},
                       {QStringLiteral("aaa_first"), QJsonArray{1, QStringLiteral("x")}},
                       {QStringLiteral("t_between"), QJsonObject{{QStringLiteral("k"), true}}},
                       {QStringLiteral("zzz_last"), QJsonValue::Null}};
}

void tst_PersistedWriter::digestIsTheSnapshotDigest()
{
    QFETCH(QJsonObject, config);
    const SnapshotPtr snapshot = snapshotOf(config);
    QVERIFY(snapshot);
    PersistedWriter writer;
    writer.prepare(*snapshot, 7, {}, savedAt);
    QCOMPARE(writer.sha256(), snapshot->sha256());
    QCOMPARE(writer.sha256(), CanonicalJson::sha256Hex(CanonicalJson::serialize(snapshot->json())));

    const auto parsed = ConfigStore::parse(writer.bytes(), nullptr);
    QVERIFY(parsed);
    QVERIFY(!parsed->edited);
    QCOMPARE(parsed->snapshot->sha256(), snapshot->sha256());
}

void tst_PersistedWriter::fileReadsBackAsTheSnapshot()
{
    const SnapshotPtr snapshot = snapshotOf(
        QJsonObject{{QStringLiteral("routes"),
                     QJsonObject{{QStringLiteral("1"),
                                  QJsonObject{{QStringLiteral("uri"), QStringLiteral("/a")},
                                              {QStringLiteral("upstream_id"), QStringLiteral("u")}}}}},
                    {QStringLiteral("upstreams"),
                     QJsonObject{{QStringLiteral("u"), upstreamJson(QStringLiteral("h:1"))}}},
                    {QStringLiteral("x_extra"), 5}});
    QVERIFY(snapshot);
    const QJsonObject source{{QStringLiteral("type"), QStringLiteral("etcd")}};
    PersistedWriter writer;
    writer.prepare(*snapshot, 1234, source, savedAt);

    QJsonParseError error;
    const QJsonObject envelope = QJsonDocument::fromJson(writer.bytes(), &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(envelope.keys(),
             (QStringList{QStringLiteral("config"), QStringLiteral("format"), QStringLiteral("revision"),
                          QStringLiteral("saved_at"), QStringLiteral("sha256"), QStringLiteral("source")}));
    QCOMPARE(envelope.value(QLatin1String("format")).toString(), QLatin1String(ConfigStore::Format));
    QCOMPARE(envelope.value(QLatin1String("revision")).toInteger(), 1234);
    QCOMPARE(envelope.value(QLatin1String("source")).toObject(), source);
    QCOMPARE(envelope.value(QLatin1String("saved_at")).toString(),
             QStringLiteral("2026-12-01T22:00:00.005Z"));
    QCOMPARE(envelope.value(QLatin1String("sha256")).toString().toLatin1(), snapshot->sha256());
    QCOMPARE(envelope.value(QLatin1String("config")).toObject(), snapshot->json());
    // The documented member order, "config" last; the revision within the first bytes (probes read it).
    const QByteArray bytes = writer.bytes();
    QVERIFY(bytes.indexOf("\"format\"") < bytes.indexOf("\"revision\""));
    QVERIFY(bytes.indexOf("\"sha256\"") < bytes.indexOf("\"config\""));
    QVERIFY(bytes.indexOf("\"revision\": 1234") < 64);
}

void tst_PersistedWriter::oneObjectPerLine()
{
    QJsonObject routes;
    for (int i = 1; i <= 5; ++i)
        routes.insert(QString::number(i), QJsonObject{{QStringLiteral("uri"), QStringLiteral("/r%1").arg(i)},
                                                      {QStringLiteral("upstream_id"), QStringLiteral("u")}});
    const SnapshotPtr snapshot =
        snapshotOf(QJsonObject{{QStringLiteral("routes"), routes},
                               {QStringLiteral("upstreams"),
                                QJsonObject{{QStringLiteral("u"), upstreamJson(QStringLiteral("h:1"))}}}});
    QVERIFY(snapshot);
    PersistedWriter writer;
    writer.prepare(*snapshot, 1, {}, savedAt);
    const QList<QByteArray> lines = writer.bytes().split('\n');
    // Each object is one line: an operator can find, read and edit it with any editor or sed.
    for (int i = 1; i <= 5; ++i) {
        const QByteArray expected = "            \"" + QByteArray::number(i) +
                                    "\":" + CanonicalJson::serialize(routes.value(QString::number(i))) +
                                    (i < 5 ? "," : "");
        QVERIFY2(lines.contains(expected), expected.constData());
    }
    QVERIFY(lines.contains(QByteArrayLiteral("        \"services\": {},")));
}

void tst_PersistedWriter::onlyChangedObjectsAreSerialisedAgain()
{
    ConfigSnapshot::Routes routes;
    for (int i = 1; i <= 100; ++i)
        routes.insert(QString::number(i),
                      routeOf(QString::number(i), QStringLiteral("/r%1").arg(i), QStringLiteral("u")));
    ConfigSnapshot::Upstreams upstreams;
    upstreams.insert(QStringLiteral("u"), upstreamOf(QStringLiteral("u"), QStringLiteral("h:1")));
    const SnapshotPtr first = ConfigSnapshot::fromObjects(routes, upstreams, {});
    PersistedWriter writer;
    writer.prepare(*first, 1, {}, savedAt);
    QCOMPARE(writer.figures().serialised, 101);
    QCOMPARE(writer.figures().reused, 0);

    routes.insert(QStringLiteral("5"),
                  routeOf(QStringLiteral("5"), QStringLiteral("/changed"), QStringLiteral("u")));
    routes.insert(QStringLiteral("500"),
                  routeOf(QStringLiteral("500"), QStringLiteral("/added"), QStringLiteral("u")));
    routes.remove(QStringLiteral("7"));
    const SnapshotPtr second = ConfigSnapshot::fromObjects(routes, upstreams, {});
    writer.prepare(*second, 2, {}, savedAt);
    QCOMPARE(writer.figures().serialised, 2);
    QCOMPARE(writer.figures().reused, 98 + 1); // the routes untouched and the upstream
    QCOMPARE(writer.bytes(), freshBytes(*second, 2));
    QCOMPARE(writer.sha256(), second->sha256());
    QVERIFY(writer.bytes().contains("\"/changed\""));
    QVERIFY(!writer.bytes().contains("\"/r5\""));
    QVERIFY(!writer.bytes().contains("\"/r7\""));
}

void tst_PersistedWriter::keptBytesNeverGoStale()
{
    // Random puts and deletes of routes and upstreams, some with ids that sort apart in UTF-8; after each
    // step the kept bytes must give exactly what a writer starting from nothing gives.
    QRandomGenerator random(12);
    const QStringList idPool = {QStringLiteral("1"),
                                QStringLiteral("2"),
                                QStringLiteral("10"),
                                QStringLiteral("a"),
                                QString::fromUtf8("\xee\x80\x80"),
                                QString::fromUtf8("\xf0\x9f\x98\x80"),
                                QStringLiteral("zz"),
                                QStringLiteral("x\"y")};
    ConfigSnapshot::Routes routes;
    ConfigSnapshot::Upstreams upstreams;
    PersistedWriter writer;
    for (int step = 0; step < 300; ++step) {
        const int changes = 1 + int(random.bounded(3));
        for (int c = 0; c < changes; ++c) {
            const QString id = idPool.at(int(random.bounded(idPool.size())));
            const bool upstream = random.bounded(4) == 0;
            const bool remove = random.bounded(3) == 0;
            if (upstream && remove)
                upstreams.remove(id);
            else if (upstream)
                upstreams.insert(id, upstreamOf(id, QStringLiteral("h:%1").arg(step)));
            else if (remove)
                routes.remove(id);
            else
                routes.insert(id,
                              routeOf(id, QStringLiteral("/s%1").arg(step), idPool.at(step % idPool.size())));
        }
        const SnapshotPtr snapshot = ConfigSnapshot::fromObjects(routes, upstreams, {});
        writer.prepare(*snapshot, step, {}, savedAt);
        const QByteArray expected = freshBytes(*snapshot, step);
        QVERIFY2(writer.bytes() == expected, qPrintable(QStringLiteral("step %1").arg(step)));
        QCOMPARE(writer.sha256(), snapshot->sha256());
        QVERIFY(writer.figures().serialised <= changes);
    }
}

void tst_PersistedWriter::sha256MatchesQCryptographicHash()
{
    QByteArray bytes;
    for (int i = 0; i < 300000; ++i)
        bytes.append(char((i * 131 + 7) & 0xff));
    for (const qsizetype size :
         {qsizetype(0), qsizetype(1), qsizetype(55), qsizetype(64), qsizetype(300000)}) {
        const QByteArrayView view(bytes.constData(), size);
        QCOMPARE(Sha256::hash(view), QCryptographicHash::hash(view, QCryptographicHash::Sha256));
        Sha256 pieces;
        for (qsizetype at = 0; at < size; at += 1000)
            pieces.addData(view.sliced(at, qMin<qsizetype>(1000, size - at)));
        QCOMPARE(pieces.result(), QCryptographicHash::hash(view, QCryptographicHash::Sha256));
    }
}

QTEST_GUILESS_MAIN(tst_PersistedWriter)
#include "tst_persistedwriter.moc"
