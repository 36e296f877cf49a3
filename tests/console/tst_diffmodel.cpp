// DiffModel: the tree groups changes by object and counts them; after config.json is edited on disk
// under a running gateway, the model shows exactly the changed pointer; a 10k-route diff builds off the
// GUI thread.
#include "diffmodel.h"
#include "gatewayconnection.h"
#include "hascenario.h"

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTest>

class tst_DiffModel : public QObject
{
    Q_OBJECT

private slots:
    void treeGroupsByObject();
    void handEditOnDiskShowsTheChangedPointer();
    void largeDiffBuildsOffTheGuiThread();
};

void tst_DiffModel::treeGroupsByObject()
{
    const QJsonObject persisted{
        {QStringLiteral("routes"),
         QJsonObject{{QStringLiteral("1"), QJsonObject{{QStringLiteral("uri"), QStringLiteral("/a")},
                                                       {QStringLiteral("priority"), 1}}},
                     {QStringLiteral("2"), QJsonObject{{QStringLiteral("uri"), QStringLiteral("/gone")}}}}},
        {QStringLiteral("upstreams"), QJsonObject{}}};
    const QJsonObject live{
        {QStringLiteral("routes"),
         QJsonObject{{QStringLiteral("1"), QJsonObject{{QStringLiteral("uri"), QStringLiteral("/b")},
                                                       {QStringLiteral("name"), QStringLiteral("n")}}}}},
        {QStringLiteral("upstreams"), QJsonObject{{QStringLiteral("a/b"), QJsonObject{}}}}};
    DiffModel model;
    model.setChanges(JsonDiff::diff(persisted, live));
    QCOMPARE(model.total(), 5);
    QCOMPARE(model.added(), 2);   // routes/1/name, upstreams/a~1b
    QCOMPARE(model.removed(), 2); // routes/1/priority, routes/2
    QCOMPARE(model.changed(), 1); // routes/1/uri
    QCOMPARE(model.rowCount(), 3);
    const QModelIndex route1 = model.index(0, DiffModel::Entry);
    QCOMPARE(route1.data().toString(), QStringLiteral("routes/1 (3 changes)"));
    QCOMPARE(model.rowCount(route1), 3);
    const QModelIndex uri = model.index(2, DiffModel::Entry, route1);
    QCOMPARE(uri.data().toString(), QStringLiteral("uri"));
    QCOMPARE(uri.data(DiffModel::PointerRole).toString(), QStringLiteral("/routes/1/uri"));
    QCOMPARE(model.index(2, DiffModel::Persisted, route1).data().toString(), QStringLiteral("\"/a\""));
    QCOMPARE(model.index(2, DiffModel::Live, route1).data().toString(), QStringLiteral("\"/b\""));
    QCOMPARE(model.parent(uri), route1);
    const QModelIndex route2 = model.index(1, DiffModel::Entry);
    QCOMPARE(route2.data(DiffModel::KindRole).toString(), QStringLiteral("removed"));
    QCOMPARE(model.rowCount(route2), 0);
    QCOMPARE(model.index(2, DiffModel::Entry).data().toString(), QStringLiteral("upstreams/a/b"));
}

void tst_DiffModel::handEditOnDiskShowsTheChangedPointer()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.startSynced(&error, {"/a", "/b"}), qPrintable(error));
    QTRY_VERIFY_WITH_TIMEOUT(s.persistedRevision() > 0, 5000);

    GatewayAddress a;
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(s.gateway().adminPort()));
    a.tokenFile = s.gateway().filePath(QStringLiteral("admin.token"));
    GatewayConnection c(a);
    DiffModel model;
    QSignalSpy ready(&model, &DiffModel::ready);
    const auto refresh = [&] {
        const int before = int(ready.count());
        c.fetchDiff([&](const std::optional<ConfigDiffView> &diff, const ConnectorError &e) {
            QVERIFY2(diff, qPrintable(e.toString()));
            model.setChangesAsync(diff->changes);
        });
        QTRY_VERIFY_WITH_TIMEOUT(ready.count() > before, 5000);
    };
    refresh();
    QCOMPARE(model.total(), 0);

    // The operator edits one field of the local copy by hand (the digest no longer matches: "edited").
    const std::optional<QJsonObject> file = s.gateway().persistedFile();
    QVERIFY(file);
    QJsonObject envelope = *file;
    QJsonObject config = envelope.value(QLatin1String("config")).toObject();
    QJsonObject routes = config.value(QLatin1String("routes")).toObject();
    QJsonObject route2 = routes.value(QLatin1String("2")).toObject();
    QCOMPARE(route2.value(QLatin1String("uri")).toString(), QStringLiteral("/b"));
    route2.insert(QStringLiteral("uri"), QStringLiteral("/edited"));
    routes.insert(QStringLiteral("2"), route2);
    config.insert(QStringLiteral("routes"), routes);
    envelope.insert(QStringLiteral("config"), config);
    QFile out(s.gateway().filePath(QStringLiteral("config.json")));
    QVERIFY(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
    out.write(QJsonDocument(envelope).toJson());
    out.close();

    refresh();
    QCOMPARE(model.pointers(), QStringList{QStringLiteral("/routes/2/uri")});
    QCOMPARE(model.changed(), 1);
    QCOMPARE(model.added() + model.removed(), 0);
    const QModelIndex group = model.index(0, 0);
    const QModelIndex field = model.index(0, 0, group);
    QCOMPARE(field.data(DiffModel::OldTextRole).toString(), QStringLiteral("\"/edited\"")); // on disk
    QCOMPARE(field.data(DiffModel::NewTextRole).toString(), QStringLiteral("\"/b\""));      // served
}

void tst_DiffModel::largeDiffBuildsOffTheGuiThread()
{
    QJsonObject before;
    QJsonObject after;
    for (int i = 0; i < 10000; ++i) {
        const QString id = QString::number(i);
        before.insert(id, QJsonObject{{QStringLiteral("uri"), QStringLiteral("/r/%1").arg(i)}});
        after.insert(id, QJsonObject{{QStringLiteral("uri"), QStringLiteral("/r/%1/v2").arg(i)},
                                     {QStringLiteral("priority"), i}});
    }
    const QList<JsonChange> changes = JsonDiff::diff(QJsonObject{{QStringLiteral("routes"), before}},
                                                     QJsonObject{{QStringLiteral("routes"), after}});
    QCOMPARE(changes.size(), 20000);
    DiffModel model;
    QSignalSpy ready(&model, &DiffModel::ready);
    QElapsedTimer call;
    call.start();
    model.setChangesAsync(changes);
    const qint64 callMs = call.elapsed();
    QVERIFY(model.isBuilding()); // returned before the tree exists: it is built elsewhere
    QCOMPARE(ready.count(), 0);
    int ticks = 0;
    QTimer ticker;
    connect(&ticker, &QTimer::timeout, this, [&ticks] { ++ticks; });
    ticker.start(1);
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 20000);
    qInfo("10k routes, 20k changes: setChangesAsync returned in %lld ms, the tree was ready after %lld ms",
          callMs, call.elapsed());
    QCOMPARE(model.rowCount(), 10000);
    QCOMPARE(model.added(), 10000);
    QCOMPARE(model.changed(), 10000);
    QVERIFY(ticks > 0); // the loop turned while the tree was built
}

QTEST_MAIN(tst_DiffModel)
#include "tst_diffmodel.moc"
