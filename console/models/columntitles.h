// The horizontal header of a console model: one title per column, in column order.
#pragma once

#include <QStringList>
#include <QVariant>

class ColumnTitles
{
public:
    explicit ColumnTitles(QStringList titles)
        : m_titles(std::move(titles))
    {}

    int count() const { return int(m_titles.size()); }
    // What QAbstractItemModel::headerData answers: the title for a horizontal display role, else nothing.
    QVariant headerData(int section, Qt::Orientation orientation, int role) const;

private:
    QStringList m_titles;
};
