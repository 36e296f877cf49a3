#include "upstreamhealth.h"

#include <algorithm>

Q_LOGGING_CATEGORY(lcHealth, "holdfast.balance.health", QtInfoMsg)

namespace {

// Layout of a node's state word. A zero word is a healthy node with no history, so a fresh array of
// zeroes is the right initial state. Counters saturate instead of wrapping into the neighbouring field.
constexpr int SuccessShift = 0;
constexpr int HttpShift = 16;
constexpr int TcpShift = 32;
constexpr int TimeoutShift = 48;
constexpr quint64 CounterMask = 0x7fff;
constexpr quint64 UnhealthyBit = quint64(1) << 63;

inline int counter(quint64 state, int shift)
{
    return int((state >> shift) & CounterMask);
}

inline quint64 withCounter(quint64 state, int shift, int value)
{
    const quint64 v = quint64(std::min<int>(value, int(CounterMask)));
    return (state & ~(CounterMask << shift)) | (v << shift);
}

QByteArray outcomeText(const UpstreamHealth::Outcome &outcome)
{
    switch (outcome.kind) {
    case UpstreamHealth::Outcome::Kind::HttpStatus:
        return "status " + QByteArray::number(outcome.status);
    case UpstreamHealth::Outcome::Kind::TcpSuccess:
        return "connected";
    case UpstreamHealth::Outcome::Kind::TcpFailure:
        return "TCP failure";
    case UpstreamHealth::Outcome::Kind::Timeout:
        return "timeout";
    }
    return {};
}

} // namespace

UpstreamHealth::UpstreamHealth(QString key, const Upstream &upstream)
    : m_key(std::move(key))
    , m_nodes(upstream.nodes)
    , m_active(upstream.active)
    , m_passive(upstream.passive)
    , m_state(new std::atomic<quint64>[size_t(upstream.nodes.size())])
{
    for (int i = 0; i < nodeCount(); ++i)
        m_state[i].store(0, std::memory_order_relaxed);
}

bool UpstreamHealth::isHealthy(int node) const
{
    if (node < 0 || node >= nodeCount())
        return true;
    return !(m_state[node].load(std::memory_order_relaxed) & UnhealthyBit);
}

int UpstreamHealth::healthyCount() const
{
    int n = 0;
    for (int i = 0; i < nodeCount(); ++i)
        n += isHealthy(i) ? 1 : 0;
    return n;
}

UpstreamHealth::Transition UpstreamHealth::report(int node, const Outcome &outcome)
{
    if (!m_passive.enabled)
        return Transition::None;
    const Thresholds limits{&m_passive.healthyStatuses, &m_passive.unhealthyStatuses,
                            m_passive.healthySuccesses, m_passive.httpFailures,
                            m_passive.tcpFailures,      m_passive.timeouts};
    return apply(node, outcome, limits, "passive");
}

UpstreamHealth::Transition UpstreamHealth::reportProbe(int node, const Outcome &outcome)
{
    const Thresholds limits{&m_active.healthyStatuses, &m_active.unhealthyStatuses, m_active.healthySuccesses,
                            m_active.httpFailures,     m_active.tcpFailures,        m_active.timeouts};
    return apply(node, outcome, limits, "active");
}

// The counting follows lua-resty-healthcheck, which APISIX uses: a success clears the failure counters,
// any failure clears the success counter, each failure kind has its own threshold, a threshold of 0 never
// trips, and a state change clears every counter. A status in neither list counts for nothing.
UpstreamHealth::Transition UpstreamHealth::apply(int node, const Outcome &outcome, const Thresholds &limits,
                                                 const char *source)
{
    if (node < 0 || node >= nodeCount())
        return Transition::None;

    bool success = false;
    int failureShift = -1;
    int failureLimit = 0;
    switch (outcome.kind) {
    case Outcome::Kind::HttpStatus:
        if (limits.healthyStatuses->contains(outcome.status)) {
            success = true;
        } else if (limits.unhealthyStatuses->contains(outcome.status)) {
            failureShift = HttpShift;
            failureLimit = limits.httpFailures;
        } else {
            return Transition::None;
        }
        break;
    case Outcome::Kind::TcpSuccess:
        success = true;
        break;
    case Outcome::Kind::TcpFailure:
        failureShift = TcpShift;
        failureLimit = limits.tcpFailures;
        break;
    case Outcome::Kind::Timeout:
        failureShift = TimeoutShift;
        failureLimit = limits.timeouts;
        break;
    }

    std::atomic<quint64> &word = m_state[node];
    quint64 before = word.load(std::memory_order_relaxed);
    quint64 after;
    do {
        const bool unhealthy = before & UnhealthyBit;
        if (success) {
            const int successes = counter(before, SuccessShift) + 1;
            if (unhealthy && limits.successes > 0 && successes >= limits.successes)
                after = 0;
            else
                after = withCounter(before & UnhealthyBit, SuccessShift, successes);
        } else {
            const int failures = counter(before, failureShift) + 1;
            if (!unhealthy && failureLimit > 0 && failures >= failureLimit)
                after = UnhealthyBit;
            else
                after = withCounter(before & ~(CounterMask << SuccessShift), failureShift, failures);
        }
    } while (!word.compare_exchange_weak(before, after, std::memory_order_relaxed));

    const bool wasHealthy = !(before & UnhealthyBit);
    const bool isNowHealthy = !(after & UnhealthyBit);
    if (wasHealthy == isNowHealthy)
        return Transition::None;

    const QByteArray name = nodeName(m_nodes.at(node));
    if (isNowHealthy) {
        qCInfo(lcHealth, "%s: node %s is healthy again (%s check: %s)", qUtf8Printable(m_key),
               name.constData(), source, outcomeText(outcome).constData());
    } else {
        qCWarning(lcHealth, "%s: node %s is unhealthy (%s check: %s)", qUtf8Printable(m_key),
                  name.constData(), source, outcomeText(outcome).constData());
    }
    return isNowHealthy ? Transition::BecameHealthy : Transition::BecameUnhealthy;
}

void UpstreamHealth::inheritFrom(const UpstreamHealth &previous)
{
    for (int i = 0; i < nodeCount(); ++i) {
        for (int j = 0; j < previous.nodeCount(); ++j) {
            const UpstreamNode &a = m_nodes.at(i);
            const UpstreamNode &b = previous.m_nodes.at(j);
            if (a.host == b.host && a.port == b.port) {
                m_state[i].store(previous.m_state[j].load(std::memory_order_relaxed),
                                 std::memory_order_relaxed);
                break;
            }
        }
    }
}

QByteArray UpstreamHealth::nodeName(const UpstreamNode &node)
{
    const QByteArray port = QByteArray::number(node.port);
    if (node.host.contains(':'))
        return '[' + node.host + "]:" + port;
    return node.host + ':' + port;
}
