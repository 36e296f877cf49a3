#include "httpexchange.h"

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
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Entity";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
