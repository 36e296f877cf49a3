#include "gatewaylistmodel.h"

#include <QSignalSpy>
#include <QTest>

class tst_GatewayListModel : public QObject
{
    Q_OBJECT

private slots:
    void addsHttpGateways();
    void rejectsBadAndDuplicateAddresses();
    void removesRows();
};

void tst_GatewayListModel::addsHttpGateways()
{
    GatewayListModel model;
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QVERIFY(model.addGateway(QUrl(QStringLiteral("http://127.0.0.1:9180"))));
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(model.columnCount(), int(GatewayListModel::ColumnCount));
    QCOMPARE(model.data(model.index(0, GatewayListModel::Address)).toString(),
             QStringLiteral("http://127.0.0.1:9180"));
    QCOMPARE(model.data(model.index(0, GatewayListModel::State)).toString(), QStringLiteral("unknown"));
    QCOMPARE(model.data(model.index(0, GatewayListModel::LiveRevision)).toString(), QStringLiteral("—"));
}

void tst_GatewayListModel::rejectsBadAndDuplicateAddresses()
{
    GatewayListModel model;
    QVERIFY(!model.addGateway(QUrl(QStringLiteral("ftp://127.0.0.1"))));
    QVERIFY(!model.addGateway(QUrl(QStringLiteral("not a url"))));
    QVERIFY(model.addGateway(QUrl(QStringLiteral("http://127.0.0.1:9180"))));
    QVERIFY(!model.addGateway(QUrl(QStringLiteral("http://127.0.0.1:9180"))));
    QCOMPARE(model.rowCount(), 1);
}

void tst_GatewayListModel::removesRows()
{
    GatewayListModel model;
    model.addGateway(QUrl(QStringLiteral("http://127.0.0.1:9180")));
    model.addGateway(QUrl(QStringLiteral("http://127.0.0.2:9180")));
    model.removeGateway(0);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.gateways().first().adminUrl.host(), QStringLiteral("127.0.0.2"));
    model.removeGateway(5); // out of range: nothing happens
    QCOMPARE(model.rowCount(), 1);
}

QTEST_GUILESS_MAIN(tst_GatewayListModel)
#include "tst_gatewaylistmodel.moc"
