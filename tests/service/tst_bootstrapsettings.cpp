#include "bootstrapsettings.h"

#include <QTest>

class tst_BootstrapSettings : public QObject
{
    Q_OBJECT

private slots:
    void defaults();
    void everyKey();
    void errors_data();
    void errors();
    void relativePathsFollowDataDir();
    void everyKeyChangesEquality_data();
    void everyKeyChangesEquality();
};

void tst_BootstrapSettings::defaults()
{
    QStringList errors;
    const auto s = BootstrapSettings::fromJson("{}", &errors);
    QVERIFY2(s, qPrintable(errors.join(QLatin1Char('\n'))));
    QCOMPARE(s->listen.size(), 1);
    QCOMPARE(s->listen.first().port, quint16(9080));
    QCOMPARE(s->admin.address, QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(s->admin.port, quint16(9180));
    QCOMPARE(s->router, QStringLiteral("radixtree_host_uri"));
    QCOMPARE(s->controlPlane.prefix, QStringLiteral("/apisix"));
    QCOMPARE(s->controlPlane.pageSize, 10000);
    QCOMPARE(s->controlPlane.fullSync, QStringLiteral("auto"));
    QCOMPARE(s->startup.waitForControlPlaneMs, 3000);
    QCOMPARE(s->startup.serveLocalFirst, false);
}

void tst_BootstrapSettings::everyKey()
{
    QStringList errors;
    const auto s = BootstrapSettings::fromJson(R"({
        "listen": [{"address": "127.0.0.1", "port": 8080}, {"address": "::1", "port": 8081}],
        "workers": 3, "router": "radixtree_uri", "data_dir": "/tmp/hf",
        "admin": {"address": "127.0.0.2", "port": 9999, "token_file": "t"},
        "control_plane": {"type": "etcd", "endpoints": ["http://127.0.0.1:1", "http://127.0.0.1:2"],
                          "prefix": "/p", "username": "u", "password": "pw", "page_size": 250,
                          "full_sync": "json",
                          "tls": {"ca": "ca.pem", "cert": "c.pem", "key": "k.pem"}},
        "startup": {"wait_for_control_plane_ms": 10, "serve_local_first": true},
        "limits": {"max_header_bytes": 4096, "max_body_bytes": 1000, "request_buffer_bytes": 0,
                   "max_connections": 500, "client_body_timeout_ms": 30000},
        "access_log": "access.log", "real_ip_from": ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]
    })",
                                               &errors);
    QVERIFY2(s, qPrintable(errors.join(QLatin1Char('\n'))));
    QCOMPARE(s->listen.size(), 2);
    QCOMPARE(s->listen.at(1).address, QHostAddress(QHostAddress::LocalHostIPv6));
    QCOMPARE(s->listen.at(1).port, quint16(8081));
    QCOMPARE(s->workers, 3);
    QCOMPARE(s->router, QStringLiteral("radixtree_uri"));
    QCOMPARE(s->admin.port, quint16(9999));
    QCOMPARE(s->controlPlane.endpoints.size(), 2);
    QCOMPARE(s->controlPlane.password, QStringLiteral("pw"));
    QCOMPARE(s->controlPlane.tlsKey, QStringLiteral("k.pem"));
    QCOMPARE(s->controlPlane.pageSize, 250);
    QCOMPARE(s->controlPlane.fullSync, QStringLiteral("json"));
    QCOMPARE(s->startup.serveLocalFirst, true);
    QCOMPARE(s->limits.maxHeaderBytes, 4096);
    QCOMPARE(s->limits.maxBodyBytes, qint64(1000));
    QCOMPARE(s->limits.requestBufferBytes, qint64(0));
    QCOMPARE(s->limits.maxConnections, 500);
    QCOMPARE(s->limits.clientBodyTimeoutMs, 30000);
    QCOMPARE(s->resolve(s->accessLog), QStringLiteral("/tmp/hf/access.log"));
    QCOMPARE(s->realIpFrom.size(), 3);
    QCOMPARE(s->realIpFrom.at(0), qMakePair(QHostAddress(QStringLiteral("10.0.0.0")), 8));
    QCOMPARE(s->realIpFrom.at(1), qMakePair(QHostAddress(QStringLiteral("192.168.1.7")), 32));
}

void tst_BootstrapSettings::errors_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("error");
    QTest::newRow("not json") << QByteArray("{") << QStringLiteral("not JSON");
    QTest::newRow("not an object") << QByteArray("[]") << QStringLiteral("expected a JSON object");
    QTest::newRow("unknown key") << QByteArray(R"({"listn": []})") << QStringLiteral("/listn: unknown key");
    QTest::newRow("nested unknown key")
        << QByteArray(R"({"admin": {"prot": 1}})") << QStringLiteral("/admin/prot: unknown key");
    QTest::newRow("wrong type") << QByteArray(R"({"workers": "2"})")
                                << QStringLiteral("/workers: expected integer 0-256, got string");
    QTest::newRow("port range") << QByteArray(R"({"listen": [{"address": "127.0.0.1", "port": 70000}]})")
                                << QStringLiteral("/listen/0/port: expected integer 1-65535, got 70000");
    QTest::newRow("bad address") << QByteArray(R"({"listen": [{"address": "localhost", "port": 1}]})")
                                 << QStringLiteral(
                                        "/listen/0/address: expected an IP address, got \"localhost\"");
    QTest::newRow("bad router") << QByteArray(R"({"router": "radix"})")
                                << QStringLiteral("/router: expected");
    QTest::newRow("bad full_sync") << QByteArray(R"({"control_plane": {"full_sync": "http2"}})")
                                   << QStringLiteral("/control_plane/full_sync: expected \"auto\", "
                                                     "\"grpc\" or \"json\", got \"http2\"");
    QTest::newRow("endpoint type") << QByteArray(R"({"control_plane": {"endpoints": [1]}})")
                                   << QStringLiteral(
                                          "/control_plane/endpoints/0: expected string, got number");
    QTest::newRow("boolean") << QByteArray(R"({"startup": {"serve_local_first": 1}})")
                             << QStringLiteral("/startup/serve_local_first: expected boolean, got number");
    QTest::newRow("real_ip_from") << QByteArray(R"({"real_ip_from": ["10.0.0.0/8", "ten"]})")
                                  << QStringLiteral(
                                         "/real_ip_from/1: expected an address or CIDR, got \"ten\"");
    QTest::newRow("empty listen") << QByteArray(R"({"listen": []})")
                                  << QStringLiteral("/listen: expected a non-empty");
}

void tst_BootstrapSettings::errors()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, error);
    QStringList errors;
    QVERIFY(!BootstrapSettings::fromJson(json, &errors));
    QVERIFY2(!errors.isEmpty() && errors.first().startsWith(error),
             qPrintable(errors.join(QLatin1Char('\n'))));
}

void tst_BootstrapSettings::relativePathsFollowDataDir()
{
    BootstrapSettings s;
    s.dataDir = QStringLiteral("/var/lib/x");
    QCOMPARE(s.resolve(QStringLiteral("admin.token")), QStringLiteral("/var/lib/x/admin.token"));
    QCOMPARE(s.resolve(QStringLiteral("/etc/token")), QStringLiteral("/etc/token"));
    QCOMPARE(s.resolve(QStringLiteral("-")), QStringLiteral("-"));
}

QTEST_GUILESS_MAIN(tst_BootstrapSettings)
#include "tst_bootstrapsettings.moc"

// SIGHUP names the settings that wait for a restart by comparing structs: a key whose change the
// comparison misses would be silently ignored.
void tst_BootstrapSettings::everyKeyChangesEquality_data()
{
    QTest::addColumn<QByteArray>("json");
    const char *const changes[] = {
        R"({"listen": [{"address": "127.0.0.1", "port": 9080}]})",
        R"({"listen": [{"address": "0.0.0.0", "port": 9081}]})",
        R"({"workers": 2})",
        R"({"router": "radixtree_uri"})",
        R"({"data_dir": "/tmp/elsewhere"})",
        R"({"admin": {"address": "127.0.0.2"}})",
        R"({"admin": {"port": 9181}})",
        R"({"admin": {"token_file": "other.token"}})",
        R"({"control_plane": {"endpoints": ["http://127.0.0.1:2380"]}})",
        R"({"control_plane": {"prefix": "/other"}})",
        R"({"control_plane": {"username": "u"}})",
        R"({"control_plane": {"password": "p"}})",
        R"({"control_plane": {"tls": {"ca": "ca.pem"}}})",
        R"({"control_plane": {"tls": {"cert": "cert.pem"}}})",
        R"({"control_plane": {"tls": {"key": "key.pem"}}})",
        R"({"control_plane": {"timeout_ms": 1000}})",
        R"({"control_plane": {"liveness_ms": 1000}})",
        R"({"control_plane": {"backoff_initial_ms": 100}})",
        R"({"control_plane": {"backoff_max_ms": 1000}})",
        R"({"control_plane": {"page_size": 100}})",
        R"({"control_plane": {"full_sync": "grpc"}})",
        R"({"startup": {"wait_for_control_plane_ms": 10}})",
        R"({"startup": {"serve_local_first": true}})",
        R"({"limits": {"max_header_bytes": 1024}})",
        R"({"limits": {"max_body_bytes": 1024}})",
        R"({"limits": {"client_header_timeout_ms": 1000}})",
        R"({"limits": {"client_keepalive_timeout_ms": 1000}})",
        R"({"access_log": "access.log"})",
        R"({"access_log_format": "$remote_addr"})",
    };
    for (const char *json : changes)
        QTest::newRow(json) << QByteArray(json);
}

void tst_BootstrapSettings::everyKeyChangesEquality()
{
    QFETCH(QByteArray, json);
    QStringList errors;
    const auto defaults = BootstrapSettings::fromJson("{}", &errors);
    const auto changed = BootstrapSettings::fromJson(json, &errors);
    QVERIFY2(defaults && changed, qPrintable(errors.join(QLatin1Char('\n'))));
    QVERIFY(*defaults == *BootstrapSettings::fromJson("{}", &errors));
    QVERIFY(*changed != *defaults);
}
