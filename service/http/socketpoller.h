// One epoll set watched by one QSocketNotifier: how a server's raw sockets reach the Qt event loop (Linux).
#pragma once

#include <QObject>

#include <array>
#include <sys/epoll.h>

class QSocketNotifier;

// Qt's dispatchers poll every QSocketNotifier on each turn of the loop, so 10,000 idle connections with a
// notifier each would cost every request a walk over 10,000 descriptors. Here the loop sees one descriptor,
// and a turn costs what the ready sockets cost. Level-triggered: a client that leaves bytes unread is told
// again, so it must turn reading off (modify()) while it waits. Lives in the thread of its clients.
class SocketPoller : public QObject
{
    Q_OBJECT

public:
    class Client
    {
    public:
        virtual void pollEvents(quint32 events) = 0;

    protected:
        ~Client() = default;
    };

    SocketPoller();
    ~SocketPoller() override;

    bool isValid() const { return m_epoll >= 0; }
    // `events`: EPOLLIN, EPOLLOUT, EPOLLRDHUP (EPOLLERR and EPOLLHUP are always reported). False with
    // errno set when the kernel refuses.
    bool add(int descriptor, Client *client, quint32 events);
    void modify(int descriptor, Client *client, quint32 events);
    // Before the descriptor is closed; events of this turn not yet delivered to `client` are dropped.
    void remove(int descriptor, Client *client);

private:
    void dispatch();

    int m_epoll = -1;
    QSocketNotifier *m_notifier = nullptr;
    std::array<epoll_event, 64> m_ready{};
    int m_readyCount = 0;
    int m_next = 0; // the next of m_ready to deliver while dispatching
};
