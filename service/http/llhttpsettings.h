// The llhttp callback table of a parser class, built in one place for requests and responses alike.
#pragma once

#include <llhttp.h>

// `Parser` declares `static constexpr llhttp_type_t LlhttpType`, the static callbacks onMessageBegin,
// onHeaderField, onHeaderFieldComplete, onHeaderValue, onHeaderValueComplete, onHeadersComplete, onBody,
// onMessageComplete, and onUrl (HTTP_REQUEST) or onStatus (HTTP_RESPONSE); and befriends this function.
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
        s.on_header_field = &Parser::onHeaderField;
        s.on_header_field_complete = &Parser::onHeaderFieldComplete;
        s.on_header_value = &Parser::onHeaderValue;
        s.on_header_value_complete = &Parser::onHeaderValueComplete;
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
