// What persisting one change costs with a large configuration loaded, phase by phase, without etcd.
//
//   genconfig 100000 1000 127.0.0.1:1980 >config.json
//   persist_bench config.json DATA_DIR [CHANGES]    (default 20 changes; DATA_DIR is created, then emptied)
//
// "main's save" repeats, on the same snapshot, the steps ConfigStore::save took before the kept
// per-object bytes (PersistedWriter): the snapshot's JSON object, indented QJsonDocument text, canonical
// JSON and its SHA-256 with QCryptographicHash, the durable write of the file, and the read and hash of
// the old file for the rotation. "this save" then times ConfigStore::save itself for CHANGES single-route
// changes, each derived from the previous snapshot as the sync controller does.
#include "canonicaljson.h"
#include "configstore.h"
#include "configvalidator.h"
#include "durablefile.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

double ms(QElapsedTimer &t)
{
    const double v = double(t.nsecsElapsed()) / 1e6;
    t.restart();
    return v;
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    const auto i = std::min(v.size() - 1, size_t(double(v.size() - 1) * p / 100.0 + 0.5));
    return v.at(i);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3) {
        std::fprintf(stderr, "usage: persist_bench CONFIG_JSON DATA_DIR [CHANGES]\n");
        return 2;
    }
    const int changes = args.size() > 3 ? args.at(3).toInt() : 20;
    QFile in(args.at(1));
    if (!in.open(QIODevice::ReadOnly)) {
        std::fprintf(stderr, "persist_bench: %s\n", qPrintable(in.errorString()));
        return 2;
    }
    ValidationErrors errors;
    SnapshotPtr snapshot = ConfigSnapshot::fromJson(QJsonDocument::fromJson(in.readAll()).object(), &errors);
    if (!snapshot) {
        std::fprintf(stderr, "persist_bench: the configuration does not validate\n");
        return 2;
    }
    const QString dataDir = args.at(2);
    QDir(dataDir).removeRecursively();
    QDir().mkpath(dataDir);
    const QString file = QDir(dataDir).filePath(QStringLiteral("main.json"));
    std::printf("%lld routes, %lld upstreams\n", qint64(snapshot->routes().size()),
                qint64(snapshot->upstreams().size()));

    // main's save, phase by phase, on a fresh snapshot each time (nothing cached in it).
    for (int round = 0; round < 2; ++round) {
        const SnapshotPtr fresh = ConfigSnapshot::fromObjects(snapshot->routes(), snapshot->upstreams(),
                                                              snapshot->services(), snapshot->extra());
        QElapsedTimer t;
        t.start();
        const QJsonObject &json = fresh->json();
        const double buildMs = ms(t);
        const QByteArray canonical = CanonicalJson::serialize(json);
        const double canonicalMs = ms(t);
        const QByteArray sha = QCryptographicHash::hash(canonical, QCryptographicHash::Sha256).toHex();
        const double hashMs = ms(t);
        QByteArray text = QJsonDocument(json).toJson(QJsonDocument::Indented);
        text.replace('\n', QByteArrayLiteral("\n    "));
        const double textMs = ms(t);
        QString error;
        if (!DurableFile::write(file, text, &error)) {
            std::fprintf(stderr, "persist_bench: %s\n", qPrintable(error));
            return 1;
        }
        const double writeMs = ms(t);
        QFile old(file);
        old.open(QIODevice::ReadOnly);
        QCryptographicHash::hash(old.readAll(), QCryptographicHash::Sha256);
        const double rotateMs = ms(t);
        std::printf("main's save: json object %.0f ms, canonical %.0f ms (%lld bytes), sha256 (Qt) %.0f ms, "
                    "indented text %.0f ms (%lld bytes), write+fsync %.0f ms, re-read+hash old file %.0f ms; "
                    "total %.0f ms\n",
                    buildMs, canonicalMs, qint64(canonical.size()), hashMs, textMs, qint64(text.size()),
                    writeMs, rotateMs, buildMs + canonicalMs + hashMs + textMs + writeMs + rotateMs);
        if (sha != fresh->sha256())
            return 1;
    }
    QFile::remove(file);

    ConfigStore store(dataDir);
    QString error;
    QElapsedTimer t;
    t.start();
    if (!store.save(*snapshot, 1, {}, &error)) {
        std::fprintf(stderr, "persist_bench: %s\n", qPrintable(error));
        return 1;
    }
    std::printf("this save, first (every object serialised): %.0f ms, config.json %lld bytes\n", ms(t),
                qint64(QFileInfo(QDir(dataDir).filePath(QStringLiteral("config.json"))).size()));

    std::vector<double> times;
    const RoutePtr model = snapshot->routes().first();
    for (int i = 0; i < changes; ++i) {
        ConfigSnapshot::Routes routes = snapshot->routes();
        const QString id = QStringLiteral("bench-%1").arg(i);
        QJsonObject json = writtenJson(*model);
        json.insert(QStringLiteral("id"), id);
        json.insert(QStringLiteral("uri"), QStringLiteral("/bench/%1").arg(i));
        ValidationErrors routeErrors;
        routes.insert(id, ConfigValidator::parseRoute(id, json, &routeErrors));
        ConfigSnapshot::Changes changed;
        changed.routes.insert(id);
        snapshot =
            ConfigSnapshot::derive(snapshot, routes, snapshot->upstreams(), snapshot->services(), changed);
        t.restart();
        if (!store.save(*snapshot, 2 + i, {}, &error)) {
            std::fprintf(stderr, "persist_bench: %s\n", qPrintable(error));
            return 1;
        }
        times.push_back(ms(t));
    }
    std::printf("this save, one route changed, %d changes: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", changes,
                percentile(times, 50), percentile(times, 99), percentile(times, 100));
    if (store.savedSha256() != snapshot->sha256()) {
        std::fprintf(stderr, "persist_bench: the recorded digest differs from the snapshot's\n");
        return 1;
    }
    return 0;
}
