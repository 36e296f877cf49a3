// The console's window offscreen: the first-start empty state, then a real gateway added through
// --connect's path, shown in the table, its detail, diff and upstream tabs filled from the models.
#include "autostart.h"
#include "detailmodel.h"
#include "diffmodel.h"
#include "fleetmodel.h"
#include "hascenario.h"
#include "mainwindow.h"
#include "upstreammodel.h"

#include <QApplication>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QSettings>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTableView>
#include <QTabWidget>
#include <QTest>
#include <QToolBar>

class tst_MainWindow : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void firstStartShowsEmptyState();
    void connectShowsGatewayDetailDiffAndUpstreams();
    void autostartWritesAndRemovesTheXdgEntry();
};

void tst_MainWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // QSettings and autostart under ~/.qttest
    QApplication::setOrganizationName(QStringLiteral("HoldfastTest"));
    QApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
    QSettings().clear();
}

void tst_MainWindow::firstStartShowsEmptyState()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Holdfast Console"));
    auto *stack = qobject_cast<QStackedWidget *>(window.centralWidget());
    QVERIFY(stack);
    QCOMPARE(stack->currentWidget()->objectName(), QStringLiteral("emptyState"));
    bool said = false;
    for (QLabel *label : stack->currentWidget()->findChildren<QLabel *>())
        said = said || label->text().contains(QLatin1String("No gateways yet"));
    QVERIFY(said);
    QCOMPARE(window.fleetView()->model()->headerData(0, Qt::Horizontal).toString(),
             QStringLiteral("Gateway"));
    QVERIFY(window.findChild<QToolBar *>(QStringLiteral("gatewaysToolbar")));
}

void tst_MainWindow::connectShowsGatewayDetailDiffAndUpstreams()
{
    HaScenario s;
    QString error;
    QVERIFY2(s.startSynced(&error), qPrintable(error));

    GatewayAddress a;
    a.adminUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(s.gateway().adminPort()));
    a.tokenFile = s.gateway().filePath(QStringLiteral("admin.token"));
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.connectTo(a);
        auto *stack = qobject_cast<QStackedWidget *>(window.centralWidget());
        QVERIFY(stack->currentWidget()->objectName() != QLatin1String("emptyState"));
        QCOMPARE(window.fleet()->rowCount(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(window.fleet()->stateText(0), QStringLiteral("in sync"), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(
            window.detailModel()->value(QStringLiteral("State"), QStringLiteral("state")),
            QStringLiteral("in sync"), 5000);
        QCOMPARE(window.detailModel()->value(QStringLiteral("Persisted"), QStringLiteral("file")),
                 QStringLiteral("config.json"));

        window.tabs()->setCurrentIndex(1);
        QTRY_VERIFY_WITH_TIMEOUT(!window.diffModel()->isBuilding() &&
                                     window.findChild<QLabel *>(QStringLiteral("diffMessage"))
                                         ->text()
                                         .startsWith(QLatin1String("No differences")),
                                 5000);
        window.tabs()->setCurrentIndex(2);
        QTRY_COMPARE_WITH_TIMEOUT(window.upstreamModel()->rowCount(), 1, 5000);
        window.close();
    }
    // The fleet was stored: a new window watches the same gateway.
    MainWindow again;
    QCOMPARE(again.fleet()->rowCount(), 1);
    QCOMPARE(again.fleet()->connection(0)->address().adminUrl, a.adminUrl);
}

void tst_MainWindow::autostartWritesAndRemovesTheXdgEntry()
{
    const QString entry = QDir(QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation))
                              .filePath(QStringLiteral("autostart/holdfast-console.desktop"));
    QFile::remove(entry);
    QVERIFY(!Autostart::isEnabled());
    QString error;
    QVERIFY2(Autostart::setEnabled(true, QStringLiteral("/opt/holdfast/bin/holdfast-console"), &error),
             qPrintable(error));
    QVERIFY(Autostart::isEnabled());
    QFile file(entry);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray text = file.readAll();
    QVERIFY(text.startsWith("[Desktop Entry]\n"));
    QVERIFY(text.contains("\nExec=/opt/holdfast/bin/holdfast-console --minimized\n"));
    file.close();
    QVERIFY(Autostart::setEnabled(false, QString(), &error));
    QVERIFY(!Autostart::isEnabled());
    QVERIFY(!QFile::exists(entry));
}

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
