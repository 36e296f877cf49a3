// holdfastd: the gateway process. `holdfastd check FILE` validates a file; otherwise it serves.
#include "bootstrapsettings.h"
#include "configstore.h"
#include "gateway.h"
#include "platformhost.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QTextStream>

namespace {

int check(const QString &path)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        err << path << ": " << file.errorString() << Qt::endl;
        return 1;
    }
    QStringList errors;
    bool envelope = false;
    const auto config = ConfigStore::parse(file.readAll(), &errors, &envelope);
    if (!config) {
        for (const QString &e : std::as_const(errors))
            err << e << Qt::endl;
        return 1;
    }
    const SnapshotPtr &s = config->snapshot;
    out << path << ": ok: " << s->routes().size() << " routes, " << s->upstreams().size() << " upstreams, "
        << s->services().size() << " services";
    if (envelope)
        out << "; revision " << config->revision
            << (config->edited ? "; edited by hand (digest differs)" : "");
    out << "; sha256 " << s->sha256() << Qt::endl;
    for (const QString &w : s->warnings())
        err << "warning: " << w << Qt::endl;
    return 0;
}

int serve(int argc, char *argv[])
{
    // Workers spend most of their time in the event dispatcher: Qt's poll-based one costs markedly less
    // per socket event than the GLib one (about +25% requests/s in bench/proxy_bench.sh). It is chosen
    // when a thread starts, so before any; an operator's own setting wins.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("holdfastd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HOLDFAST_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Holdfast API gateway data plane.\n\n"
                       "  holdfastd [options]            serve, synced from the control plane\n"
                       "  holdfastd --standalone FILE    serve FILE, re-read when it changes\n"
                       "  holdfastd check FILE           validate a configuration or persisted file"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption configOption(
        QStringLiteral("config"), QStringLiteral("Bootstrap settings (JSON)."), QStringLiteral("FILE"));
    const QCommandLineOption standaloneOption(
        QStringLiteral("standalone"), QStringLiteral("Serve this configuration file, with no control plane."),
        QStringLiteral("FILE"));
    const QCommandLineOption dataDirOption(
        QStringLiteral("data-dir"), QStringLiteral("Directory of the persisted configuration and token."),
        QStringLiteral("DIR"));
    parser.addOptions({configOption, standaloneOption, dataDirOption});
    parser.addPositionalArgument(QStringLiteral("check"),
                                 QStringLiteral("check FILE: validate FILE and exit."),
                                 QStringLiteral("[check FILE]"));
    parser.process(app);

    const QStringList positional = parser.positionalArguments();
    if (!positional.isEmpty()) {
        if (positional.first() == QLatin1String("check") && positional.size() == 2)
            return check(positional.at(1));
        QTextStream(stderr) << "holdfastd: unexpected arguments: " << positional.join(QLatin1Char(' '))
                            << "\n(did you mean `holdfastd check FILE`?)" << Qt::endl;
        return 2;
    }

    QStringList errors;
    std::optional<BootstrapSettings> settings =
        parser.isSet(configOption) ? BootstrapSettings::fromFile(parser.value(configOption), &errors)
                                   : BootstrapSettings::fromJson("{}", &errors);
    if (!settings) {
        for (const QString &e : std::as_const(errors))
            QTextStream(stderr) << "holdfastd: settings: " << e << Qt::endl;
        return 2;
    }
    if (parser.isSet(dataDirOption))
        settings->dataDir = parser.value(dataDirOption);

    Gateway gateway(*settings, parser.value(standaloneOption));
    gateway.setSettingsFile(parser.value(configOption));
    QString error;
    if (!gateway.start(&error)) {
        QTextStream(stderr) << "holdfastd: " << error << Qt::endl;
        return 1;
    }
    return app.exec();
}

} // namespace

int main(int argc, char *argv[])
{
    return PlatformHost::runMain(argc, argv, serve);
}
