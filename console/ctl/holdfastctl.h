// holdfastctl's commands on the connector: parses the command line, runs one command, sets the exit code.
#pragma once

#include "connectorerror.h"
#include "gatewayaddress.h"

#include <QObject>
#include <QStringList>
#include <QTextStream>

class AdminClient;
class GatewayConnection;

class HoldfastCtl : public QObject
{
    Q_OBJECT

public:
    // Documented in the README and --help; scripts rely on them.
    enum ExitCode
    {
        Ok = 0,
        Differences = 1, // diff: live and persisted differ
        Usage = 2,
        Unreachable = 3, // also TLS failures
        Auth = 4,
        Refused = 5, // the gateway said no (reload-local while in sync, a 4xx/5xx)
        Timeout = 6, // no answer in time, or resync --wait did not end in sync in time
        UnexpectedDocument = 7,
    };

    explicit HoldfastCtl(QObject *parent = nullptr);
    ~HoldfastCtl() override;

    // Runs the command; finished(exitCode) follows (also for usage errors, from the event loop).
    void run(const QStringList &arguments);
    static int exitCodeFor(const ConnectorError &error);
    static QString usage();

signals:
    void finished(int exitCode);

private:
    void status();
    void diff();
    void upstreams();
    void resync(bool wait, int waitMs);
    void reloadLocal();
    void events(int count);
    void fail(const ConnectorError &error);
    void done(int code);
    void printJson(const QJsonObject &object);
    // An admin client for the gateway of the command line; it belongs to this object.
    AdminClient *newClient();
    // GET path, read as View (View::fromJson); an error or another document ends the command, else
    // use(view, json).
    template<typename View, typename Use>
    void getView(const QString &path, Use use);

    QTextStream m_out;
    QTextStream m_err;
    GatewayAddress m_address;
    GatewayConnection *m_connection = nullptr;
    bool m_json = false;
    int m_timeoutMs = 5000;
    bool m_done = false;
};
