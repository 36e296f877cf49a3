// Probes the nodes of upstreams with checks.active from its own thread and feeds their UpstreamHealth.
#pragma once

#include "healthregistry.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>
#include <vector>

class QThread;

class ActiveHealthChecker : public QObject
{
    Q_OBJECT

public:
    // Starts the checker's thread; the object lives in it from here on.
    ActiveHealthChecker();
    // Stops probing and the thread. Call from the thread that created the checker.
    ~ActiveHealthChecker() override;

    // Safe from any thread: probe the upstreams of `targets` that have checks.active enabled. Nodes whose
    // health object is unchanged keep their schedule; the rest start at once, and probes of upstreams no
    // longer listed are abandoned.
    void setTargets(HealthMapPtr targets);

    // Stops probing and the thread; afterwards the object belongs to the calling thread again.
    void stop();

signals:
    void nodeStateChanged(const QString &key, int node, bool healthy);
    // Every finished probe, for metrics and tests.
    void probeFinished(const QString &key, int node, bool healthy);

private:
    struct Target;
    void applyTargets(const HealthMapPtr &targets);
    void schedule(Target *target, int delayMs);
    void onTimer(Target *target);
    void startProbe(Target *target);
    void onConnected(Target *target);
    void onReadyRead(Target *target);
    void finishProbe(Target *target, const UpstreamHealth::Outcome &outcome);
    void dropSocket(Target *target, bool now);
    void dropAll();

    std::unique_ptr<QThread> m_thread;
    std::atomic<bool> m_stopped{false};
    std::vector<std::unique_ptr<Target>> m_targets; // touched only in m_thread
};
