#include "detailmodel.h"

#include "severity.h"

#include <QBrush>
#include <QFont>

namespace {

QString dateText(const QDateTime &when)
{
    if (!when.isValid())
        return QStringLiteral("—");
    const qint64 s = qMax<qint64>(0, when.secsTo(QDateTime::currentDateTimeUtc()));
    return QStringLiteral("%1 (%2 s ago)").arg(when.toLocalTime().toString(Qt::ISODate)).arg(s);
}

QString orDash(const QString &text)
{
    return text.isEmpty() ? QStringLiteral("—") : text;
}

} // namespace

DetailModel::DetailModel(QObject *parent)
    : TwoLevelModel(ColumnTitles({tr("Field"), tr("Value")}), parent)
{}

void DetailModel::setConnection(GatewayConnection *connection)
{
    if (m_connection)
        m_connection->disconnect(this);
    m_connection = connection;
    if (connection) {
        connect(connection, &GatewayConnection::statusChanged, this, &DetailModel::rebuild);
        connect(connection, &GatewayConnection::linkChanged, this, &DetailModel::rebuild);
        connect(connection, &GatewayConnection::errorChanged, this, &DetailModel::rebuild);
    }
    rebuild();
}

void DetailModel::rebuild()
{
    QList<Section> sections;
    if (GatewayConnection *c = m_connection) {
        Section link{tr("Connection"), {}};
        link.fields << Field{tr("admin API"), c->address().adminUrl.toString()};
        link.fields << Field{tr("link"), GatewayConnection::linkName(c->link())};
        if (c->error().isError())
            link.fields << Field{tr("error"), c->error().toString(), true};
        if (c->nextRetryAt().isValid() && c->link() != GatewayConnection::Link::Following)
            link.fields << Field{tr("next retry"), c->nextRetryAt().toLocalTime().toString(Qt::ISODate)};
        if (c->statusReceivedAt().isValid())
            link.fields << Field{tr("status received"), dateText(c->statusReceivedAt())};
        sections << link;

        if (const auto &s = c->status()) {
            const bool bad = !StatusFacts::healthy(*s);
            sections << Section{
                tr("State"),
                {Field{tr("state"), StatusFacts::describe(s->state), bad},
                 Field{tr("since"), dateText(s->since)}, Field{tr("cause"), orDash(s->cause)},
                 Field{tr("ready"),
                       s->ready ? tr("yes: serving a configuration") : tr("no: every request gets 404"),
                       !s->ready},
                 Field{tr("version"), orDash(s->version)}}};
            const GatewayStatus::ControlPlane &cp = s->controlPlane;
            Section control{
                tr("Control plane"),
                {Field{tr("type"), orDash(cp.type)},
                 Field{tr("endpoints"), orDash(cp.endpoints.join(QLatin1String(", ")))},
                 Field{tr("prefix"), orDash(cp.prefix)},
                 Field{tr("connected"), cp.connected ? tr("yes, to %1").arg(cp.endpoint) : tr("no"),
                       !cp.connected && s->state != GatewayStatus::State::Standalone},
                 Field{tr("last answer"), dateText(cp.lastOk)},
                 Field{tr("last error"), orDash(cp.lastError), !cp.lastError.isEmpty()}}};
            if (cp.retryInMs >= 0)
                control.fields << Field{tr("retry in"), tr("%1 ms").arg(cp.retryInMs)};
            sections << control;
            const GatewayStatus::Counts &n = s->live.counts;
            sections << Section{tr("Live"),
                                {Field{tr("revision"), StatusFacts::revisionText(s->live.revision)},
                                 Field{tr("sha256"), orDash(s->live.sha256)},
                                 Field{tr("from"), orDash(GatewayStatus::originName(s->live.from))},
                                 Field{tr("counts"), tr("%1 routes, %2 upstreams, %3 services")
                                                         .arg(n.routes)
                                                         .arg(n.upstreams)
                                                         .arg(n.services)}}};
            const GatewayStatus::Persisted &p = s->persisted;
            Section persisted{tr("Persisted"),
                              {Field{tr("revision"), StatusFacts::revisionText(p.revision),
                                     StatusFacts::liveDiffersFromPersisted(*s)},
                               Field{tr("sha256"), orDash(p.sha256)}, Field{tr("file"), orDash(p.file)},
                               Field{tr("loaded at start"), orDash(p.loadedAtStart)},
                               Field{tr("saved"), dateText(p.savedAt)},
                               Field{tr("edited by hand"), p.edited ? tr("yes") : tr("no"), p.edited}}};
            for (const QString &attempt : p.attempts)
                persisted.fields << Field{tr("load attempt"), attempt};
            if (!p.editedKeptAs.isEmpty())
                persisted.fields << Field{tr("edited copy kept as"), p.editedKeptAs};
            persisted.fields << Field{tr("error"), orDash(p.error), !p.error.isEmpty()};
            if (!p.error.isEmpty()) {
                persisted.fields << Field{tr("error since"), dateText(p.errorSince), true};
                if (p.retryInMs >= 0)
                    persisted.fields << Field{tr("retry in"), tr("%1 ms").arg(p.retryInMs)};
            }
            sections << persisted;
            Section rejected{tr("Rejected (%1)").arg(s->rejected.size()), {}};
            for (const GatewayStatus::Rejection &r : s->rejected)
                rejected.fields << Field{
                    r.key, r.revision > 0 ? tr("%1 (revision %2)").arg(r.reason).arg(r.revision) : r.reason,
                    true};
            if (s->rejected.isEmpty())
                rejected.fields << Field{tr("none"), QString()};
            sections << rejected;
        }
    }
    beginResetModel();
    m_sections = sections;
    endResetModel();
}

QString DetailModel::value(const QString &section, const QString &field) const
{
    for (const Section &s : m_sections) {
        if (s.title != section)
            continue;
        for (const Field &f : s.fields) {
            if (f.name == field)
                return f.value;
        }
    }
    return {};
}

int DetailModel::groupCount() const
{
    return int(m_sections.size());
}

int DetailModel::itemCount(int group) const
{
    return int(m_sections.at(group).fields.size());
}

QVariant DetailModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    if (isGroup(index)) {
        if (role == Qt::DisplayRole && index.column() == 0)
            return m_sections.at(index.row()).title;
        if (role == Qt::FontRole) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        return {};
    }
    const Field &f = m_sections.at(groupOf(index)).fields.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return index.column() == 0 ? f.name : f.value;
    case Qt::ToolTipRole:
        return f.value;
    case Qt::ForegroundRole:
        if (f.alarm && index.column() == 1)
            return QBrush(Severity::color(Severity::Error));
        return {};
    default:
        return {};
    }
}
