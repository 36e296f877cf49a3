// The console's window opens (offscreen) and shows the gateway list.
#include "gatewaylistmodel.h"
#include "mainwindow.h"

#include <QApplication>
#include <QTableView>
#include <QTest>
#include <QToolBar>

class tst_MainWindow : public QObject
{
    Q_OBJECT

private slots:
    void opensWithGatewayTable();
};

void tst_MainWindow::opensWithGatewayTable()
{
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Holdfast Console"));
    auto *view = window.findChild<QTableView *>();
    QVERIFY(view);
    QVERIFY(qobject_cast<GatewayListModel *>(view->model()));
    QCOMPARE(view->model()->headerData(0, Qt::Horizontal).toString(), QStringLiteral("Gateway"));
    QVERIFY(window.findChild<QToolBar *>(QStringLiteral("gatewaysToolbar")));
}

QTEST_MAIN(tst_MainWindow)
#include "tst_mainwindow.moc"
