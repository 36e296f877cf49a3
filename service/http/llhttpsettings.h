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
    static int onName(llhttp_t *p, const char *at, size_t length)
    {
        reader(p).nameFragment(QByteArrayView(at, qsizetype(length)));
        return 0;
    }
    static int onNameComplete(llhttp_t *p)
    {
        reader(p).nameComplete();
        return 0;
    }
    static int onValue(llhttp_t *p, const char *at, size_t length)
    {
        reader(p).valueFragment(QByteArrayView(at, qsizetype(length)));
        return 0;
    }
    static int onValueComplete(llhttp_t *p)
    {
        reader(p).valueComplete();
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
        s.on_header_field = &LlhttpFieldCallbacks<Parser>::onName;
        s.on_header_field_complete = &LlhttpFieldCallbacks<Parser>::onNameComplete;
        s.on_header_value = &LlhttpFieldCallbacks<Parser>::onValue;
        s.on_header_value_complete = &LlhttpFieldCallbacks<Parser>::onValueComplete;
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
