#include "socketoutput.h"

#include "httpclock.h"
#include "streamsocket.h"

void SocketOutput::write(QByteArrayView data)
{
    if (m_holding) {
        if (m_held.size() + data.size() <= HoldLimit) {
            m_held.append(data);
            return;
        }
        release();
    }
    send(data);
}

void SocketOutput::release()
{
    m_holding = false;
    if (m_held.isEmpty())
        return;
    send(m_held.view());
    m_held.clear();
}

void SocketOutput::discard()
{
    m_holding = false;
    m_held.clear();
}

qint64 SocketOutput::pending() const
{
    return m_socket->bytesToWrite() + m_held.size();
}

void SocketOutput::noteProgress()
{
    m_progressMs = HttpClock::nowMs();
}

void SocketOutput::send(QByteArrayView data)
{
    if (m_socket->bytesToWrite() == 0)
        noteProgress();
    m_socket->write(data);
}
