// Frames one HTTP/1.1 response onto a socket's output: status line, fields, Content-Length or chunks,
// trailers.
#pragma once

#include "bytebuffer.h"

#include <QByteArrayView>

class HttpHeaders;
class SocketOutput;

class HttpResponseWriter
{
public:
    enum class Framing
    {
        None,          // no body: HEAD, 1xx, 204, 304, or nothing begun
        Length,        // Content-Length
        Chunked,       // Transfer-Encoding: chunked (HTTP/1.1 clients)
        CloseDelimited // the body ends when the connection closes (HTTP/1.0 clients)
    };

    struct Request
    {
        bool http10 = false;
        bool head = false; // method HEAD: the head describes a body that is not sent
    };

    explicit HttpResponseWriter(SocketOutput *output)
        : m_output(output)
    {}

    // Writes the head; `contentLength` -1 asks for chunks (close-delimited to HTTP/1.0). `close` says
    // whether the connection closes after this response; it is set when the framing needs it.
    void writeHead(int status, QByteArrayView reason, const HttpHeaders &headers, qint64 contentLength,
                   const Request &request, bool *close);
    void writeBody(QByteArrayView data);
    // Ends a chunked body (with trailers when given); nothing for other framings.
    void finish(const HttpHeaders *trailers);
    Framing framing() const { return m_framing; }
    void reset() { m_framing = Framing::None; }

private:
    SocketOutput *m_output;
    ByteBuffer m_buffer; // reused for heads
    Framing m_framing = Framing::None;
};
