// FleetModel against real gateways: state words, colours and severity per row; unreachable rows with
// their error; alerts when a gateway leaves in_sync; the list stored with QSettings, owner-only.
#include "fleetmodel.h"
#include "hascenario.h"

#include <QDeadlineTimer>
#include <QFile>
#include <QGuiApplication>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class tst_FleetModel : public QObject
{
    Q_OBJECT

private slots:
    void rowsShowTheRightState();
    void alertsWhenAGatewayLeavesInSync();
    void storeKeepsTheFleetPrivately();
};

namespace {

GatewayAddress addressOf(GatewayProcess &gateway, const QString &name)
{
    GatewayAddress a;
    a.name = name;
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(gateway.adminPort()));
    a.tokenFile = gateway.filePath(QStringLiteral("admin.token"));
    return a;
}

} // namespace

void tst_FleetModel::rowsShowTheRightState()
{
    HaScenario s;
    QString startError;
    QVERIFY2(s.startSynced(&startError), qPrintable(startError));
    FleetModel model;
    model.setTimings(1000, 100, 500);
    QCOMPARE(model.worstSeverity(), Severity::Ok);
    const int good = model.addGateway(addressOf(s.gateway(), QStringLiteral("edge-1")));
    GatewayAddress nowhere;
    nowhere.name = QStringLiteral("gone");
    nowhere.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(TestSupport::freePort()));
    nowhere.token = QStringLiteral("t");
    const int bad = model.addGateway(nowhere);
    QCOMPARE(model.rowCount(), 2);

    QTRY_COMPARE_WITH_TIMEOUT(model.stateText(good), QStringLiteral("in sync"), 5000);
    QCOMPARE(model.index(good, FleetModel::Name).data().toString(), QStringLiteral("edge-1"));
    QCOMPARE(model.severity(good), Severity::Ok);
    QCOMPARE(model.index(good, FleetModel::State).data(Qt::ForegroundRole).value<QColor>(),
             Severity::color(Severity::Ok));
    QVERIFY(!model.index(good, FleetModel::State).data(Qt::DecorationRole).value<QIcon>().isNull());
    const QString live = model.index(good, FleetModel::LiveRevision).data().toString();
    QVERIFY(live.toLongLong() > 0);
    QTRY_COMPARE_WITH_TIMEOUT(model.index(good, FleetModel::PersistedRevision).data().toString(), live, 5000);
    QVERIFY(model.index(good, FleetModel::ControlPlane)
                .data()
                .toString()
                .startsWith(QLatin1String("connected to")));
    QVERIFY(model.badges(good).isEmpty());

    QTRY_COMPARE_WITH_TIMEOUT(model.stateText(bad), QStringLiteral("unreachable"), 5000);
    QCOMPARE(model.severity(bad), Severity::Error);
    // Between a failed attempt and the scheduling of the next, there is briefly no retry to show.
    QTRY_VERIFY_WITH_TIMEOUT(
        model.index(bad, FleetModel::Notes).data().toString().contains(QLatin1String("retry in")), 5000);
    QVERIFY(!model.index(bad, 0).data(FleetModel::ErrorRole).toString().isEmpty());
    QCOMPARE(model.worstSeverity(), Severity::Error);

    QSignalSpy worst(&model, &FleetModel::worstSeverityChanged);
    model.removeGateway(bad);
    QCOMPARE(model.worstSeverity(), Severity::Ok);
    QCOMPARE(worst.count(), 1);

    // A rejected object is a badge, and the gateway is no longer "ok".
    QVERIFY(s.put("routes/9", R"({"uri":42})") > 0);
    QTRY_VERIFY_WITH_TIMEOUT(model.badges(good).contains(QStringLiteral("1 rejected")), 5000);
    QCOMPARE(model.severity(good), Severity::Warning);
    QCOMPARE(model.stateSeverity(good), Severity::Ok); // still in sync: the state column stays green
    QCOMPARE(model.index(good, FleetModel::Notes).data(Qt::ForegroundRole).value<QColor>(),
             Severity::color(Severity::Warning));
}

void tst_FleetModel::alertsWhenAGatewayLeavesInSync()
{
    HaScenario s;
    QString startError;
    QVERIFY2(s.startSynced(&startError), qPrintable(startError));
    FleetModel model;
    model.setTimings(1000, 100, 500);
    QSignalSpy alerts(&model, &FleetModel::alert);
    const int row = model.addGateway(addressOf(s.gateway(), QStringLiteral("edge-1")));
    QTRY_COMPARE_WITH_TIMEOUT(model.stateText(row), QStringLiteral("in sync"), 5000);
    QCOMPARE(alerts.count(), 0);

    QVERIFY(s.put("routes/9", R"({"uri":42})") > 0);
    QTRY_COMPARE_WITH_TIMEOUT(alerts.count(), 1, 5000);
    QCOMPARE(alerts.at(0).at(1).toString(), QStringLiteral("edge-1 rejected routes/9"));
    QVERIFY(!alerts.at(0).at(2).toString().isEmpty()); // the reason

    s.etcd().stop();
    QTRY_VERIFY_WITH_TIMEOUT(alerts.count() >= 2, 15000);
    QCOMPARE(alerts.at(1).at(1).toString(), QStringLiteral("edge-1 is reconnecting"));
    QCOMPARE(alerts.at(1).at(3).value<Severity::Level>(), Severity::Warning);
    QCOMPARE(model.stateText(row), QStringLiteral("reconnecting"));
    QCOMPARE(model.severity(row), Severity::Warning);

    s.gateway().stop();
    QTRY_COMPARE_WITH_TIMEOUT(model.stateText(row), QStringLiteral("unreachable"), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(alerts.count() >= 3, 2000);
    QCOMPARE(alerts.last().at(1).toString(), QStringLiteral("edge-1 unreachable"));
}

void tst_FleetModel::storeKeepsTheFleetPrivately()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("console.ini"));
    GatewayAddress a;
    a.name = QStringLiteral("edge-1");
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:9180"));
    a.token = QStringLiteral("secret");
    GatewayAddress b;
    b.adminUrl = QUrl(QStringLiteral("https://gw.example:9443"));
    b.tokenFile = QStringLiteral("/var/lib/holdfast/admin.token");
    {
        QSettings settings(path, QSettings::IniFormat);
        FleetStore::save(settings, {{QStringLiteral("id-a"), a}, {QStringLiteral("id-b"), b}});
    }
    QCOMPARE(QFile::permissions(path) &
                 (QFile::ReadGroup | QFile::ReadOther | QFile::WriteGroup | QFile::WriteOther),
             QFile::Permissions());
    QSettings settings(path, QSettings::IniFormat);
    const QList<FleetStore::Entry> back = FleetStore::load(settings);
    QCOMPARE(back.size(), 2);
    QCOMPARE(back[0].id, QStringLiteral("id-a"));
    QCOMPARE(back[0].address.name, QStringLiteral("edge-1"));
    QCOMPARE(back[0].address.token, QStringLiteral("secret"));
    QCOMPARE(back[1].address.adminUrl, b.adminUrl);
    QCOMPARE(back[1].address.tokenFile, b.tokenFile);
    QCOMPARE(back[1].address.displayName(), QStringLiteral("gw.example:9443"));
}

QTEST_MAIN(tst_FleetModel)
#include "tst_fleetmodel.moc"
