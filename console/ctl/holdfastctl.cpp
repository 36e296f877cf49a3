#include "holdfastctl.h"

#include "adminclient.h"
#include "gatewayconnection.h"
#include "localgateway.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTimer>

#include <cstdio>

namespace {

QString when(const QDateTime &t)
{
    if (!t.isValid())
        return QStringLiteral("never");
    const qint64 ago = t.secsTo(QDateTime::currentDateTimeUtc());
    return QStringLiteral("%1 (%2 s ago)").arg(t.toUTC().toString(Qt::ISODate)).arg(ago);
}

} // namespace

HoldfastCtl::HoldfastCtl(QObject *parent)
    : QObject(parent)
    , m_out(stdout)
    , m_err(stderr)
{}

HoldfastCtl::~HoldfastCtl() = default;

QString HoldfastCtl::usage()
{
    return QStringLiteral(
        "Usage: holdfastctl [options] <command>\n"
        "\n"
        "Commands:\n"
        "  status                 the gateway's sync state, revisions, control plane, rejections\n"
        "  diff                   changes from the persisted to the live configuration\n"
        "  upstreams              each upstream's nodes: health and connections\n"
        "  resync [--wait]        read everything from the control plane again; --wait follows the\n"
        "                         gateway until it is in sync (--wait-timeout seconds, default 30)\n"
        "  reload-local           serve the local copy (only while the control plane is away)\n"
        "  events [--count N]     follow the gateway's events (until Ctrl-C, or N events)\n"
        "\n"
        "Options:\n"
        "  --url URL              admin API, default $HOLDFAST_ADMIN_URL, else the local gateway's\n"
        "                         settings (/etc/holdfast/holdfastd.json), else http://127.0.0.1:9180\n"
        "  --token-file FILE      bearer token file, default $HOLDFAST_TOKEN_FILE, else the local\n"
        "                         gateway's admin.token ($HOLDFAST_TOKEN holds the token itself)\n"
        "  --json                 machine output: the gateway's documents, errors as\n"
        "                         {\"error\": {\"kind\", \"message\"}, \"exit_code\"}\n"
        "  --timeout SECONDS      per call (default 5)\n"
        "\n"
        "Exit codes: 0 ok (diff: no differences), 1 diff: differences, 2 usage, 3 unreachable or TLS,\n"
        "4 authentication (wrong or missing token), 5 refused by the gateway, 6 timeout,\n"
        "7 unexpected answer (not a Holdfast admin API).\n");
}

int HoldfastCtl::exitCodeFor(const ConnectorError &error)
{
    switch (error.kind()) {
    case ConnectorError::Kind::None:
        return Ok;
    case ConnectorError::Kind::Unreachable:
    case ConnectorError::Kind::Tls:
        return Unreachable;
    case ConnectorError::Kind::Auth:
        return Auth;
    case ConnectorError::Kind::Timeout:
        return Timeout;
    case ConnectorError::Kind::Refused:
        return Refused;
    case ConnectorError::Kind::UnexpectedDocument:
        return UnexpectedDocument;
    }
    return UnexpectedDocument;
}

void HoldfastCtl::done(int code)
{
    if (m_done)
        return;
    m_done = true;
    m_out.flush();
    m_err.flush();
    QTimer::singleShot(0, this, [this, code] { emit finished(code); });
}

void HoldfastCtl::fail(const ConnectorError &error)
{
    const int code = exitCodeFor(error);
    m_err << "holdfastctl: " << error.toString() << Qt::endl;
    if (m_json)
        printJson({{QStringLiteral("error"), QJsonObject{{QStringLiteral("kind"), error.kindName()},
                                                         {QStringLiteral("message"), error.message()}}},
                   {QStringLiteral("exit_code"), code}});
    done(code);
}

void HoldfastCtl::printJson(const QJsonObject &object)
{
    m_out << QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Indented));
    m_out.flush();
}

void HoldfastCtl::run(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsOptions);
    const QCommandLineOption url(QStringLiteral("url"), QString(), QStringLiteral("URL"));
    const QCommandLineOption tokenFile(QStringLiteral("token-file"), QString(), QStringLiteral("FILE"));
    const QCommandLineOption json(QStringLiteral("json"));
    const QCommandLineOption timeout(QStringLiteral("timeout"), QString(), QStringLiteral("SECONDS"));
    const QCommandLineOption wait(QStringLiteral("wait"));
    const QCommandLineOption waitTimeout(QStringLiteral("wait-timeout"), QString(),
                                         QStringLiteral("SECONDS"));
    const QCommandLineOption count(QStringLiteral("count"), QString(), QStringLiteral("N"));
    const QCommandLineOption help(QStringList{QStringLiteral("h"), QStringLiteral("help")});
    const QCommandLineOption version(QStringLiteral("version"));
    parser.addOptions({url, tokenFile, json, timeout, wait, waitTimeout, count, help, version});

    const auto usageError = [this](const QString &message) {
        m_err << "holdfastctl: " << message << "\n\n" << usage();
        done(Usage);
    };
    if (!parser.parse(QStringList{QStringLiteral("holdfastctl")} + arguments))
        return usageError(parser.errorText());
    if (parser.isSet(help)) {
        m_out << usage();
        return done(Ok);
    }
    if (parser.isSet(version)) {
        m_out << "holdfastctl " << QCoreApplication::applicationVersion() << "\n";
        return done(Ok);
    }
    m_json = parser.isSet(json);
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1)
        return usageError(positional.isEmpty() ? QStringLiteral("no command given")
                                               : QStringLiteral("one command at a time"));
    const QString command = positional.first();

    const auto seconds = [&](const QCommandLineOption &option, int fallbackMs, int *out) {
        if (!parser.isSet(option)) {
            *out = fallbackMs;
            return true;
        }
        bool ok = false;
        const double value = parser.value(option).toDouble(&ok);
        if (!ok || value <= 0)
            return false;
        *out = int(value * 1000);
        return true;
    };
    int waitMs = 0;
    if (!seconds(timeout, 5000, &m_timeoutMs))
        return usageError(QStringLiteral("--timeout: expected a positive number of seconds"));
    if (!seconds(waitTimeout, 30000, &waitMs))
        return usageError(QStringLiteral("--wait-timeout: expected a positive number of seconds"));
    int eventCount = 0;
    if (parser.isSet(count)) {
        bool ok = false;
        eventCount = parser.value(count).toInt(&ok);
        if (!ok || eventCount <= 0)
            return usageError(QStringLiteral("--count: expected a positive number"));
    }

    // The address: flags, then the environment, then the gateway on this machine, then the default.
    QString why;
    const std::optional<GatewayAddress> local = LocalGateway::find(&why);
    QString urlText = parser.value(url);
    if (urlText.isEmpty())
        urlText = qEnvironmentVariable("HOLDFAST_ADMIN_URL");
    if (urlText.isEmpty())
        urlText = local ? local->adminUrl.toString() : QStringLiteral("http://127.0.0.1:9180");
    m_address.adminUrl = QUrl(urlText);
    QString urlError;
    if (!GatewayAddress::validUrl(m_address.adminUrl, &urlError))
        return usageError(QStringLiteral("--url: %1").arg(urlError));
    m_address.tokenFile = parser.value(tokenFile);
    if (m_address.tokenFile.isEmpty())
        m_address.tokenFile = qEnvironmentVariable("HOLDFAST_TOKEN_FILE");
    if (m_address.tokenFile.isEmpty())
        m_address.token = qEnvironmentVariable("HOLDFAST_TOKEN");
    if (m_address.tokenFile.isEmpty() && m_address.token.isEmpty() && local)
        m_address.tokenFile = local->tokenFile;

    m_connection = new GatewayConnection(m_address, this);
    m_connection->setRequestTimeoutMs(m_timeoutMs);

    if (parser.isSet(wait) && command != QLatin1String("resync"))
        return usageError(QStringLiteral("--wait goes with resync"));
    if (parser.isSet(count) && command != QLatin1String("events"))
        return usageError(QStringLiteral("--count goes with events"));
    if (command == QLatin1String("status"))
        status();
    else if (command == QLatin1String("diff"))
        diff();
    else if (command == QLatin1String("upstreams"))
        upstreams();
    else if (command == QLatin1String("resync"))
        resync(parser.isSet(wait), waitMs);
    else if (command == QLatin1String("reload-local"))
        reloadLocal();
    else if (command == QLatin1String("events"))
        events(eventCount);
    else
        usageError(QStringLiteral("unknown command \"%1\"").arg(command));
}

void HoldfastCtl::status()
{
    m_connection->fetchStatus([this](const std::optional<GatewayStatus> &s, const ConnectorError &error) {
        if (!s)
            return fail(error);
        if (m_json) {
            printJson(s->toJson()); // the document as common/'s type writes it
            return done(Ok);
        }
        const GatewayStatus::ControlPlane &cp = s->controlPlane;
        const GatewayStatus::Counts &n = s->live.counts;
        m_out << "gateway    " << m_address.adminUrl.toString() << "  (holdfastd " << s->version << ")\n";
        m_out << "state      " << GatewayStatus::stateName(s->state) << " since " << when(s->since) << "\n";
        if (!s->cause.isEmpty())
            m_out << "           " << s->cause << "\n";
        m_out << "control    " << (cp.type.isEmpty() ? QStringLiteral("-") : cp.type) << " "
              << cp.endpoints.join(QLatin1String(", "))
              << (cp.prefix.isEmpty() ? QString() : QStringLiteral(" prefix %1").arg(cp.prefix)) << ": "
              << (cp.connected ? QStringLiteral("connected") : QStringLiteral("not connected"))
              << ", last answer " << when(cp.lastOk) << "\n";
        if (!cp.lastError.isEmpty())
            m_out << "           last error: " << cp.lastError
                  << (cp.retryInMs >= 0 ? QStringLiteral(" (retry in %1 ms)").arg(cp.retryInMs) : QString())
                  << "\n";
        m_out << "live       revision " << StatusFacts::revisionText(s->live.revision) << "  sha256 "
              << (s->live.sha256.isEmpty() ? QStringLiteral("-") : s->live.sha256) << "  "
              << QStringLiteral("%1 routes, %2 upstreams, %3 services")
                     .arg(n.routes)
                     .arg(n.upstreams)
                     .arg(n.services)
              << (s->live.from == GatewayStatus::Origin::None
                      ? QString()
                      : QStringLiteral("  (from %1)").arg(GatewayStatus::originName(s->live.from)))
              << "\n";
        const GatewayStatus::Persisted &p = s->persisted;
        m_out << "persisted  revision " << StatusFacts::revisionText(p.revision) << "  sha256 "
              << (p.sha256.isEmpty() ? QStringLiteral("-") : p.sha256) << "  "
              << (p.file.isEmpty() ? QStringLiteral("no local copy") : p.file)
              << (p.savedAt.isValid() ? QStringLiteral(" saved %1").arg(when(p.savedAt)) : QString())
              << (p.edited ? QStringLiteral("  EDITED BY HAND") : QString()) << "\n";
        for (const QString &attempt : p.attempts)
            m_out << "           " << attempt << "\n";
        if (!p.error.isEmpty())
            m_out << "           PERSIST ERROR: " << p.error << "\n";
        if (StatusFacts::liveDiffersFromPersisted(*s))
            m_out << "           live and persisted differ: holdfastctl diff\n";
        for (const GatewayStatus::Rejection &r : s->rejected)
            m_out << "rejected   " << r.key << ": " << r.reason << "\n";
        done(Ok);
    });
}

AdminClient *HoldfastCtl::newClient()
{
    auto *client = new AdminClient(this);
    client->setAddress(m_address);
    client->setTimeoutMs(m_timeoutMs);
    return client;
}

template<typename View, typename Use>
void HoldfastCtl::getView(const QString &path, Use use)
{
    newClient()->get(path, [this, path, use](const AdminClient::Reply &reply) {
        if (reply.error.isError())
            return fail(reply.error);
        QString error;
        const std::optional<View> view = View::fromJson(reply.json, &error);
        if (!view)
            return fail(
                {ConnectorError::Kind::UnexpectedDocument, QStringLiteral("GET %1: %2").arg(path, error)});
        use(*view, reply.json);
    });
}

void HoldfastCtl::diff()
{
    getView<ConfigDiffView>(QStringLiteral("/v1/config/diff"), [this](const ConfigDiffView &d,
                                                                      const QJsonObject &json) {
        if (d.persistedSha256.isEmpty() && !m_json)
            m_err << "holdfastctl: the gateway has no persisted configuration (standalone, or nothing saved "
                     "yet): everything live shows as added\n";
        if (m_json)
            printJson(json);
        else if (d.equal())
            m_out << "no differences: live and persisted are the same configuration\n";
        else
            m_out << ConfigDiffView::toText(d.changes) << d.changes.size() << " differences\n";
        done(d.equal() ? Ok : Differences);
    });
}

void HoldfastCtl::upstreams()
{
    getView<UpstreamsView>(
        QStringLiteral("/v1/upstreams"), [this](const UpstreamsView &u, const QJsonObject &json) {
            if (m_json) {
                printJson(json);
                return done(Ok);
            }
            for (const UpstreamsView::Upstream &up : u.upstreams) {
                QStringList checks;
                if (up.activeChecks)
                    checks << QStringLiteral("active");
                if (up.passiveChecks)
                    checks << QStringLiteral("passive");
                m_out << up.key << "  " << up.type << "  " << up.healthyNodes() << "/" << up.nodes.size()
                      << " healthy  checks: "
                      << (checks.isEmpty() ? QStringLiteral("none") : checks.join(QLatin1Char('+'))) << "\n";
                for (const UpstreamsView::Node &n : up.nodes)
                    m_out << "  " << n.address << "  weight " << n.weight << "  "
                          << (!n.checked  ? QStringLiteral("unchecked")
                              : n.healthy ? QStringLiteral("healthy")
                                          : QStringLiteral("UNHEALTHY"))
                          << "  connections " << n.openConnections << " (" << n.idleConnections << " idle)\n";
            }
            done(Ok);
        });
}

void HoldfastCtl::resync(bool wait, int waitMs)
{
    if (!wait) {
        newClient()->post(QStringLiteral("/v1/resync"), [this](const AdminClient::Reply &reply) {
            if (reply.error.isError())
                return fail(reply.error);
            const bool accepted = reply.json.value(QLatin1String("accepted")).toBool();
            if (m_json)
                printJson(reply.json);
            else
                m_out << (accepted ? "accepted: " : "refused: ")
                      << reply.json.value(QLatin1String("message")).toString() << "\n";
            done(accepted ? Ok : Refused);
        });
        return;
    }
    connect(m_connection, &GatewayConnection::resyncProgress, this, [this](const QString &message) {
        if (!m_json)
            m_err << "resync: " << message << Qt::endl;
    });
    connect(m_connection, &GatewayConnection::resyncFinished, this,
            [this](const ConnectorError &error, const QString &message) {
                if (error.isError())
                    return fail(error);
                if (m_json)
                    printJson({{QStringLiteral("in_sync"), true}, {QStringLiteral("message"), message}});
                else
                    m_out << "done: " << message << "\n";
                done(Ok);
            });
    m_connection->start(); // events make the wait end sooner than polling alone
    m_connection->resync(waitMs);
}

void HoldfastCtl::reloadLocal()
{
    newClient()->post(QStringLiteral("/v1/reload-local"), [this](const AdminClient::Reply &reply) {
        const QString message = reply.json.value(QLatin1String("message")).toString();
        if (reply.error.isError() && reply.httpStatus != 409)
            return fail(reply.error);
        if (reply.httpStatus == 409 || !reply.json.value(QLatin1String("accepted")).toBool())
            return fail({ConnectorError::Kind::Refused, message});
        if (m_json)
            printJson(reply.json);
        else
            m_out << "accepted: " << message << "\n";
        done(Ok);
    });
}

void HoldfastCtl::events(int count)
{
    auto received = std::make_shared<int>(0);
    auto everFollowed = std::make_shared<bool>(false);
    connect(m_connection, &GatewayConnection::eventReceived, this,
            [this, count, received](const QString &type, const QJsonObject &data) {
                // One read can carry several events; --count N prints exactly N.
                if (m_done)
                    return;
                if (m_json)
                    m_out << QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("event"), type},
                                                                         {QStringLiteral("data"), data}})
                                                   .toJson(QJsonDocument::Compact))
                          << "\n";
                else
                    m_out << QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs) << "  " << type
                          << "  " << QString::fromUtf8(QJsonDocument(data).toJson(QJsonDocument::Compact))
                          << "\n";
                m_out.flush();
                if (count > 0 && ++*received >= count)
                    done(Ok);
            });
    connect(m_connection, &GatewayConnection::linkChanged, this, [this, everFollowed] {
        const GatewayConnection::Link link = m_connection->link();
        if (link == GatewayConnection::Link::Following) {
            *everFollowed = true;
            return;
        }
        if (link != GatewayConnection::Link::Down && link != GatewayConnection::Link::Polling)
            return;
        // Never reached: a script learns at once. Reached before: keep following, as tail -f does.
        if (!*everFollowed)
            return fail(
                m_connection->error().isError()
                    ? m_connection->error()
                    : ConnectorError(ConnectorError::Kind::UnexpectedDocument,
                                     QStringLiteral("the gateway answers but its event stream does not")));
        m_err << "holdfastctl: event stream lost (" << m_connection->error().toString() << "); retrying"
              << Qt::endl;
    });
    m_connection->start();
}
