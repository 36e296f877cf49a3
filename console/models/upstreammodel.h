// A gateway's upstreams and their nodes as a tree: health as the checks see it, weight, connections.
#pragma once

#include "upstreamsview.h"

#include <QAbstractItemModel>

class UpstreamModel : public QAbstractItemModel
{
    Q_OBJECT

public:
    enum Column
    {
        Name,
        Health,
        Weight,
        Connections,
        ColumnCount
    };

    explicit UpstreamModel(QObject *parent = nullptr);

    void setUpstreams(const UpstreamsView &view);
    void clear();
    const UpstreamsView &upstreams() const { return m_view; }

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    UpstreamsView m_view;
};
