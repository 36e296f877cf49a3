// A tree of two levels (groups, each with its items) with titled columns: the index arithmetic the console's
// detail and upstream models share. A group's index has internal id 0, an item's the row of its group + 1.
#pragma once

#include "columntitles.h"

#include <QAbstractItemModel>

class TwoLevelModel : public QAbstractItemModel
{
    Q_OBJECT

public:
    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

protected:
    TwoLevelModel(ColumnTitles titles, QObject *parent);

    virtual int groupCount() const = 0;
    virtual int itemCount(int group) const = 0;
    static bool isGroup(const QModelIndex &index) { return index.internalId() == 0; }
    // The group row of an item's index.
    static int groupOf(const QModelIndex &item) { return int(item.internalId()) - 1; }

private:
    ColumnTitles m_titles;
};
