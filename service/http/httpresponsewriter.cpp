#include "httpresponsewriter.h"

#include "httpformat.h"
#include "httpheaders.h"
#include "socketoutput.h"

void HttpResponseWriter::writeHead(int status, QByteArrayView reason, const HttpHeaders &headers,
                                   qint64 contentLength, const Request &request, bool *close)
{
    ByteBuffer &out = m_buffer;
    out.clear();
    out.append("HTTP/1.1 ");
    out.appendNumber(status);
    out.append(' ');
    out.append(reason);
    out.append("\r\n");
    headers.serialize(out);
    const bool bodyAllowed = status >= 200 && status != 204 && status != 304;
    if (!bodyAllowed) {
        m_framing = Framing::None;
    } else if (contentLength >= 0) {
        out.append("Content-Length: ");
        out.appendNumber(contentLength);
        out.append("\r\n");
        m_framing = Framing::Length;
    } else if (!request.http10) {
        out.append("Transfer-Encoding: chunked\r\n");
        m_framing = Framing::Chunked;
    } else {
        m_framing = Framing::CloseDelimited;
        if (!request.head)
            *close = true;
    }
    if (request.head)
        m_framing = Framing::None;
    if (*close)
        out.append("Connection: close\r\n");
    else if (request.http10)
        out.append("Connection: keep-alive\r\n");
    out.append("\r\n");
    m_output->write(out.view());
}

void HttpResponseWriter::writeBody(QByteArrayView data)
{
    if (data.isEmpty())
        return;
    switch (m_framing) {
    case Framing::None:
        return;
    case Framing::Chunked: {
        char line[20];
        m_output->write(HttpFormat::chunkSizeLine(line, data.size()));
        m_output->write(data);
        m_output->write("\r\n");
        break;
    }
    case Framing::Length:
    case Framing::CloseDelimited:
        m_output->write(data);
        break;
    }
}

void HttpResponseWriter::finish(const HttpHeaders *trailers)
{
    if (m_framing != Framing::Chunked)
        return;
    if (trailers && !trailers->isEmpty()) {
        ByteBuffer &out = m_buffer;
        out.clear();
        out.append("0\r\n");
        trailers->serialize(out);
        out.append("\r\n");
        m_output->write(out.view());
    } else {
        m_output->write("0\r\n\r\n");
    }
}
