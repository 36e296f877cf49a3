#include "upstreammodel.h"

#include "severity.h"

#include <QBrush>

UpstreamModel::UpstreamModel(QObject *parent)
    : TwoLevelModel(ColumnTitles({tr("Upstream / node"), tr("Health"), tr("Weight"), tr("Connections")}),
                    parent)
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

int UpstreamModel::groupCount() const
{
    return int(m_view.upstreams.size());
}

int UpstreamModel::itemCount(int group) const
{
    return int(m_view.upstreams.at(group).nodes.size());
}

QVariant UpstreamModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    if (isGroup(index)) {
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
    const UpstreamsView::Node &n = m_view.upstreams.at(groupOf(index)).nodes.at(index.row());
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
