#include "syncobjects.h"

#include "canonicaljson.h"
#include "configvalidator.h"

#include <QJsonDocument>
#include <QJsonParseError>
#include <QThread>

#include <thread>
#include <vector>

namespace {

template<typename Map>
void copyIfPresent(const Map &from, Map *to, const QString &id)
{
    const auto it = from.constFind(id);
    if (it != from.constEnd())
        to->insert(id, it.value());
}

// The one place that maps a kind to its collection: `f` gets the member pointer (&SyncObjects::routes, ...).
template<typename Objects, typename F>
decltype(auto) withCollection(ObjectKind kind, F &&f)
{
    switch (kind) {
    case ObjectKind::Route:
        return f(&Objects::routes);
    case ObjectKind::Upstream:
        return f(&Objects::upstreams);
    case ObjectKind::Service:
        break;
    }
    return f(&Objects::services);
}

} // namespace

void SyncObjects::put(const Parsed &parsed)
{
    switch (parsed.kind) {
    case ObjectKind::Route:
        routes.insert(parsed.id, parsed.route);
        return;
    case ObjectKind::Upstream:
        upstreams.insert(parsed.id, parsed.upstream);
        return;
    case ObjectKind::Service:
        break;
    }
    services.insert(parsed.id, parsed.service);
}

void SyncObjects::remove(ObjectKind kind, const QString &id)
{
    withCollection<SyncObjects>(kind, [&](auto member) { (this->*member).remove(id); });
}

void SyncObjects::copyFrom(const SyncObjects &from, ObjectKind kind, const QString &id)
{
    withCollection<SyncObjects>(kind,
                                [&](auto member) { copyIfPresent(from.*member, &(this->*member), id); });
}

std::optional<ObjectKind> SyncObjects::classify(const QString &key, QString *id)
{
    QStringView k(key);
    if (k.startsWith(QLatin1Char('/')))
        k = k.mid(1);
    const qsizetype slash = k.indexOf(QLatin1Char('/'));
    if (slash <= 0 || slash == k.size() - 1 || k.indexOf(QLatin1Char('/'), slash + 1) >= 0)
        return std::nullopt; // "routes" (APISIX's placeholder), "routes/", nested keys
    *id = k.mid(slash + 1).toString();
    return kindOfCollection(k.left(slash));
}

SyncObjects::Parsed SyncObjects::parse(ObjectKind kind, const QString &id, const QByteArray &value,
                                       const SyncObjects *known)
{
    Parsed parsed;
    parsed.kind = kind;
    parsed.id = id;
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(value, &parseError);
    if (value.trimmed().isEmpty()) {
        parsed.rejection = QStringLiteral("not JSON: empty value");
        return parsed;
    }
    if (parseError.error != QJsonParseError::NoError) {
        parsed.rejection =
            QStringLiteral("not JSON: %1 at offset %2").arg(parseError.errorString()).arg(parseError.offset);
        return parsed;
    }
    if (!doc.isObject()) {
        parsed.rejection = QStringLiteral("expected an object, got %1")
                               .arg(QLatin1String(doc.isArray() ? "array" : "a scalar"));
        return parsed;
    }

    if (known) {
        const QByteArray canonical = CanonicalJson::serialize(doc.object());
        const auto same = [&](const auto &object) { return object && object->canonical == canonical; };
        switch (kind) {
        case ObjectKind::Route:
            if (RoutePtr was = known->routes.value(id); same(was))
                parsed.route = std::move(was);
            break;
        case ObjectKind::Upstream:
            if (UpstreamPtr was = known->upstreams.value(id); same(was))
                parsed.upstream = std::move(was);
            break;
        case ObjectKind::Service:
            if (ServicePtr was = known->services.value(id); same(was))
                parsed.service = std::move(was);
            break;
        }
        if (parsed.route || parsed.upstream || parsed.service)
            return parsed; // validated when it was first read
    }

    ValidationErrors errors;
    bool ok = false;
    switch (kind) {
    case ObjectKind::Route:
        parsed.route = ConfigValidator::parseRoute(id, doc.object(), &errors);
        ok = parsed.route != nullptr;
        break;
    case ObjectKind::Upstream:
        parsed.upstream = ConfigValidator::parseUpstream(id, doc.object(), &errors);
        ok = parsed.upstream != nullptr;
        break;
    case ObjectKind::Service:
        parsed.service = ConfigValidator::parseService(id, doc.object(), &errors);
        ok = parsed.service != nullptr;
        break;
    }
    if (ok)
        return parsed;
    QStringList reasons;
    for (const ValidationError &e : std::as_const(errors))
        reasons.append(e.pointer.isEmpty() ? e.message : QStringLiteral("%1: %2").arg(e.pointer, e.message));
    if (reasons.isEmpty())
        reasons.append(QStringLiteral("not a valid object"));
    parsed.rejection = reasons.join(QLatin1String("; "));
    return parsed;
}

// Calls fn(i) for every i in [0, count), on every core when there is enough to share: a full sync of
// 100k objects is mostly JSON parsing and validation, which touch nothing shared.
void SyncObjects::parallelFor(qsizetype count, const std::function<void(qsizetype)> &fn)
{
    const qsizetype threads = count >= 2000 ? qMax(1, QThread::idealThreadCount()) : 1;
    const qsizetype share = (count + threads - 1) / threads;
    std::vector<std::thread> helpers;
    for (qsizetype t = 1; t < threads; ++t) {
        helpers.emplace_back([&fn, t, share, count] {
            for (qsizetype i = t * share; i < qMin(count, (t + 1) * share); ++i)
                fn(i);
        });
    }
    for (qsizetype i = 0; i < qMin(count, share); ++i)
        fn(i);
    for (std::thread &helper : helpers)
        helper.join();
}
