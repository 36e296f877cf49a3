// Parses HTTP/1.1 requests from bytes into a validated head, the de-chunked body, or a precise error: no
// sockets.
#pragma once

#include "headerfieldreader.h"
#include "httplimits.h"
#include "httprequesthead.h"

#include <QByteArrayView>

#include <llhttp.h>

// llhttp (strict mode) does the tokenising and the framing; on top of it this class refuses what a
// downstream parser could read differently (obsolete line folding, several Host or Transfer-Encoding
// fields, transfer codings other than chunked, a Host that is not a host) and reduces an absolute-form
// target to origin form. Parsing stops after each head and after each message, so a caller answers
// requests one at a time and pipelined bytes stay unread until it calls parse() again.
//
//     HttpRequestParser parser(limits);
//     qsizetype used = parser.parse(data, size);   // then look at status()
class HttpRequestParser
{
public:
    enum class Status
    {
        NeedMore,        // everything given was consumed; the message is not complete
        HeadComplete,    // head() is valid; the body and the completion follow on the next parse()
        Paused,          // pause() was called from the body sink
        MessageComplete, // the request (with its body) is complete; parse() again for the next one
        Failed           // errorStatus() and errorReason() say why; the connection must close
    };

    class BodySink
    {
    public:
        virtual ~BodySink() = default;
        // De-chunked body bytes, valid only during the call. May call pause() or fail().
        virtual void parsedBody(QByteArrayView data) = 0;
    };

    explicit HttpRequestParser(const HttpLimits &limits);
    HttpRequestParser(const HttpRequestParser &) = delete;
    HttpRequestParser &operator=(const HttpRequestParser &) = delete;

    void setBodySink(BodySink *sink) { m_sink = sink; }
    // Returns the bytes consumed from `data`; status() says what happened.
    qsizetype parse(const char *data, qsizetype size);
    Status status() const { return m_status; }
    // From BodySink::parsedBody(): stop after this fragment (status Paused).
    void pause() { m_pauseRequested = true; }
    // From BodySink::parsedBody(): refuse the request with `status`.
    void fail(int status, const char *reason);

    HttpRequestHead &head() { return m_head; }
    const HttpRequestHead &head() const { return m_head; }
    bool inBody() const { return m_inBody; }
    // The head is parsed and no body follows: the next parse() completes the message without bytes.
    bool completesWithoutInput() const { return m_inBody && !m_head.hasBody(); }
    qint64 bodyBytes() const { return m_bodyBytes; }
    int errorStatus() const { return m_errorStatus; }
    const char *errorReason() const { return m_errorReason; }

private:
    template<typename Parser>
    friend const llhttp_settings_t &llhttpSettings();
    template<typename Parser>
    friend void llhttpStart(llhttp_t *parser, Parser *owner);
    template<typename Parser>
    friend struct LlhttpFieldCallbacks;
    static constexpr llhttp_type_t LlhttpType = HTTP_REQUEST;
    static int onMessageBegin(llhttp_t *p);
    static int onUrl(llhttp_t *p, const char *at, size_t length);
    // A chunked request's trailer fields are read and dropped: not forwarded.
    HeaderFieldReader &fieldReader()
    {
        m_fields.setTarget(m_inBody ? nullptr : &m_head.headers);
        return m_fields;
    }
    static int onHeadersComplete(llhttp_t *p);
    static int onBody(llhttp_t *p, const char *at, size_t length);
    static int onMessageComplete(llhttp_t *p);

    void beginMessage();
    bool scanForFolding(const char *data, qsizetype size);
    bool validateHead();
    bool checkVersionAndMethod();
    bool checkFields(int *hostCount);
    bool checkFraming();
    bool resolveTarget(int hostCount);
    int setError(int status, const char *reason);
    bool reject(int status, const char *reason);

    HttpLimits m_limits;
    llhttp_t m_parser;
    HttpRequestHead m_head;
    HeaderFieldReader m_fields;
    BodySink *m_sink = nullptr;
    Status m_status = Status::NeedMore;
    int m_errorStatus = 0;
    const char *m_errorReason = "";
    int m_headBytes = 0;
    qint64 m_bodyBytes = 0;
    char m_prevHeadByte = 0;
    bool m_inHead = false;
    bool m_inBody = false;
    bool m_pauseRequested = false;
    bool m_headDone = false;
    bool m_messageDone = false;
};
