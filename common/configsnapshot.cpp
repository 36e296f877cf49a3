#include "configsnapshot.h"

#include "canonicaljson.h"
#include "configvalidator.h"
#include "sha256.h"

#include <QJsonArray>
#include <QSet>

#include <algorithm>
#include <optional>
#include <vector>

namespace {

// Calls parse(id, value) for each object of a collection written as {id: object} or [object with "id"].
template<typename Parse>
void readCollection(const QJsonObject &config, ObjectKind kind, ValidationErrors *errors, Parse parse)
{
    const QString name = collectionName(kind);
    const QJsonValue collection = config.value(name);
    // Lua's JSON encoder writes an empty table as [] and YAML tools may write null: both mean none.
    if (collection.isUndefined() || collection.isNull())
        return;
    if (collection.isObject()) {
        const QJsonObject objects = collection.toObject();
        for (auto it = objects.constBegin(); it != objects.constEnd(); ++it) {
            const QString id = it.key();
            if (id.isEmpty()) {
                errors->append(
                    ValidationError{name, QStringLiteral("/"), QStringLiteral("expected a non-empty id")});
                continue;
            }
            parse(id, it.value());
        }
        return;
    }
    if (!collection.isArray()) {
        errors->append(ValidationError{QString(), QLatin1Char('/') + name,
                                       QStringLiteral("expected object or array, got %1")
                                           .arg(QLatin1String(CanonicalJson::typeName(collection)))});
        return;
    }
    const QJsonArray objects = collection.toArray();
    QSet<QString> seen;
    seen.reserve(objects.size());
    for (qsizetype i = 0; i < objects.size(); ++i) {
        const QJsonValue object = objects.at(i);
        const QString where = QStringLiteral("/%1").arg(i);
        if (!object.isObject()) {
            errors->append(ValidationError{name, where,
                                           QStringLiteral("expected object, got %1")
                                               .arg(QLatin1String(CanonicalJson::typeName(object)))});
            continue;
        }
        const QJsonValue idValue = object.toObject().value(QLatin1String("id"));
        QString id;
        if (idValue.isUndefined()) {
            errors->append(ValidationError{name, where + QLatin1String("/id"), QStringLiteral("required")});
            continue;
        }
        if (!ConfigValidator::idFromJson(idValue, &id)) {
            const QString got = (idValue.isString() || idValue.isDouble())
                                    ? QString::fromUtf8(CanonicalJson::serialize(idValue))
                                    : QLatin1String(CanonicalJson::typeName(idValue));
            errors->append(ValidationError{
                name, where + QLatin1String("/id"),
                QStringLiteral("expected non-empty string or integer >= 1, got %1").arg(got)});
            continue;
        }
        if (seen.contains(id)) {
            errors->append(ValidationError{name, where + QLatin1String("/id"),
                                           QStringLiteral("expected a unique id, got \"%1\" again").arg(id)});
            continue;
        }
        seen.insert(id);
        parse(id, object);
    }
}

} // namespace

SnapshotPtr ConfigSnapshot::fromJson(const QJsonObject &config, ValidationErrors *errors)
{
    ValidationErrors local;
    ValidationErrors *errs = errors ? errors : &local;
    const qsizetype before = errs->size();

    std::shared_ptr<ConfigSnapshot> snapshot(new ConfigSnapshot);
    readCollection(config, ObjectKind::Upstream, errs, [&](const QString &id, const QJsonValue &value) {
        if (UpstreamPtr upstream = ConfigValidator::parseUpstream(id, value, errs))
            snapshot->m_upstreams.insert(id, std::move(upstream));
    });
    readCollection(config, ObjectKind::Service, errs, [&](const QString &id, const QJsonValue &value) {
        if (ServicePtr service = ConfigValidator::parseService(id, value, errs))
            snapshot->m_services.insert(id, std::move(service));
    });
    readCollection(config, ObjectKind::Route, errs, [&](const QString &id, const QJsonValue &value) {
        if (RoutePtr route = ConfigValidator::parseRoute(id, value, errs))
            snapshot->m_routes.insert(id, std::move(route));
    });
    if (errs->size() > before)
        return {};

    for (auto it = config.constBegin(); it != config.constEnd(); ++it) {
        if (!kindOfCollection(it.key()))
            snapshot->m_extra.insert(it.key(), it.value());
    }
    return snapshot;
}

SnapshotPtr ConfigSnapshot::fromObjects(Routes routes, Upstreams upstreams, Services services,
                                        QJsonObject extra)
{
    std::shared_ptr<ConfigSnapshot> snapshot(new ConfigSnapshot);
    snapshot->m_routes = std::move(routes);
    snapshot->m_upstreams = std::move(upstreams);
    snapshot->m_services = std::move(services);
    snapshot->m_extra = std::move(extra);
    return snapshot;
}

SnapshotPtr ConfigSnapshot::derive(const SnapshotPtr &base, Routes routes, Upstreams upstreams,
                                   Services services, Changes changes)
{
    std::shared_ptr<ConfigSnapshot> snapshot(new ConfigSnapshot);
    snapshot->m_routes = std::move(routes);
    snapshot->m_upstreams = std::move(upstreams);
    snapshot->m_services = std::move(services);
    if (base) {
        snapshot->m_extra = base->m_extra;
        snapshot->m_base = base;
        snapshot->m_changes = std::move(changes);
    }
    return snapshot;
}

SnapshotPtr ConfigSnapshot::empty()
{
    static const SnapshotPtr snapshot = fromObjects({}, {}, {});
    return snapshot;
}

UpstreamPtr ConfigSnapshot::upstreamFor(const Route &route) const
{
    if (route.upstream)
        return route.upstream;
    // A route's own upstream_id wins over its service even when it names nothing: APISIX then
    // answers 503 rather than silently sending elsewhere.
    if (!route.upstreamId.isEmpty())
        return m_upstreams.value(route.upstreamId);
    if (route.serviceId.isEmpty())
        return {};
    const ServicePtr service = m_services.value(route.serviceId);
    if (!service)
        return {};
    if (service->upstream)
        return service->upstream;
    if (!service->upstreamId.isEmpty())
        return m_upstreams.value(service->upstreamId);
    return {};
}

QJsonObject ConfigSnapshot::counts() const
{
    return {{collectionName(ObjectKind::Route), qint64(m_routes.size())},
            {collectionName(ObjectKind::Upstream), qint64(m_upstreams.size())},
            {collectionName(ObjectKind::Service), qint64(m_services.size())}};
}

namespace {

template<typename Map>
QJsonObject collectionJson(const Map &objects)
{
    // The map and QJsonObject order QString keys alike, so every insert appends.
    QJsonObject json;
    for (auto it = objects.cbegin(); it != objects.cend(); ++it)
        json.insert(it.key(), writtenJson(*it.value()));
    return json;
}

QString missing(ObjectKind kind, const QString &id, const char *field, const char *what,
                const QString &target)
{
    return QStringLiteral("%1/%2: /%3: no %4 \"%5\"")
        .arg(collectionName(kind), id, QLatin1String(field), QLatin1String(what), target);
}

} // namespace

namespace {

template<typename Object>
QByteArray canonicalOf(const Object &object)
{
    return object.canonical.isEmpty() ? CanonicalJson::serialize(writtenJson(object)) : object.canonical;
}

// Collection ids in the canonical order (UTF-8 bytes, that is code points). The maps order by UTF-16
// units, which is the same order unless an id holds a character from U+D800 up: sorted again only then.
template<typename Map>
std::vector<typename Map::const_iterator> canonicalOrder(const Map &objects)
{
    std::vector<typename Map::const_iterator> order;
    order.reserve(std::size_t(objects.size()));
    bool wide = false;
    for (auto it = objects.cbegin(); it != objects.cend(); ++it) {
        order.push_back(it);
        if (!wide) {
            const QString &id = it.key();
            wide = std::any_of(id.cbegin(), id.cend(), [](QChar c) { return c.unicode() >= 0xD800; });
        }
    }
    if (wide) {
        std::stable_sort(order.begin(), order.end(),
                         [](const auto &a, const auto &b) { return a.key().toUtf8() < b.key().toUtf8(); });
    }
    return order;
}

// Writes the canonical JSON of a collection to `out` piece by piece, from each object's own canonical
// text: the same bytes as CanonicalJson::serialize of the collection's object.
template<typename Map, typename Out>
void writeCollection(const Map &objects, Out &&out)
{
    out(QByteArrayLiteral("{"));
    bool first = true;
    for (const auto &it : canonicalOrder(objects)) {
        QByteArray head = CanonicalJson::serialize(QJsonValue(it.key()));
        head.prepend(first ? "" : ",");
        head.append(':');
        out(head);
        out(canonicalOf(*it.value()));
        first = false;
    }
    out(QByteArrayLiteral("}"));
}

} // namespace

template<typename Out>
void ConfigSnapshot::writeCanonical(Out &&out) const
{
    // The top level: the kept extra members and the three collections, sorted as CanonicalJson sorts.
    struct Member
    {
        QByteArray key;
        std::optional<ObjectKind> kind;
    };
    std::vector<Member> members;
    for (auto it = m_extra.constBegin(); it != m_extra.constEnd(); ++it) {
        if (!kindOfCollection(it.key())) // json() lets the collections win over such a member too
            members.push_back({it.key().toUtf8(), std::nullopt});
    }
    for (ObjectKind kind : AllObjectKinds)
        members.push_back({collectionName(kind).toUtf8(), kind});
    std::sort(members.begin(), members.end(), [](const Member &a, const Member &b) { return a.key < b.key; });
    out(QByteArrayLiteral("{"));
    bool first = true;
    for (const Member &member : members) {
        QByteArray head = CanonicalJson::serialize(QJsonValue(QString::fromUtf8(member.key)));
        head.prepend(first ? "" : ",");
        head.append(':');
        out(head);
        first = false;
        if (!member.kind)
            out(CanonicalJson::serialize(m_extra.value(QString::fromUtf8(member.key))));
        else if (*member.kind == ObjectKind::Route)
            writeCollection(m_routes, out);
        else if (*member.kind == ObjectKind::Upstream)
            writeCollection(m_upstreams, out);
        else
            writeCollection(m_services, out);
    }
    out(QByteArrayLiteral("}"));
}

QByteArray ConfigSnapshot::canonicalJson() const
{
    QByteArray text;
    writeCanonical([&](const QByteArray &piece) { text += piece; });
    return text;
}

const QByteArray &ConfigSnapshot::sha256() const
{
    // Streamed: the 20 MB text of 100k routes is never held whole, and no object is serialised again.
    std::call_once(m_digested, [this] {
        Sha256 hash;
        writeCanonical([&](const QByteArray &piece) { hash.addData(piece); });
        m_sha256 = hash.result().toHex();
    });
    return m_sha256;
}

const QJsonObject &ConfigSnapshot::json() const
{
    build();
    return m_json;
}

const QStringList &ConfigSnapshot::warnings() const
{
    build();
    return m_warnings;
}

void ConfigSnapshot::build() const
{
    std::call_once(m_built, [this] {
        m_json = m_extra;
        m_json.insert(collectionName(ObjectKind::Route), collectionJson(m_routes));
        m_json.insert(collectionName(ObjectKind::Upstream), collectionJson(m_upstreams));
        m_json.insert(collectionName(ObjectKind::Service), collectionJson(m_services));

        for (const RoutePtr &route : std::as_const(m_routes)) {
            if (!route->upstreamId.isEmpty() && !m_upstreams.contains(route->upstreamId))
                m_warnings.append(
                    missing(ObjectKind::Route, route->id, "upstream_id", "upstream", route->upstreamId));
            if (!route->serviceId.isEmpty() && !m_services.contains(route->serviceId))
                m_warnings.append(
                    missing(ObjectKind::Route, route->id, "service_id", "service", route->serviceId));
        }
        for (const ServicePtr &service : std::as_const(m_services)) {
            if (!service->upstreamId.isEmpty() && !m_upstreams.contains(service->upstreamId))
                m_warnings.append(missing(ObjectKind::Service, service->id, "upstream_id", "upstream",
                                          service->upstreamId));
        }
    });
}
