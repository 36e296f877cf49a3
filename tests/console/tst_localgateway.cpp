// Quick setup: the gateway on this machine found from its bootstrap settings and token file.
#include "localgateway.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

class tst_LocalGateway : public QObject
{
    Q_OBJECT

private slots:
    void readsAdminAddressAndTokenFile();
    void saysWhyNot();
};

namespace {

bool write(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

} // namespace

void tst_LocalGateway::readsAdminAddressAndTokenFile()
{
    QTemporaryDir dir;
    QVERIFY(write(dir.filePath(QStringLiteral("admin.token")), "t0ken\n"));
    const QString settings = dir.filePath(QStringLiteral("holdfastd.json"));
    QVERIFY(
        write(settings, QStringLiteral(R"({"data_dir": "%1", "admin": {"address": "0.0.0.0", "port": 9333}})")
                            .arg(dir.path())
                            .toUtf8()));
    QString why;
    const std::optional<GatewayAddress> found = LocalGateway::fromSettings(settings, &why);
    QVERIFY2(found, qPrintable(why));
    QCOMPARE(found->adminUrl,
             QUrl(QStringLiteral("http://127.0.0.1:9333"))); // a wildcard is reached on loopback
    QCOMPARE(found->tokenFile, dir.filePath(QStringLiteral("admin.token")));
    QCOMPARE(found->resolveToken(&why), QByteArray("t0ken"));

    // $HOLDFAST_SETTINGS comes first among the candidates.
    qputenv("HOLDFAST_SETTINGS", settings.toUtf8());
    QCOMPARE(LocalGateway::settingsCandidates().value(0), settings);
    const std::optional<GatewayAddress> viaEnv = LocalGateway::find(&why);
    QVERIFY(viaEnv);
    QCOMPARE(viaEnv->adminUrl, found->adminUrl);
    qunsetenv("HOLDFAST_SETTINGS");
}

void tst_LocalGateway::saysWhyNot()
{
    QTemporaryDir dir;
    const QString settings = dir.filePath(QStringLiteral("holdfastd.json"));
    QString why;
    QVERIFY(!LocalGateway::fromSettings(settings, &why));
    QVERIFY(why.startsWith(settings));
    QVERIFY(write(settings, QStringLiteral(R"({"data_dir": "%1"})").arg(dir.path()).toUtf8()));
    QVERIFY(!LocalGateway::fromSettings(settings, &why)); // no token file yet: not offered
    QVERIFY2(why.contains(QLatin1String("admin.token")), qPrintable(why));
}

QTEST_APPLESS_MAIN(tst_LocalGateway)
#include "tst_localgateway.moc"
