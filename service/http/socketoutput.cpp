#include "socketoutput.h"

#include "httpclock.h"
#include "httpformat.h"
#include "streamsocket.h"

void SocketOutput::write(QByteArrayView data)
{
    if (m_holding) {
        if (m_held.size() + data.size() <= HoldLimit) {
            HttpFormat::append(m_held, data);
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
    send(m_held);
    m_held.resize(0);
}

void SocketOutput::discard()
{
    m_holding = false;
    m_held.resize(0);
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
