// A cap on open client connections shared by several HttpServers (the proxy's workers): one count per
// gateway.
#pragma once

#include <atomic>

// Each server takes a unit for every connection it adopts and gives it back when the connection ends;
// servers in other threads read full() on their timer to resume accepting, so no lock and no cross-thread
// call is needed.
class ConnectionBudget
{
public:
    explicit ConnectionBudget(int limit)
        : m_limit(limit)
    {}

    // False at the cap: the caller must not adopt the connection.
    bool tryAcquire()
    {
        int open = m_open.load(std::memory_order_relaxed);
        while (open < m_limit) {
            if (m_open.compare_exchange_weak(open, open + 1, std::memory_order_relaxed))
                return true;
        }
        return false;
    }
    void release() { m_open.fetch_sub(1, std::memory_order_relaxed); }
    bool full() const { return m_open.load(std::memory_order_relaxed) >= m_limit; }
    int limit() const { return m_limit; }
    int open() const { return m_open.load(std::memory_order_relaxed); }

private:
    const int m_limit;
    std::atomic<int> m_open{0};
};
