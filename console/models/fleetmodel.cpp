#include "fleetmodel.h"

#include "columntitles.h"

#include <QUuid>

namespace {

QString ago(const QDateTime &when)
{
    if (!when.isValid())
        return QStringLiteral("—");
    const qint64 s = qMax<qint64>(0, when.secsTo(QDateTime::currentDateTimeUtc()));
    if (s < 60)
        return FleetModel::tr("%n s ago", nullptr, int(s));
    if (s < 3600)
        return FleetModel::tr("%n min ago", nullptr, int(s / 60));
    if (s < 86400)
        return FleetModel::tr("%n h ago", nullptr, int(s / 3600));
    return when.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

} // namespace

FleetModel::FleetModel(QObject *parent)
    : QAbstractTableModel(parent)
{
    m_clock.setInterval(1000);
    connect(&m_clock, &QTimer::timeout, this, [this] {
        if (!m_rows.empty())
            emit dataChanged(index(0, LastChange), index(rowCount() - 1, Notes));
    });
    m_clock.start();
}

FleetModel::~FleetModel() = default;

int FleetModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int FleetModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

void FleetModel::setTimings(int requestTimeoutMs, int backoffInitialMs, int backoffMaxMs)
{
    m_requestTimeoutMs = requestTimeoutMs;
    m_backoffInitialMs = backoffInitialMs;
    m_backoffMaxMs = backoffMaxMs;
    for (const auto &row : m_rows) {
        row->connection->setRequestTimeoutMs(requestTimeoutMs);
        row->connection->setBackoff(backoffInitialMs, backoffMaxMs);
    }
}

int FleetModel::addGateway(const GatewayAddress &address, const QString &id)
{
    const int row = rowCount();
    beginInsertRows({}, row, row);
    auto r = std::make_unique<Row>();
    r->id = id.isEmpty() ? QUuid::createUuid().toString(QUuid::WithoutBraces) : id;
    r->connection = std::make_unique<GatewayConnection>(address);
    r->connection->setRequestTimeoutMs(m_requestTimeoutMs);
    r->connection->setBackoff(m_backoffInitialMs, m_backoffMaxMs);
    connectRow(r.get());
    m_rows.push_back(std::move(r));
    endInsertRows();
    m_rows.back()->connection->start();
    updateWorst();
    emit listChanged();
    return row;
}

void FleetModel::connectRow(Row *row)
{
    GatewayConnection *c = row->connection.get();
    const auto changed = [this, c] { rowChanged(c); };
    connect(c, &GatewayConnection::statusChanged, this, changed);
    connect(c, &GatewayConnection::linkChanged, this, changed);
    connect(c, &GatewayConnection::errorChanged, this, changed);
}

void FleetModel::updateGateway(int row, const GatewayAddress &address)
{
    if (row < 0 || row >= rowCount())
        return;
    m_rows[size_t(row)]->connection->setAddress(address);
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
    emit gatewayChanged(row);
    emit listChanged();
}

void FleetModel::removeGateway(int row)
{
    if (row < 0 || row >= rowCount())
        return;
    beginRemoveRows({}, row, row);
    m_rows.erase(m_rows.begin() + row);
    endRemoveRows();
    updateWorst();
    emit listChanged();
}

int FleetModel::findUrl(const QUrl &adminUrl) const
{
    const QUrl wanted = adminUrl.adjusted(QUrl::StripTrailingSlash);
    for (size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i]->connection->address().adminUrl.adjusted(QUrl::StripTrailingSlash) == wanted)
            return int(i);
    }
    return -1;
}

int FleetModel::rowOfId(const QString &id) const
{
    for (size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i]->id == id)
            return int(i);
    }
    return -1;
}

GatewayConnection *FleetModel::connection(int row) const
{
    return row >= 0 && row < rowCount() ? m_rows[size_t(row)]->connection.get() : nullptr;
}

QList<FleetStore::Entry> FleetModel::entries() const
{
    QList<FleetStore::Entry> out;
    for (const auto &row : m_rows)
        out.append({row->id, row->connection->address()});
    return out;
}

void FleetModel::rowChanged(GatewayConnection *connection)
{
    for (size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i]->connection.get() != connection)
            continue;
        emit dataChanged(index(int(i), 0), index(int(i), ColumnCount - 1));
        checkAlerts(*m_rows[i]);
        emit gatewayChanged(int(i));
        break;
    }
    updateWorst();
}

Severity::Level FleetModel::severity(int row) const
{
    const Severity::Level state = stateSeverity(row);
    const GatewayConnection *c = connection(row);
    if (state == Severity::Ok && c && c->status() &&
        (!c->status()->persisted.error.isEmpty() || !c->status()->rejected.isEmpty()))
        return Severity::Warning;
    return state;
}

Severity::Level FleetModel::stateSeverity(int row) const
{
    const GatewayConnection *c = connection(row);
    if (!c)
        return Severity::Ok;
    if (c->link() == GatewayConnection::Link::Down)
        return Severity::Error;
    const auto &s = c->status();
    if (!s)
        return c->error().isError() ? Severity::Error : Severity::Busy;
    using S = GatewayStatus::State;
    switch (s->state) {
    case S::InSync:
    case S::Standalone:
        return Severity::Ok;
    case S::Starting:
    case S::Syncing:
        return s->live.revision ? Severity::Warning : Severity::Busy;
    case S::OfflineLocal:
    case S::Reconnecting:
        return Severity::Warning;
    }
    return Severity::Error;
}

Severity::Level FleetModel::worstSeverity() const
{
    Severity::Level worst = Severity::Ok;
    for (int i = 0; i < rowCount(); ++i)
        worst = qMax(worst, severity(i));
    return worst;
}

void FleetModel::updateWorst()
{
    const Severity::Level worst = worstSeverity();
    if (worst != m_worst) {
        m_worst = worst;
        emit worstSeverityChanged(worst);
    }
}

QString FleetModel::stateText(int row) const
{
    const GatewayConnection *c = connection(row);
    if (!c)
        return {};
    if (c->link() == GatewayConnection::Link::Down || (!c->status() && c->error().isError())) {
        switch (c->error().kind()) {
        case ConnectorError::Kind::Auth:
            return tr("wrong token");
        case ConnectorError::Kind::Tls:
            return tr("TLS error");
        case ConnectorError::Kind::UnexpectedDocument:
            return tr("not a gateway");
        case ConnectorError::Kind::Timeout:
            return tr("not answering");
        default:
            return tr("unreachable");
        }
    }
    if (!c->status())
        return tr("connecting…");
    return StatusFacts::describe(c->status()->state);
}

QStringList FleetModel::badges(int row) const
{
    const GatewayConnection *c = connection(row);
    QStringList out;
    if (!c || !c->status())
        return out;
    const GatewayStatus &s = *c->status();
    if (StatusFacts::liveDiffersFromPersisted(s))
        out << tr("live ≠ persisted");
    if (!s.rejected.isEmpty())
        out << tr("%n rejected", nullptr, int(s.rejected.size()));
    if (s.persisted.edited)
        out << tr("hand-edited");
    if (!s.persisted.error.isEmpty())
        out << tr("persist error");
    if (c->link() == GatewayConnection::Link::Polling)
        out << tr("polling");
    return out;
}

QString FleetModel::lastChangeText(const GatewayConnection &c) const
{
    return c.status() ? ago(c.status()->since) : QStringLiteral("—");
}

QString FleetModel::controlPlaneText(const GatewayConnection &c) const
{
    if (!c.status())
        return QStringLiteral("—");
    const GatewayStatus::ControlPlane &cp = c.status()->controlPlane;
    if (c.status()->state == GatewayStatus::State::Standalone)
        return tr("file %1").arg(cp.endpoints.value(0));
    if (cp.connected)
        return tr("connected to %1").arg(cp.endpoint.isEmpty() ? cp.endpoints.value(0) : cp.endpoint);
    QString text = tr("not connected");
    if (!cp.lastError.isEmpty())
        text += QStringLiteral(": %1").arg(cp.lastError);
    return text;
}

QVariant FleetModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const int row = index.row();
    const GatewayConnection &c = *m_rows[size_t(row)]->connection;
    const auto &s = c.status();
    const Severity::Level level = severity(row);
    const Severity::Level stateLevel = stateSeverity(row);

    switch (role) {
    case SeverityRole:
        return int(level);
    case IdRole:
        return m_rows[size_t(row)]->id;
    case StateTextRole:
        return stateText(row);
    case BadgesRole:
        return badges(row);
    case ErrorRole:
        return c.error().isError() ? c.error().toString() : QString();
    case Qt::DecorationRole:
        if (index.column() == State)
            return Severity::icon(stateLevel);
        return {};
    case Qt::ForegroundRole:
        if (index.column() == State)
            return Severity::color(stateLevel);
        if (index.column() == Notes && level >= Severity::Warning)
            return Severity::color(level);
        return {};
    case Qt::ToolTipRole:
        switch (index.column()) {
        case Name:
            return c.address().adminUrl.toString();
        case State:
        case Notes:
            if (c.error().isError())
                return c.error().toString();
            return s ? s->cause : QString();
        case LastChange:
            return s && s->since.isValid() ? s->since.toLocalTime().toString(Qt::ISODate) : QString();
        case LiveRevision:
            return s ? s->live.sha256 : QString();
        case PersistedRevision:
            return s ? QStringLiteral("%1 %2").arg(s->persisted.file, s->persisted.sha256) : QString();
        default:
            return {};
        }
    case Qt::DisplayRole:
        switch (index.column()) {
        case Name:
            return c.address().displayName();
        case State:
            return stateText(row);
        case LiveRevision:
            return s ? StatusFacts::revisionText(s->live.revision) : QStringLiteral("—");
        case PersistedRevision:
            return s ? StatusFacts::revisionText(s->persisted.revision) : QStringLiteral("—");
        case LastChange:
            return lastChangeText(c);
        case ControlPlane:
            return controlPlaneText(c);
        case Notes: {
            if (c.link() == GatewayConnection::Link::Down || (!s && c.error().isError())) {
                // The URL is in the tooltip and the detail; the column has room for the reason.
                QString text = c.error().message();
                const QString prefix = c.address().adminUrl.toString(QUrl::StripTrailingSlash);
                const qsizetype colon = text.indexOf(QLatin1String(": "), prefix.size());
                if (text.startsWith(prefix) && colon > 0)
                    text = text.mid(colon + 2);
                if (c.nextRetryAt().isValid())
                    text +=
                        tr(" — retry in %1 s")
                            .arg(qMax<qint64>(0, QDateTime::currentDateTimeUtc().secsTo(c.nextRetryAt())));
                return text;
            }
            return badges(row).join(QStringLiteral(" · "));
        }
        default:
            return {};
        }
    default:
        return {};
    }
}

QVariant FleetModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    return ColumnTitles({tr("Gateway"), tr("State"), tr("Live"), tr("Persisted"), tr("Last change"),
                         tr("Control plane"), tr("Notes")})
        .headerData(section, orientation, role);
}

void FleetModel::checkAlerts(Row &row)
{
    const GatewayConnection &c = *row.connection;
    const QString name = c.address().displayName();
    const bool reachable = c.link() != GatewayConnection::Link::Down;
    if (row.wasReachable && !reachable && c.error().isError())
        emit alert(name, tr("%1 unreachable").arg(name), c.error().message(), Severity::Error);
    row.wasReachable = reachable;
    if (!c.status() || !reachable)
        return;
    const GatewayStatus &s = *c.status();
    if (row.wasHealthy && !StatusFacts::healthy(s))
        emit alert(name, tr("%1 is %2").arg(name, StatusFacts::describe(s.state)), s.cause,
                   Severity::Warning);
    row.wasHealthy = StatusFacts::healthy(s);
    if (!s.persisted.error.isEmpty() && s.persisted.error != row.lastPersistError)
        emit alert(name, tr("%1 cannot persist its configuration").arg(name), s.persisted.error,
                   Severity::Warning);
    row.lastPersistError = s.persisted.error;
    if (s.rejected.size() > row.lastRejected) {
        const GatewayStatus::Rejection &r = s.rejected.last();
        emit alert(name, tr("%1 rejected %2").arg(name, r.key), r.reason, Severity::Warning);
    }
    row.lastRejected = int(s.rejected.size());
}
