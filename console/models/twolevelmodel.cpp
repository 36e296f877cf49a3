#include "twolevelmodel.h"

TwoLevelModel::TwoLevelModel(ColumnTitles titles, QObject *parent)
    : QAbstractItemModel(parent)
    , m_titles(std::move(titles))
{}

QModelIndex TwoLevelModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= m_titles.count())
        return {};
    if (!parent.isValid())
        return row < groupCount() ? createIndex(row, column, quintptr(0)) : QModelIndex();
    if (!isGroup(parent) || row >= itemCount(parent.row()))
        return {};
    return createIndex(row, column, quintptr(parent.row() + 1));
}

QModelIndex TwoLevelModel::parent(const QModelIndex &child) const
{
    if (!child.isValid() || isGroup(child))
        return {};
    return createIndex(groupOf(child), 0, quintptr(0));
}

int TwoLevelModel::rowCount(const QModelIndex &parent) const
{
    if (!parent.isValid())
        return groupCount();
    if (!isGroup(parent) || parent.column() != 0)
        return 0;
    return itemCount(parent.row());
}

int TwoLevelModel::columnCount(const QModelIndex &) const
{
    return m_titles.count();
}

QVariant TwoLevelModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    return m_titles.headerData(section, orientation, role);
}
