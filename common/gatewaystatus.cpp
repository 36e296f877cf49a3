#include "gatewaystatus.h"

#include "configobjects.h"

#include <QJsonArray>

#include <utility>

namespace {

using Names = std::pair<GatewayStatus::State, const char *>;
const Names stateNames[] = {{GatewayStatus::State::Starting, "starting"},
                            {GatewayStatus::State::OfflineLocal, "offline_local"},
                            {GatewayStatus::State::Syncing, "syncing"},
                            {GatewayStatus::State::InSync, "in_sync"},
                            {GatewayStatus::State::Reconnecting, "reconnecting"},
                            {GatewayStatus::State::Standalone, "standalone"}};

const std::pair<GatewayStatus::Origin, const char *> originNames[] = {
    {GatewayStatus::Origin::ControlPlane, "control_plane"},
    {GatewayStatus::Origin::LocalCopy, "local_copy"},
    {GatewayStatus::Origin::File, "file"}};

const std::pair<ObjectKind, qint64 GatewayStatus::Counts::*> countFields[] = {
    {ObjectKind::Route, &GatewayStatus::Counts::routes},
    {ObjectKind::Upstream, &GatewayStatus::Counts::upstreams},
    {ObjectKind::Service, &GatewayStatus::Counts::services}};

QJsonValue optionalInteger(const std::optional<qint64> &value)
{
    return value ? QJsonValue(*value) : QJsonValue();
}

QJsonValue retryValue(int ms)
{
    return ms >= 0 ? QJsonValue(ms) : QJsonValue();
}

int retryFrom(const std::optional<qint64> &ms)
{
    return ms ? int(*ms) : -1;
}

} // namespace

QString GatewayStatus::stateName(State state)
{
    for (const auto &[s, name] : stateNames)
        if (s == state)
            return QLatin1String(name);
    return QString();
}

std::optional<GatewayStatus::State> GatewayStatus::stateFromName(const QString &name)
{
    for (const auto &[s, text] : stateNames)
        if (name == QLatin1String(text))
            return s;
    return std::nullopt;
}

const QList<GatewayStatus::State> &GatewayStatus::allStates()
{
    static const QList<State> all = [] {
        QList<State> out;
        for (const auto &entry : stateNames)
            out.append(entry.first);
        return out;
    }();
    return all;
}

QString GatewayStatus::originName(Origin origin)
{
    for (const auto &[o, name] : originNames)
        if (o == origin)
            return QLatin1String(name);
    return QString();
}

bool GatewayStatus::ControlPlane::operator==(const ControlPlane &o) const
{
    return type == o.type && endpoints == o.endpoints && prefix == o.prefix && connected == o.connected &&
           endpoint == o.endpoint && lastOk == o.lastOk && lastError == o.lastError &&
           retryInMs == o.retryInMs && clusterId == o.clusterId && ignoredKeys == o.ignoredKeys;
}

bool GatewayStatus::Counts::operator==(const Counts &o) const
{
    return routes == o.routes && upstreams == o.upstreams && services == o.services;
}

bool GatewayStatus::Live::operator==(const Live &o) const
{
    return revision == o.revision && sha256 == o.sha256 && counts == o.counts && from == o.from;
}

bool GatewayStatus::Persisted::operator==(const Persisted &o) const
{
    return file == o.file && loadedAtStart == o.loadedAtStart && attempts == o.attempts &&
           revision == o.revision && sha256 == o.sha256 && savedAt == o.savedAt && edited == o.edited &&
           editedKeptAs == o.editedKeptAs && error == o.error && errorSince == o.errorSince &&
           retryInMs == o.retryInMs;
}

bool GatewayStatus::Rejection::operator==(const Rejection &o) const
{
    return key == o.key && reason == o.reason && revision == o.revision;
}

bool GatewayStatus::operator==(const GatewayStatus &o) const
{
    return state == o.state && since == o.since && cause == o.cause && ready == o.ready &&
           version == o.version && controlPlane == o.controlPlane && live == o.live &&
           persisted == o.persisted && rejected == o.rejected;
}

QJsonObject GatewayStatus::Counts::toJson() const
{
    QJsonObject out;
    for (const auto &[kind, field] : countFields)
        out.insert(collectionName(kind), this->*field);
    return out;
}

GatewayStatus::Counts GatewayStatus::Counts::read(JsonReader &reader)
{
    Counts c;
    for (const auto &[kind, field] : countFields)
        c.*field = reader.integer(collectionName(kind).toLatin1().constData());
    return c;
}

QJsonObject GatewayStatus::Rejection::toJson() const
{
    return {{QStringLiteral("key"), key},
            {QStringLiteral("reason"), reason},
            {QStringLiteral("revision"), revision > 0 ? QJsonValue(revision) : QJsonValue()}};
}

GatewayStatus::Rejection GatewayStatus::Rejection::read(JsonReader &reader)
{
    Rejection r;
    r.key = reader.string("key");
    r.reason = reader.string("reason");
    r.revision = reader.integerOrNull("revision").value_or(0);
    return r;
}

QJsonObject GatewayStatus::toJson() const
{
    const ControlPlane &cp = controlPlane;
    const QJsonObject controlPlaneJson{
        {QStringLiteral("type"), cp.type},
        {QStringLiteral("endpoints"), QJsonArray::fromStringList(cp.endpoints)},
        {QStringLiteral("prefix"), JsonReader::stringValue(cp.prefix)},
        {QStringLiteral("connected"), cp.connected},
        {QStringLiteral("endpoint"), JsonReader::stringValue(cp.endpoint)},
        {QStringLiteral("last_ok"), JsonReader::dateValue(cp.lastOk)},
        {QStringLiteral("last_error"), JsonReader::stringValue(cp.lastError)},
        {QStringLiteral("retry_in_ms"), retryValue(cp.retryInMs)},
        {QStringLiteral("cluster_id"), JsonReader::stringValue(cp.clusterId)},
        {QStringLiteral("ignored_keys"), cp.ignoredKeys}};

    QJsonObject counts;
    if (live.revision)
        counts = live.counts.toJson();
    const QJsonObject liveJson{{QStringLiteral("revision"), optionalInteger(live.revision)},
                               {QStringLiteral("sha256"), JsonReader::stringValue(live.sha256)},
                               {QStringLiteral("counts"), counts},
                               {QStringLiteral("from"), JsonReader::stringValue(originName(live.from))}};

    const Persisted &p = persisted;
    const QJsonObject persistedJson{
        {QStringLiteral("file"), JsonReader::stringValue(p.file)},
        {QStringLiteral("loaded_at_start"), JsonReader::stringValue(p.loadedAtStart)},
        {QStringLiteral("attempts"), QJsonArray::fromStringList(p.attempts)},
        {QStringLiteral("revision"), optionalInteger(p.revision)},
        {QStringLiteral("sha256"), JsonReader::stringValue(p.sha256)},
        {QStringLiteral("saved_at"), JsonReader::dateValue(p.savedAt)},
        {QStringLiteral("edited"), p.edited},
        {QStringLiteral("edited_kept_as"), JsonReader::stringValue(p.editedKeptAs)},
        {QStringLiteral("error"), JsonReader::stringValue(p.error)},
        {QStringLiteral("error_since"), JsonReader::dateValue(p.errorSince)},
        {QStringLiteral("retry_in_ms"), p.error.isEmpty() ? QJsonValue() : retryValue(p.retryInMs)}};

    QJsonArray rejectedJson;
    for (const Rejection &r : rejected)
        rejectedJson.append(r.toJson());

    return {{QStringLiteral("state"), stateName(state)},
            {QStringLiteral("since"), JsonReader::dateValue(since)},
            {QStringLiteral("cause"), cause},
            {QStringLiteral("ready"), ready},
            {QStringLiteral("version"), version},
            {QStringLiteral("control_plane"), controlPlaneJson},
            {QStringLiteral("live"), liveJson},
            {QStringLiteral("persisted"), persistedJson},
            {QStringLiteral("rejected"), rejectedJson}};
}

std::optional<GatewayStatus> GatewayStatus::fromJson(const QJsonObject &json, QString *error)
{
    error->clear();
    JsonReader top(json, QString(), error);
    GatewayStatus s;

    const QString stateText = top.string("state");
    if (const std::optional<State> state = stateFromName(stateText))
        s.state = *state;
    else
        top.fail(QStringLiteral("state"), QStringLiteral("unknown state \"%1\"").arg(stateText));
    s.since = top.dateOrNull("since");
    s.cause = top.string("cause");
    s.ready = top.boolean("ready");
    s.version = top.string("version");

    JsonReader cpr = top.child("control_plane");
    ControlPlane &cp = s.controlPlane;
    cp.type = cpr.string("type");
    cp.endpoints = cpr.stringList("endpoints");
    cp.prefix = cpr.stringOrNull("prefix");
    cp.connected = cpr.boolean("connected");
    cp.endpoint = cpr.stringOrNull("endpoint");
    cp.lastOk = cpr.dateOrNull("last_ok");
    cp.lastError = cpr.stringOrNull("last_error");
    cp.retryInMs = retryFrom(cpr.integerOrNull("retry_in_ms"));
    cp.clusterId = cpr.stringOrNull("cluster_id");
    cp.ignoredKeys = int(cpr.integer("ignored_keys"));

    JsonReader lr = top.child("live");
    s.live.revision = lr.integerOrNull("revision");
    s.live.sha256 = lr.stringOrNull("sha256");
    JsonReader counts = lr.child("counts");
    if (s.live.revision)
        s.live.counts = Counts::read(counts);
    const QString from = lr.stringOrNull("from");
    for (const auto &[origin, name] : originNames)
        if (from == QLatin1String(name))
            s.live.from = origin;
    if (!from.isEmpty() && s.live.from == Origin::None)
        lr.fail(QStringLiteral("from"), QStringLiteral("unknown origin \"%1\"").arg(from));

    JsonReader pr = top.child("persisted");
    Persisted &p = s.persisted;
    p.file = pr.stringOrNull("file");
    p.loadedAtStart = pr.stringOrNull("loaded_at_start");
    p.attempts = pr.stringList("attempts");
    p.revision = pr.integerOrNull("revision");
    p.sha256 = pr.stringOrNull("sha256");
    p.savedAt = pr.dateOrNull("saved_at");
    p.edited = pr.boolean("edited");
    p.editedKeptAs = pr.stringOrNull("edited_kept_as");
    p.error = pr.stringOrNull("error");
    p.errorSince = pr.dateOrNull("error_since");
    p.retryInMs = retryFrom(pr.integerOrNull("retry_in_ms"));

    top.forEachElement("rejected", [&s](JsonReader &r) { s.rejected.append(Rejection::read(r)); });

    if (!top.ok())
        return std::nullopt;
    return s;
}
