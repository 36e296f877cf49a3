#include "httpexchange.h"

#include <http_parser.h>

void HttpExchange::respond(int status, QByteArrayView contentType, QByteArrayView body,
                           const HttpHeaders *extra)
{
    HttpHeaders headers;
    if (!contentType.isEmpty())
        headers.append("Content-Type", contentType);
    if (extra) {
        for (int i = 0; i < extra->size(); ++i)
            headers.append(extra->name(i), extra->value(i));
    }
    writeHead(status, reasonPhrase(status), headers, body.size());
    writeBody(body);
    finish();
}

void HttpExchange::respondError(int status, QByteArrayView message)
{
    QByteArray body;
    body.reserve(64);
    body += "{\"error_msg\":\"";
    if (message.isEmpty()) {
        body += QByteArray::number(status);
        body += ' ';
        body += reasonPhrase(status);
    } else {
        body += message;
    }
    body += "\"}\n";
    respond(status, "application/json", body);
}

QByteArrayView HttpExchange::reasonPhrase(int status)
{
    const char *text = http_status_str(http_status(status));
    if (!text || qstrcmp(text, "<unknown>") == 0)
        return "Unknown";
    return QByteArrayView(text);
}
