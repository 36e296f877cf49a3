// GatewayStatus and GatewayEvent: the admin API's wire types read back what they write, and name the
// first member of a document that is not theirs.
#include "gatewayevent.h"
#include "gatewaystatus.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

namespace {

QDateTime at(const char *iso)
{
    return QDateTime::fromString(QLatin1String(iso), Qt::ISODateWithMs);
}

// Every member set, as a synced gateway with a failing disk would report.
GatewayStatus fullStatus()
{
    GatewayStatus s;
    s.state = GatewayStatus::State::Reconnecting;
    s.since = at("2026-12-01T10:00:00.123Z");
    s.cause = QStringLiteral("lost http://127.0.0.1:2379: connection refused");
    s.ready = true;
    s.version = QStringLiteral("0.1.0");
    s.controlPlane.type = QStringLiteral("etcd");
    s.controlPlane.endpoints = {QStringLiteral("http://127.0.0.1:2379"),
                                QStringLiteral("http://127.0.0.1:2380")};
    s.controlPlane.prefix = QStringLiteral("/apisix");
    s.controlPlane.connected = false;
    s.controlPlane.endpoint = QStringLiteral("http://127.0.0.1:2380");
    s.controlPlane.lastOk = at("2026-12-01T09:59:58.000Z");
    s.controlPlane.lastError = QStringLiteral("connection refused");
    s.controlPlane.retryInMs = 400;
    s.controlPlane.clusterId = QStringLiteral("cdf818194e3a8c32");
    s.controlPlane.ignoredKeys = 3;
    s.live.revision = 42;
    s.live.sha256 = QStringLiteral("ab12");
    s.live.counts = {5, 2, 1};
    s.live.from = GatewayStatus::Origin::ControlPlane;
    s.persisted.file = QStringLiteral("config.prev.json");
    s.persisted.loadedAtStart = QStringLiteral("config.prev.json");
    s.persisted.attempts = {QStringLiteral("config.json: truncated")};
    s.persisted.revision = 40;
    s.persisted.sha256 = QStringLiteral("cd34");
    s.persisted.savedAt = at("2026-12-01T09:00:00.000Z");
    s.persisted.edited = true;
    s.persisted.editedKeptAs = QStringLiteral("config.edited-20261201T090000.json");
    s.persisted.error = QStringLiteral("No space left on device");
    s.persisted.errorSince = at("2026-12-01T09:30:00.500Z");
    s.persisted.retryInMs = 5000;
    s.rejected = {{QStringLiteral("routes/1"), QStringLiteral("/uri: expected string, got number"), 41},
                  {QStringLiteral("routes/3"), QStringLiteral("not JSON"), 42}};
    return s;
}

QJsonObject withMember(QJsonObject doc, const QStringList &path, const QJsonValue &value)
{
    if (path.size() == 1) {
        if (value.isUndefined())
            doc.remove(path.first());
        else
            doc.insert(path.first(), value);
        return doc;
    }
    doc.insert(path.first(), withMember(doc.value(path.first()).toObject(), path.mid(1), value));
    return doc;
}

} // namespace

class TestGatewayStatus : public QObject
{
    Q_OBJECT

private slots:
    void stateNames()
    {
        const QStringList expected{QStringLiteral("starting"),     QStringLiteral("offline_local"),
                                   QStringLiteral("syncing"),      QStringLiteral("in_sync"),
                                   QStringLiteral("reconnecting"), QStringLiteral("standalone")};
        QStringList names;
        for (GatewayStatus::State s : GatewayStatus::allStates()) {
            names << GatewayStatus::stateName(s);
            QCOMPARE(GatewayStatus::stateFromName(GatewayStatus::stateName(s)), std::optional(s));
        }
        QCOMPARE(names, expected);
        QCOMPARE(GatewayStatus::stateFromName(QStringLiteral("in-sync")), std::nullopt);
    }

    void fullRoundTrip()
    {
        const GatewayStatus s = fullStatus();
        const QJsonObject json = s.toJson();
        QString error;
        const std::optional<GatewayStatus> back = GatewayStatus::fromJson(json, &error);
        QVERIFY2(back, qPrintable(error));
        QVERIFY(*back == s);
        QCOMPARE(back->toJson(), json);
        // Through text as well, as the console receives it.
        const QJsonObject reparsed = QJsonDocument::fromJson(QJsonDocument(json).toJson()).object();
        QVERIFY(GatewayStatus::fromJson(reparsed, &error) == s);

        QCOMPARE(json.value(QLatin1String("state")).toString(), QStringLiteral("reconnecting"));
        QCOMPARE(json.value(QLatin1String("since")).toString(), QStringLiteral("2026-12-01T10:00:00.123Z"));
        const QJsonObject cp = json.value(QLatin1String("control_plane")).toObject();
        QCOMPARE(cp.value(QLatin1String("retry_in_ms")).toInt(), 400);
        QCOMPARE(cp.value(QLatin1String("cluster_id")).toString(), QStringLiteral("cdf818194e3a8c32"));
        const QJsonObject live = json.value(QLatin1String("live")).toObject();
        QCOMPARE(live.value(QLatin1String("from")).toString(), QStringLiteral("control_plane"));
        QCOMPARE(live.value(QLatin1String("counts")).toObject().value(QLatin1String("routes")).toInt(), 5);
        const QJsonObject persisted = json.value(QLatin1String("persisted")).toObject();
        QCOMPARE(persisted.value(QLatin1String("retry_in_ms")).toInt(), 5000);
        QCOMPARE(json.value(QLatin1String("rejected"))
                     .toArray()
                     .at(1)
                     .toObject()
                     .value(QLatin1String("revision"))
                     .toInt(),
                 42);
    }

    // A gateway that serves nothing yet: every optional member is null, and still read back.
    void emptyRoundTrip()
    {
        GatewayStatus s;
        s.controlPlane.type = QStringLiteral("file");
        s.controlPlane.endpoints = {QStringLiteral("/etc/holdfast/routes.json")};
        s.rejected = {
            {QStringLiteral("/etc/holdfast/routes.json"), QStringLiteral("routes/1: /uri: missing"), 0}};
        const QJsonObject json = s.toJson();
        const QJsonObject cp = json.value(QLatin1String("control_plane")).toObject();
        QVERIFY(cp.value(QLatin1String("prefix")).isNull());
        QVERIFY(cp.value(QLatin1String("retry_in_ms")).isNull());
        QVERIFY(cp.value(QLatin1String("last_ok")).isNull());
        const QJsonObject live = json.value(QLatin1String("live")).toObject();
        QVERIFY(live.value(QLatin1String("revision")).isNull());
        QVERIFY(live.value(QLatin1String("from")).isNull());
        QCOMPARE(live.value(QLatin1String("counts")).toObject(), QJsonObject());
        QVERIFY(json.value(QLatin1String("since")).isNull());
        QVERIFY(json.value(QLatin1String("persisted")).toObject().value(QLatin1String("file")).isNull());
        QVERIFY(json.value(QLatin1String("rejected"))
                    .toArray()
                    .at(0)
                    .toObject()
                    .value(QLatin1String("revision"))
                    .isNull());

        QString error;
        const std::optional<GatewayStatus> back = GatewayStatus::fromJson(json, &error);
        QVERIFY2(back, qPrintable(error));
        QVERIFY(*back == s);
        QCOMPARE(back->toJson(), json);
    }

    // A persisted retry is only shown while there is an error to retry.
    void persistedRetryNeedsAnError()
    {
        GatewayStatus s = fullStatus();
        s.persisted.error.clear();
        QVERIFY(s.toJson()
                    .value(QLatin1String("persisted"))
                    .toObject()
                    .value(QLatin1String("retry_in_ms"))
                    .isNull());
    }

    void badDocuments_data()
    {
        QTest::addColumn<QStringList>("path");
        QTest::addColumn<QJsonValue>("value"); // undefined: remove the member
        QTest::addColumn<QString>("error");
        const QJsonValue gone(QJsonValue::Undefined);
        QTest::newRow("no state") << QStringList{QStringLiteral("state")} << gone
                                  << QStringLiteral("state: missing (expected string)");
        QTest::newRow("unknown state")
            << QStringList{QStringLiteral("state")} << QJsonValue(QStringLiteral("happy"))
            << QStringLiteral("state: unknown state \"happy\"");
        QTest::newRow("state number") << QStringList{QStringLiteral("state")} << QJsonValue(3)
                                      << QStringLiteral("state: expected string, got number");
        QTest::newRow("since not a time")
            << QStringList{QStringLiteral("since")} << QJsonValue(QStringLiteral("yesterday"))
            << QStringLiteral("since: expected ISO 8601 time, got \"yesterday\"");
        QTest::newRow("ready string")
            << QStringList{QStringLiteral("ready")} << QJsonValue(QStringLiteral("yes"))
            << QStringLiteral("ready: expected boolean, got string");
        QTest::newRow("no control_plane") << QStringList{QStringLiteral("control_plane")} << gone
                                          << QStringLiteral("control_plane: missing (expected object)");
        QTest::newRow("retry string")
            << QStringList{QStringLiteral("control_plane"), QStringLiteral("retry_in_ms")}
            << QJsonValue(QStringLiteral("soon"))
            << QStringLiteral("control_plane.retry_in_ms: expected integer or null, got string");
        QTest::newRow("endpoints mixed")
            << QStringList{QStringLiteral("control_plane"), QStringLiteral("endpoints")}
            << QJsonValue(QJsonArray{QStringLiteral("a"), 1})
            << QStringLiteral("control_plane.endpoints: expected array of strings, got array");
        QTest::newRow("ignored_keys fraction")
            << QStringList{QStringLiteral("control_plane"), QStringLiteral("ignored_keys")} << QJsonValue(1.5)
            << QStringLiteral("control_plane.ignored_keys: expected integer, got number");
        QTest::newRow("no live revision")
            << QStringList{QStringLiteral("live"), QStringLiteral("revision")} << gone
            << QStringLiteral("live.revision: missing (expected integer or null)");
        QTest::newRow("counts without routes")
            << QStringList{QStringLiteral("live"), QStringLiteral("counts"), QStringLiteral("routes")} << gone
            << QStringLiteral("live.counts.routes: missing (expected integer)");
        QTest::newRow("unknown origin")
            << QStringList{QStringLiteral("live"), QStringLiteral("from")}
            << QJsonValue(QStringLiteral("cache")) << QStringLiteral("live.from: unknown origin \"cache\"");
        QTest::newRow("edited null") << QStringList{QStringLiteral("persisted"), QStringLiteral("edited")}
                                     << QJsonValue()
                                     << QStringLiteral("persisted.edited: expected boolean, got null");
        QTest::newRow("saved_at number")
            << QStringList{QStringLiteral("persisted"), QStringLiteral("saved_at")} << QJsonValue(12)
            << QStringLiteral("persisted.saved_at: expected ISO 8601 time or null, got number");
        QTest::newRow("rejected object")
            << QStringList{QStringLiteral("rejected")} << QJsonValue(QJsonObject())
            << QStringLiteral("rejected: expected array, got object");
    }

    void badDocuments()
    {
        QFETCH(QStringList, path);
        QFETCH(QJsonValue, value);
        QFETCH(QString, error);
        QString got;
        QVERIFY(!GatewayStatus::fromJson(withMember(fullStatus().toJson(), path, value), &got));
        QCOMPARE(got, error);
    }

    void badRejection()
    {
        QJsonObject doc = fullStatus().toJson();
        doc.insert(QStringLiteral("rejected"),
                   QJsonArray{fullStatus().rejected.at(0).toJson(), QJsonObject{{QStringLiteral("key"), 7}}});
        QString error;
        QVERIFY(!GatewayStatus::fromJson(doc, &error));
        QCOMPARE(error, QStringLiteral("rejected[1].key: expected string, got number"));
        doc.insert(QStringLiteral("rejected"), QJsonArray{QStringLiteral("routes/1")});
        QVERIFY(!GatewayStatus::fromJson(doc, &error));
        QCOMPARE(error, QStringLiteral("rejected[0]: expected object, got string"));
    }

    // A newer gateway may add members; a reader ignores them.
    void unknownMembersIgnored()
    {
        QJsonObject doc = fullStatus().toJson();
        doc.insert(QStringLiteral("uptime_s"), 12);
        QString error;
        QVERIFY(GatewayStatus::fromJson(doc, &error) == fullStatus());
    }

    void eventsRoundTrip_data()
    {
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<QJsonObject>("data");
        GatewayEvent::Persisted saved;
        saved.ok = true;
        saved.revision = 7;
        saved.sha256 = QStringLiteral("ab");
        saved.latencyMs = 12;
        saved.savedAt = at("2026-12-01T10:00:00.000Z");
        GatewayEvent::Persisted kept = saved;
        kept.editedKeptAs = QStringLiteral("config.edited-x.json");
        GatewayEvent::Persisted failed;
        failed.revision = 8;
        failed.sha256 = QStringLiteral("cd");
        failed.latencyMs = 3;
        failed.error = QStringLiteral("No space left on device");
        failed.retryInMs = 250;
        const GatewayEvent events[] = {
            GatewayEvent(GatewayEvent::StateChange{GatewayStatus::State::InSync, QStringLiteral("full sync"),
                                                   at("2026-12-01T10:00:00.000Z")}),
            GatewayEvent(GatewayEvent::Applied{7, QStringLiteral("ab"), {3, 2, 1}}),
            GatewayEvent(
                GatewayEvent::Rejected{QStringLiteral("routes/9"), QStringLiteral("/uri: missing"), 7}),
            GatewayEvent(saved),
            GatewayEvent(kept),
            GatewayEvent(failed)};
        int i = 0;
        for (const GatewayEvent &e : events)
            QTest::addRow("%d %s", i++, e.name().constData()) << e.name() << e.toJson();
    }

    void eventsRoundTrip()
    {
        QFETCH(QByteArray, name);
        QFETCH(QJsonObject, data);
        QString error;
        const std::optional<GatewayEvent> event = GatewayEvent::fromJson(name, data, &error);
        QVERIFY2(event, qPrintable(error));
        QCOMPARE(event->name(), name);
        QCOMPARE(event->toJson(), data);
    }

    void eventWireShape()
    {
        GatewayEvent::Persisted failed;
        failed.revision = 8;
        failed.sha256 = QStringLiteral("cd");
        failed.error = QStringLiteral("disk full");
        failed.retryInMs = 250;
        const QJsonObject json = GatewayEvent(failed).toJson();
        QCOMPARE(json.value(QLatin1String("ok")).toBool(true), false);
        QCOMPARE(json.value(QLatin1String("retry_in_ms")).toInt(), 250);
        QVERIFY(!json.contains(QLatin1String("saved_at")));
        const QJsonObject state =
            GatewayEvent(GatewayEvent::StateChange{GatewayStatus::State::OfflineLocal,
                                                   QStringLiteral("refused"), at("2026-12-01T10:00:00.000Z")})
                .toJson();
        QCOMPARE(state.value(QLatin1String("state")).toString(), QStringLiteral("offline_local"));
        QCOMPARE(state.value(QLatin1String("since")).toString(), QStringLiteral("2026-12-01T10:00:00.000Z"));
    }

    void badEvents()
    {
        QString error;
        QVERIFY(!GatewayEvent::fromJson("gone", QJsonObject(), &error));
        QCOMPARE(error, QStringLiteral("unknown event \"gone\""));
        QVERIFY(!GatewayEvent::fromJson(
            "applied", QJsonObject{{QStringLiteral("revision"), 3}, {QStringLiteral("sha256"), 1}}, &error));
        QCOMPARE(error, QStringLiteral("applied.sha256: expected string, got number"));
        QVERIFY(!GatewayEvent::fromJson("persisted",
                                        QJsonObject{{QStringLiteral("ok"), false},
                                                    {QStringLiteral("revision"), 3},
                                                    {QStringLiteral("sha256"), QStringLiteral("ab")},
                                                    {QStringLiteral("latency_ms"), 1}},
                                        &error));
        QCOMPARE(error, QStringLiteral("persisted.error: missing (expected string)"));
        QVERIFY(!GatewayEvent::fromJson("state",
                                        QJsonObject{{QStringLiteral("state"), QStringLiteral("in_sync")},
                                                    {QStringLiteral("cause"), QStringLiteral("x")},
                                                    {QStringLiteral("since"), QJsonValue()}},
                                        &error));
        QCOMPARE(error, QStringLiteral("state.since: expected ISO 8601 time, got null"));
        QVERIFY(!GatewayEvent::fromJson(
            "status", withMember(fullStatus().toJson(), {QStringLiteral("ready")}, QJsonValue()), &error));
        QCOMPARE(error, QStringLiteral("status.ready: expected boolean, got null"));
    }
};

QTEST_GUILESS_MAIN(TestGatewayStatus)
#include "tst_gatewaystatus.moc"
