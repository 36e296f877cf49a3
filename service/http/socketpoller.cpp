#include "socketpoller.h"

#include <QLoggingCategory>
#include <QSocketNotifier>

#include <cerrno>
#include <cstring>
#include <unistd.h>

Q_DECLARE_LOGGING_CATEGORY(lcHttp)

SocketPoller::SocketPoller()
    : m_epoll(::epoll_create1(EPOLL_CLOEXEC))
{
    if (m_epoll < 0) {
        qCWarning(lcHttp) << "epoll_create1 failed:" << std::strerror(errno);
        return;
    }
    m_notifier = new QSocketNotifier(m_epoll, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &SocketPoller::dispatch);
}

SocketPoller::~SocketPoller()
{
    delete m_notifier;
    if (m_epoll >= 0)
        ::close(m_epoll);
}

bool SocketPoller::add(int descriptor, Client *client, quint32 events)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = client;
    return ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, descriptor, &ev) == 0;
}

void SocketPoller::modify(int descriptor, Client *client, quint32 events)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = client;
    ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, descriptor, &ev);
}

void SocketPoller::remove(int descriptor, Client *client)
{
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, descriptor, nullptr);
    for (int i = m_next; i < m_readyCount; ++i) {
        if (m_ready[size_t(i)].data.ptr == client)
            m_ready[size_t(i)].data.ptr = nullptr;
    }
}

void SocketPoller::dispatch()
{
    int n;
    do {
        n = ::epoll_wait(m_epoll, m_ready.data(), int(m_ready.size()), 0);
    } while (n < 0 && errno == EINTR);
    m_readyCount = qMax(n, 0);
    for (m_next = 0; m_next < m_readyCount;) {
        const epoll_event &ev = m_ready[size_t(m_next++)];
        if (auto *client = static_cast<Client *>(ev.data.ptr))
            client->pollEvents(ev.events);
    }
    m_readyCount = m_next = 0;
}
