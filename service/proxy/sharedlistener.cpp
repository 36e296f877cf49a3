#include "sharedlistener.h"

#include "proxyworker.h"

#include <QTimer>

SharedListener::SharedListener(QList<ProxyWorker *> workers, QObject *parent)
    : QTcpServer(parent)
    , m_workers(std::move(workers))
{
    // QTcpServer stops accepting after a failed accept (out of descriptors: EMFILE/ENFILE) and never
    // resumes by itself; resuming at once would spin on the readable backlog.
    connect(this, &QTcpServer::acceptError, this, [this] {
        QTimer::singleShot(100, this, [this] {
            if (isListening())
                resumeAccepting();
        });
    });
}

void SharedListener::incomingConnection(qintptr descriptor)
{
    ProxyWorker *worker = m_workers.at(m_next);
    m_next = (m_next + 1) % int(m_workers.size());
    QMetaObject::invokeMethod(
        worker, [worker, descriptor] { worker->addConnection(descriptor); }, Qt::QueuedConnection);
}
