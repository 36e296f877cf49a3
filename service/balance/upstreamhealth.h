// Health of one upstream's nodes, shared lock-free by every worker thread and the active checker.
#pragma once

#include "configobjects.h"

#include <QLoggingCategory>
#include <QString>

#include <atomic>
#include <memory>

Q_DECLARE_LOGGING_CATEGORY(lcHealth)

class UpstreamHealth
{
public:
    // What one try against a node ended with, from a proxied request (passive) or a probe (active).
    struct Outcome
    {
        enum class Kind
        {
            HttpStatus,
            TcpSuccess,
            TcpFailure,
            Timeout
        };
        Kind kind = Kind::HttpStatus;
        int status = 0;

        static Outcome httpStatus(int status) { return {Kind::HttpStatus, status}; }
        static Outcome tcpSuccess() { return {Kind::TcpSuccess, 0}; }
        static Outcome tcpFailure() { return {Kind::TcpFailure, 0}; }
        static Outcome timeout() { return {Kind::Timeout, 0}; }
    };

    enum class Transition
    {
        None,
        BecameHealthy,
        BecameUnhealthy
    };

    // `key` names the upstream in logs ("upstreams/1"). Nodes and check settings are copied: the object
    // stays valid and consistent whatever happens to the config snapshot it came from.
    UpstreamHealth(QString key, const Upstream &upstream);
    UpstreamHealth(const UpstreamHealth &) = delete;
    UpstreamHealth &operator=(const UpstreamHealth &) = delete;

    const QString &key() const { return m_key; }
    int nodeCount() const { return int(m_nodes.size()); }
    const UpstreamNode &node(int index) const { return m_nodes.at(index); }
    const ActiveHealthCheck &active() const { return m_active; }
    const PassiveHealthCheck &passive() const { return m_passive; }

    // Every node starts healthy. Out-of-range indexes count as healthy.
    bool isHealthy(int node) const;
    int healthyCount() const;

    // A proxied request's outcome, counted against checks.passive; ignored when passive checks are off.
    Transition report(int node, const Outcome &outcome);
    // An active probe's outcome, counted against checks.active.
    Transition reportProbe(int node, const Outcome &outcome);

    // Takes over the state of every node of `previous` with the same host and port, so that a config
    // change that rebuilds this object does not revive a node known to be down.
    void inheritFrom(const UpstreamHealth &previous);

    // "host:port", with brackets around an IPv6 address.
    static QByteArray nodeName(const UpstreamNode &node);

private:
    struct Thresholds
    {
        const QVector<int> *healthyStatuses;
        const QVector<int> *unhealthyStatuses;
        int successes;
        int httpFailures;
        int tcpFailures;
        int timeouts;
    };
    Transition apply(int node, const Outcome &outcome, const Thresholds &limits, const char *source);

    QString m_key;
    QVector<UpstreamNode> m_nodes;
    ActiveHealthCheck m_active;
    PassiveHealthCheck m_passive;
    // One word per node so that a report is one compare-and-swap: the unhealthy flag and the consecutive
    // success, HTTP failure, TCP failure and timeout counters (see upstreamhealth.cpp for the layout).
    std::unique_ptr<std::atomic<quint64>[]> m_state;
};
