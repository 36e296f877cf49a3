// The fallback where sockets cannot be shared with SO_REUSEPORT: one listener dealing connections out.
#pragma once

#include <QList>
#include <QTcpServer>

class ProxyWorker;

// Accepts in the thread it lives in and hands each new connection to the next worker, round robin:
// one queued call per connection, never per request.
class SharedListener : public QTcpServer
{
    Q_OBJECT

public:
    SharedListener(QList<ProxyWorker *> workers, QObject *parent = nullptr);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    QList<ProxyWorker *> m_workers;
    int m_next = 0;
};
