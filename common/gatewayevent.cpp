#include "gatewayevent.h"

#include "jsonreader.h"

namespace {

QJsonObject countsJson(const GatewayStatus::Counts &c)
{
    return {{QStringLiteral("routes"), c.routes},
            {QStringLiteral("upstreams"), c.upstreams},
            {QStringLiteral("services"), c.services}};
}

GatewayStatus::Counts readCounts(JsonReader &parent)
{
    JsonReader r = parent.child("counts");
    GatewayStatus::Counts c;
    c.routes = r.integer("routes");
    c.upstreams = r.integer("upstreams");
    c.services = r.integer("services");
    return c;
}

QJsonObject payloadJson(const GatewayEvent::StateChange &e)
{
    return {{QStringLiteral("state"), GatewayStatus::stateName(e.state)},
            {QStringLiteral("cause"), e.cause},
            {QStringLiteral("since"), JsonReader::dateValue(e.since)}};
}

QJsonObject payloadJson(const GatewayEvent::Applied &e)
{
    return {{QStringLiteral("revision"), e.revision},
            {QStringLiteral("sha256"), e.sha256},
            {QStringLiteral("counts"), countsJson(e.counts)}};
}

QJsonObject payloadJson(const GatewayEvent::Rejected &e)
{
    return e.toJson();
}

QJsonObject payloadJson(const GatewayEvent::Status &e)
{
    return e.toJson();
}

QJsonObject payloadJson(const GatewayEvent::Persisted &e)
{
    QJsonObject out{{QStringLiteral("ok"), e.ok},
                    {QStringLiteral("revision"), e.revision},
                    {QStringLiteral("sha256"), e.sha256},
                    {QStringLiteral("latency_ms"), e.latencyMs}};
    if (e.ok) {
        out.insert(QStringLiteral("saved_at"), JsonReader::dateValue(e.savedAt));
        if (!e.editedKeptAs.isEmpty())
            out.insert(QStringLiteral("edited_kept_as"), e.editedKeptAs);
    } else {
        out.insert(QStringLiteral("error"), e.error);
        out.insert(QStringLiteral("retry_in_ms"), e.retryInMs);
    }
    return out;
}

} // namespace

bool GatewayEvent::StateChange::operator==(const StateChange &o) const
{
    return state == o.state && cause == o.cause && since == o.since;
}

bool GatewayEvent::Applied::operator==(const Applied &o) const
{
    return revision == o.revision && sha256 == o.sha256 && counts == o.counts;
}

bool GatewayEvent::Persisted::operator==(const Persisted &o) const
{
    return ok == o.ok && revision == o.revision && sha256 == o.sha256 && latencyMs == o.latencyMs &&
           savedAt == o.savedAt && editedKeptAs == o.editedKeptAs && error == o.error &&
           retryInMs == o.retryInMs;
}

QByteArray GatewayEvent::name() const
{
    static const char *const names[] = {"state", "applied", "rejected", "persisted", "status"};
    static_assert(std::variant_size_v<Payload> == std::size(names));
    return names[m_payload.index()];
}

QJsonObject GatewayEvent::toJson() const
{
    return std::visit([](const auto &payload) { return payloadJson(payload); }, m_payload);
}

std::optional<GatewayEvent> GatewayEvent::fromJson(const QByteArray &name, const QJsonObject &data,
                                                   QString *error)
{
    error->clear();
    JsonReader r(data, QString::fromLatin1(name), error);
    std::optional<GatewayEvent> event;
    if (name == "state") {
        StateChange e;
        const QString state = r.string("state");
        if (const auto known = GatewayStatus::stateFromName(state))
            e.state = *known;
        else
            r.fail(QStringLiteral("state"), QStringLiteral("unknown state \"%1\"").arg(state));
        e.cause = r.string("cause");
        e.since = r.date("since");
        event.emplace(e);
    } else if (name == "applied") {
        Applied e;
        e.revision = r.integer("revision");
        e.sha256 = r.string("sha256");
        e.counts = readCounts(r);
        event.emplace(e);
    } else if (name == "rejected") {
        event.emplace(Rejected::read(r));
    } else if (name == "persisted") {
        Persisted e;
        e.ok = r.boolean("ok");
        e.revision = r.integer("revision");
        e.sha256 = r.string("sha256");
        e.latencyMs = r.integer("latency_ms");
        if (e.ok) {
            e.savedAt = r.date("saved_at");
            if (r.has("edited_kept_as"))
                e.editedKeptAs = r.string("edited_kept_as");
        } else {
            e.error = r.string("error");
            e.retryInMs = int(r.integer("retry_in_ms"));
        }
        event.emplace(e);
    } else if (name == "status") {
        if (std::optional<Status> status = GatewayStatus::fromJson(data, error))
            event.emplace(std::move(*status));
        else
            *error = QStringLiteral("status.%1").arg(*error);
    } else {
        *error = QStringLiteral("unknown event \"%1\"").arg(QString::fromLatin1(name));
    }
    if (!error->isEmpty())
        return std::nullopt;
    return event;
}
