#include "configvalidator.h"

#include "canonicaljson.h"
#include "fieldchecker.h"
#include "upstreamchecks.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QVarLengthArray>

#include <climits>
#include <cmath>
#include <type_traits>

using namespace validation;

namespace {

bool checkUri(FieldChecker &c, const QJsonValue &v, QByteArray *out)
{
    QString uri;
    if (!checkString(c, v, &uri))
        return false;
    if (!uri.startsWith(QLatin1Char('/'))) {
        c.wrongValue(QStringLiteral("a path starting with \"/\""), v);
        return false;
    }
    const qsizetype star = uri.indexOf(QLatin1Char('*'));
    if (star >= 0 && star != uri.size() - 1) {
        c.wrongValue(QStringLiteral("\"*\" only as the last character"), v);
        return false;
    }
    *out = uri.toUtf8();
    return true;
}

// host / hosts: a name, or "*." and a name; lower-cased since hosts compare case-insensitively
bool checkHost(FieldChecker &c, const QJsonValue &v, QByteArray *out)
{
    QString host;
    if (!checkString(c, v, &host))
        return false;
    const QByteArray bytes = host.toUtf8().toLower();
    const QByteArrayView name =
        bytes.startsWith("*.") ? QByteArrayView(bytes).sliced(2) : QByteArrayView(bytes);
    if (!isHostName(name)) {
        c.wrongValue(QStringLiteral("a host name, or \"*.\" and a host name"), v);
        return false;
    }
    *out = bytes;
    return true;
}

bool checkMethod(FieldChecker &c, const QJsonValue &v, QByteArray *out)
{
    static const char *const methods[] = {"GET",  "POST",    "PUT",     "DELETE", "PATCH",
                                          "HEAD", "OPTIONS", "CONNECT", "TRACE",  "PURGE"};
    QString method;
    if (!checkString(c, v, &method))
        return false;
    for (const char *known : methods) {
        if (method == QLatin1String(known)) {
            *out = known;
            return true;
        }
    }
    c.wrongValue(QStringLiteral("one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE, PURGE"),
                 v);
    return false;
}

// "uri" or "uris", "host" or "hosts", "method"s: one value or a non-empty array of them
template<typename Check>
void parseOneOrMany(FieldChecker &c, const QJsonObject &o, const char *one, const char *many, Check check,
                    QVector<QByteArray> *out)
{
    const QJsonValue single = member(o, one);
    if (!single.isUndefined()) {
        Scope scope(c, one);
        QByteArray value;
        if (check(c, single, &value))
            out->append(value);
    }
    QJsonArray array;
    if (optArray(c, o, many, &array)) {
        Scope scope(c, many);
        out->reserve(out->size() + array.size());
        for (qsizetype i = 0; i < array.size(); ++i) {
            Scope item(c, i);
            QByteArray value;
            if (check(c, array.at(i), &value))
                out->append(value);
        }
    }
    if (!single.isUndefined() && !member(o, many).isUndefined())
        c.fail(QStringLiteral("expected \"%1\" or \"%2\", got both")
                   .arg(QLatin1String(one), QLatin1String(many)));
}

std::shared_ptr<Upstream> parseInlineUpstream(FieldChecker &c, const QJsonObject &o)
{
    const QJsonValue v = member(o, "upstream");
    if (v.isUndefined())
        return {};
    Scope scope(c, "upstream");
    if (!v.isObject()) {
        c.wrongType(QStringLiteral("object"), v);
        return {};
    }
    return parseUpstreamObject(c, v.toObject());
}

// Resolves the id of an object from its key, or from its own "id" when no key id is given.
bool resolveId(FieldChecker &c, const QJsonObject &o, const QString &keyId, QString *id)
{
    if (!keyId.isEmpty()) {
        *id = keyId;
        checkId(c, o, keyId);
        return true;
    }
    if (optReference(c, o, "id", id))
        return true;
    if (member(o, "id").isUndefined())
        required(c, "id");
    return false;
}

// One top-level object being validated: its id (the key's, or its own "id" when the key gives none), the
// checker that names it in errors, and its members. `ok` is false (the error recorded) when the value is no
// object or has no usable id.
struct OpenedObject
{
    OpenedObject(ObjectKind kind, const QString &keyId, const QJsonValue &value, ValidationErrors *errors)
        : id(keyId)
        , checker(kind, id, errors)
    {
        if (!value.isObject()) {
            checker.wrongType(QStringLiteral("object"), value);
            return;
        }
        object = value.toObject();
        ok = resolveId(checker, object, keyId, &id);
    }
    OpenedObject(const OpenedObject &) = delete; // the checker refers to `id`
    OpenedObject &operator=(const OpenedObject &) = delete;

    QString id;
    FieldChecker checker;
    QJsonObject object;
    bool ok = false;
};

// What a route and a service both carry, read in this order: id, name/desc/labels first; an upstream
// (inline or by id), plugins and enable_websocket by parseServing. A service keeps its parsed JSON; a
// route keeps only its canonical text (Route::canonical says why).
template<typename T>
std::shared_ptr<T> named(OpenedObject &in)
{
    auto t = std::make_shared<T>();
    t->id = in.id;
    if constexpr (!std::is_same_v<T, Route>)
        t->json = in.object;
    checkNameDescLabels(in.checker, in.object, &t->name);
    return t;
}

template<typename T>
void parseServing(FieldChecker &c, const QJsonObject &o, T *t)
{
    t->upstream = parseInlineUpstream(c, o);
    optReference(c, o, "upstream_id", &t->upstreamId);
    optObject(c, o, "plugins", &t->plugins);
    // A route keeps what it says (its service's counts when it says nothing); a service's is read from
    // its JSON where used (Router, RouteTarget::websocket).
    bool websocket = false;
    [[maybe_unused]] const bool said = optBool(c, o, "enable_websocket", &websocket);
    if constexpr (std::is_same_v<T, Route>) {
        if (said)
            t->websocket = websocket;
    }
}

// The object once every member is checked: null when one failed, else with its canonical JSON.
template<typename T>
std::shared_ptr<const T> finished(const OpenedObject &in, std::shared_ptr<T> t)
{
    if (in.checker.failed())
        return nullptr;
    t->canonical = CanonicalJson::serialize(in.object);
    return t;
}

} // namespace

RoutePtr ConfigValidator::parseRoute(const QString &id, const QJsonValue &value, ValidationErrors *errors)
{
    OpenedObject in(ObjectKind::Route, id, value, errors);
    if (!in.ok)
        return {};
    FieldChecker &c = in.checker;
    const QJsonObject &o = in.object;
    const std::shared_ptr<Route> r = named<Route>(in);

    parseOneOrMany(c, o, "uri", "uris", checkUri, &r->uris);
    if (member(o, "uri").isUndefined() && member(o, "uris").isUndefined())
        c.fail(QStringLiteral("expected \"uri\" or \"uris\", got neither"));
    QJsonArray methods;
    if (optArray(c, o, "methods", &methods)) {
        Scope scope(c, "methods");
        r->methods.reserve(methods.size());
        for (qsizetype i = 0; i < methods.size(); ++i) {
            Scope item(c, i);
            QByteArray method;
            if (checkMethod(c, methods.at(i), &method) && !r->methods.contains(method))
                r->methods.append(method);
        }
    }
    parseOneOrMany(c, o, "host", "hosts", checkHost, &r->hosts);

    optInteger(c, o, "priority", NoMin, NoMax, &r->priority);
    const QJsonValue status = member(o, "status");
    if (!status.isUndefined()) {
        Scope scope(c, "status");
        int on = 1;
        if (checkInteger(c, status, 0, 1, &on))
            r->enabled = on == 1;
    }

    parseServing(c, o, r.get());
    optReference(c, o, "service_id", &r->serviceId);
    // APISIX's rule: something must serve the request. A plugins-only route is accepted even when no
    // plugin here serves it (it answers 503), so that an APISIX configuration loads as a whole.
    if (member(o, "upstream").isUndefined() && member(o, "upstream_id").isUndefined() &&
        member(o, "service_id").isUndefined() && member(o, "plugins").isUndefined())
        c.fail(QStringLiteral(
            "expected \"upstream\", \"upstream_id\", \"service_id\" or \"plugins\", got none"));
    return finished(in, r);
}

UpstreamPtr ConfigValidator::parseUpstream(const QString &id, const QJsonValue &value,
                                           ValidationErrors *errors)
{
    OpenedObject in(ObjectKind::Upstream, id, value, errors);
    if (!in.ok)
        return {};
    const std::shared_ptr<Upstream> u = parseUpstreamObject(in.checker, in.object);
    u->id = in.id;
    return finished(in, u);
}

ServicePtr ConfigValidator::parseService(const QString &id, const QJsonValue &value, ValidationErrors *errors)
{
    OpenedObject in(ObjectKind::Service, id, value, errors);
    if (!in.ok)
        return {};
    const std::shared_ptr<Service> s = named<Service>(in);
    parseServing(in.checker, in.object, s.get());
    return finished(in, s);
}

bool ConfigValidator::idFromJson(const QJsonValue &value, QString *id)
{
    if (value.isString()) {
        QString s = value.toString();
        if (s.isEmpty())
            return false;
        *id = std::move(s);
        return true;
    }
    if (value.isDouble()) {
        const double d = value.toDouble();
        // Integral and exact in a double, so that 12 and 12.0 and "12" are the same id.
        if (std::floor(d) != d || d < 1 || d > 9007199254740992.0)
            return false;
        *id = QString::number(qint64(d));
        return true;
    }
    return false;
}
