#include "upstreammodel.h"

#include "severity.h"

#include <QBrush>

UpstreamModel::UpstreamModel(QObject *parent)
    : QAbstractItemModel(parent)
{}

void UpstreamModel::setUpstreams(const UpstreamsView &view)
{
    beginResetModel();
    m_view = view;
    endResetModel();
}

void UpstreamModel::clear()
{
    setUpstreams({});
}

QModelIndex UpstreamModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < m_view.upstreams.size() ? createIndex(row, column, quintptr(0)) : QModelIndex();
    if (parent.internalId() != 0 || row >= m_view.upstreams.at(parent.row()).nodes.size())
        return {};
    return createIndex(row, column, quintptr(parent.row() + 1));
}

QModelIndex UpstreamModel::parent(const QModelIndex &child) const
{
    if (!child.isValid() || child.internalId() == 0)
        return {};
    return createIndex(int(child.internalId()) - 1, 0, quintptr(0));
}

int UpstreamModel::rowCount(const QModelIndex &parent) const
{
    if (!parent.isValid())
        return int(m_view.upstreams.size());
    if (parent.internalId() != 0 || parent.column() != 0)
        return 0;
    return int(m_view.upstreams.at(parent.row()).nodes.size());
}

int UpstreamModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

QVariant UpstreamModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    if (index.internalId() == 0) {
        const UpstreamsView::Upstream &u = m_view.upstreams.at(index.row());
        const bool checked = u.activeChecks || u.passiveChecks;
        const bool allDown = checked && u.healthyNodes() == 0;
        if (role == Qt::ForegroundRole && index.column() == Health && checked)
            return QBrush(Severity::color(allDown                             ? Severity::Error
                                          : u.healthyNodes() < u.nodes.size() ? Severity::Warning
                                                                              : Severity::Ok));
        if (role != Qt::DisplayRole)
            return {};
        switch (index.column()) {
        case Name:
            return QStringLiteral("%1 (%2)").arg(u.key, u.type);
        case Health: {
            if (!checked)
                return tr("no checks");
            QStringList by;
            if (u.activeChecks)
                by << tr("active");
            if (u.passiveChecks)
                by << tr("passive");
            return tr("%1/%2 healthy (%3)")
                .arg(u.healthyNodes())
                .arg(u.nodes.size())
                .arg(by.join(QLatin1Char('+')));
        }
        case Connections: {
            int open = 0;
            for (const UpstreamsView::Node &n : u.nodes)
                open += n.openConnections;
            return open;
        }
        default:
            return {};
        }
    }
    const UpstreamsView::Node &n = m_view.upstreams.at(int(index.internalId()) - 1).nodes.at(index.row());
    if (role == Qt::ForegroundRole && index.column() == Health && n.checked)
        return QBrush(Severity::color(n.healthy ? Severity::Ok : Severity::Error));
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Name:
        return n.address;
    case Health:
        return !n.checked ? tr("unchecked") : n.healthy ? tr("healthy") : tr("unhealthy");
    case Weight:
        return n.weight;
    case Connections:
        return tr("%1 open, %2 idle").arg(n.openConnections).arg(n.idleConnections);
    default:
        return {};
    }
}

QVariant UpstreamModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name:
        return tr("Upstream / node");
    case Health:
        return tr("Health");
    case Weight:
        return tr("Weight");
    case Connections:
        return tr("Connections");
    default:
        return {};
    }
}
