// The gateways the console watches, one row each: address, sync state and the live/persisted revisions.
#pragma once

#include <QAbstractTableModel>
#include <QList>
#include <QUrl>

class GatewayListModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column
    {
        Address,
        State,
        LiveRevision,
        PersistedRevision,
        Digest,
        ColumnCount
    };

    struct Gateway
    {
        QUrl adminUrl;
        QString state = QStringLiteral("unknown");
        qint64 liveRevision = -1;
        qint64 persistedRevision = -1;
        QString liveSha256;
    };

    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // False (and nothing added) for a URL that is not http(s) or is already listed.
    bool addGateway(const QUrl &adminUrl);
    void removeGateway(int row);
    const QList<Gateway> &gateways() const { return m_gateways; }

private:
    QList<Gateway> m_gateways;
};
