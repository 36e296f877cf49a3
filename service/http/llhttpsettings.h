// The llhttp callback table of a parser class, built in one place for requests and responses alike.
#pragma once

#include "headerfieldreader.h"

#include <llhttp.h>

// Header fields reach a parser's HeaderFieldReader (`Parser::fieldReader()`, which sets its target) through
// these, the same for requests and responses.
template<typename Parser>
struct LlhttpFieldCallbacks
{
    static HeaderFieldReader &reader(llhttp_t *p) { return static_cast<Parser *>(p->data)->fieldReader(); }
    template<void (HeaderFieldReader::*Step)(QByteArrayView)>
    static int onData(llhttp_t *p, const char *at, size_t length)
    {
        (reader(p).*Step)(QByteArrayView(at, qsizetype(length)));
        return 0;
    }
    template<void (HeaderFieldReader::*Step)()>
    static int onComplete(llhttp_t *p)
    {
        (reader(p).*Step)();
        return 0;
    }
};

// `Parser` declares `static constexpr llhttp_type_t LlhttpType`, the static callbacks onMessageBegin,
// onHeadersComplete, onBody, onMessageComplete, and onUrl (HTTP_REQUEST) or onStatus (HTTP_RESPONSE),
// `HeaderFieldReader &fieldReader()`; and befriends this function and LlhttpFieldCallbacks.
// One table per class, made on first use and shared by every instance.
template<typename Parser>
const llhttp_settings_t &llhttpSettings()
{
    static const llhttp_settings_t settings = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_begin = &Parser::onMessageBegin;
        if constexpr (Parser::LlhttpType == HTTP_REQUEST)
            s.on_url = &Parser::onUrl;
        else
            s.on_status = &Parser::onStatus;
        using Fields = LlhttpFieldCallbacks<Parser>;
        s.on_header_field = &Fields::template onData<&HeaderFieldReader::nameFragment>;
        s.on_header_field_complete = &Fields::template onComplete<&HeaderFieldReader::nameComplete>;
        s.on_header_value = &Fields::template onData<&HeaderFieldReader::valueFragment>;
        s.on_header_value_complete = &Fields::template onComplete<&HeaderFieldReader::valueComplete>;
        s.on_headers_complete = &Parser::onHeadersComplete;
        s.on_body = &Parser::onBody;
        s.on_message_complete = &Parser::onMessageComplete;
        return s;
    }();
    return settings;
}

// Starts (or restarts) `parser` for `owner`, whose callbacks find it again through parser->data.
template<typename Parser>
void llhttpStart(llhttp_t *parser, Parser *owner)
{
    llhttp_init(parser, Parser::LlhttpType, &llhttpSettings<Parser>());
    parser->data = owner;
}
