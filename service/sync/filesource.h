// ConfigSource for standalone mode: a config file (or a persisted envelope), re-read when it changes.
#pragma once

#include "configsource.h"

#include <QByteArray>
#include <QFileSystemWatcher>
#include <QTimer>

class FileSource : public ConfigSource
{
    Q_OBJECT

public:
    explicit FileSource(QString path, QObject *parent = nullptr);

    void start() override;
    QString describe() const override;
    // Re-reads the file: accepted when it is valid.
    ResyncAnswer requestResync() override;
    // Connected once started: a file has no connection to lose.
    SourceStatus status() const override;

    // Reads the file now; emits configurationReady when its content is valid and differs from what
    // was read last, configurationRejected when it is invalid. Returns whether it is valid.
    bool reload();

private:
    void watch();

    QString m_path;
    QFileSystemWatcher m_watcher;
    QTimer m_settle; // editors write a file in several steps: read once they are done
    QByteArray m_lastDigest;
    qint64 m_generation = 0;
    bool m_started = false;
};
