#include "gatewaylistmodel.h"

int GatewayListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_gateways.size());
}

int GatewayListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant GatewayListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_gateways.size() || role != Qt::DisplayRole)
        return {};
    const Gateway &g = m_gateways.at(index.row());
    const auto revision = [](qint64 r) { return r < 0 ? QStringLiteral("—") : QString::number(r); };
    switch (index.column()) {
    case Address:
        return g.adminUrl.toDisplayString();
    case State:
        return g.state;
    case LiveRevision:
        return revision(g.liveRevision);
    case PersistedRevision:
        return revision(g.persistedRevision);
    case Digest:
        return g.liveSha256.left(12);
    default:
        return {};
    }
}

QVariant GatewayListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Address:
        return tr("Gateway");
    case State:
        return tr("State");
    case LiveRevision:
        return tr("Live revision");
    case PersistedRevision:
        return tr("Persisted revision");
    case Digest:
        return tr("Live digest");
    default:
        return {};
    }
}

bool GatewayListModel::addGateway(const QUrl &adminUrl)
{
    if (!adminUrl.isValid() ||
        (adminUrl.scheme() != QLatin1String("http") && adminUrl.scheme() != QLatin1String("https")) ||
        adminUrl.host().isEmpty())
        return false;
    for (const Gateway &g : std::as_const(m_gateways)) {
        if (g.adminUrl == adminUrl)
            return false;
    }
    beginInsertRows({}, int(m_gateways.size()), int(m_gateways.size()));
    Gateway gateway;
    gateway.adminUrl = adminUrl;
    m_gateways.append(gateway);
    endInsertRows();
    return true;
}

void GatewayListModel::removeGateway(int row)
{
    if (row < 0 || row >= m_gateways.size())
        return;
    beginRemoveRows({}, row, row);
    m_gateways.removeAt(row);
    endRemoveRows();
}
