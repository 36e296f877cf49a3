#include "sharedlistener.h"

#include "proxyworker.h"

SharedListener::SharedListener(QList<ProxyWorker *> workers, QObject *parent)
    : QTcpServer(parent)
    , m_workers(std::move(workers))
{}

void SharedListener::incomingConnection(qintptr descriptor)
{
    ProxyWorker *worker = m_workers.at(m_next);
    m_next = (m_next + 1) % int(m_workers.size());
    QMetaObject::invokeMethod(
        worker, [worker, descriptor] { worker->addConnection(descriptor); }, Qt::QueuedConnection);
}
