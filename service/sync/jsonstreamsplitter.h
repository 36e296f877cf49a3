// Cuts a byte stream of concatenated JSON objects (etcd's streaming watch) into whole objects.
#pragma once

#include <QByteArray>
#include <QList>

// The gateway writes one object per line, but TCP and HTTP chunking may split an object anywhere or
// join several: the splitter tracks braces and strings so it never depends on where a read ends.
class JsonStreamSplitter
{
public:
    void append(const QByteArray &bytes);
    // The objects completed so far, oldest first; each is handed out once.
    QList<QByteArray> takeObjects();
    void clear();
    qsizetype pendingBytes() const { return m_buffer.size(); }

private:
    QByteArray m_buffer;
    QList<QByteArray> m_ready;
    qsizetype m_scanned = 0; // bytes of m_buffer already examined
    qsizetype m_start = -1;  // where the object being read starts, -1 between objects
    int m_depth = 0;
    bool m_inString = false;
    bool m_escaped = false;
};
