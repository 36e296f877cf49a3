// Where configuration comes from (a file, a control plane): the sync side sees only this interface.
#pragma once

#include "configsnapshot.h"

#include <QObject>
#include <QStringList>

class ConfigSource : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    virtual void start() = 0;
    virtual QString describe() const = 0; // for logs and status: "file /etc/holdfast/routes.json"

signals:
    // A complete, valid configuration to serve from now on.
    void configurationReady(const SnapshotPtr &snapshot, qint64 revision);
    // The source holds content that cannot be served; what is live stays live.
    void configurationRejected(const QStringList &errors);
};
