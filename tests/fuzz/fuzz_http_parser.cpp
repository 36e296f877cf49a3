// Fuzzes HttpRequestParser alone: no socket, no event loop, so libFuzzer runs thousands of inputs a second.
//
// Each input is parsed twice, whole and split at a point its first byte chooses, and both runs must
// agree (same requests, same error status): a parser whose verdict depends on how TCP cut the bytes is
// a smuggling bug. Built with -fsanitize=fuzzer (HOLDFAST_FUZZ=ON, clang) it is a libFuzzer target;
// otherwise fuzzreplay.cpp's main() replays the files and directories given on the command line.
#include "httprequestparser.h"

#include <QByteArray>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

class Sink : public HttpRequestParser::BodySink
{
public:
    void parsedBody(QByteArrayView data) override { bytes += data.size(); }
    qint64 bytes = 0;
};

struct Verdict
{
    QByteArray heads; // method, target, host and fields of every request, in order
    qint64 bodyBytes = 0;
    int errorStatus = 0;

    bool operator==(const Verdict &o) const
    {
        return heads == o.heads && bodyBytes == o.bodyBytes && errorStatus == o.errorStatus;
    }
};

Verdict run(const char *data, qsizetype size, qsizetype split)
{
    HttpLimits limits;
    limits.maxHeaderBytes = 2048;
    limits.maxBodyBytes = 4096;
    HttpRequestParser parser(limits);
    Sink sink;
    parser.setBodySink(&sink);
    Verdict v;
    qsizetype pos = 0;
    qsizetype end = split;
    for (int guard = 0; guard < 1 << 20; ++guard) {
        pos += parser.parse(data + pos, end - pos);
        const auto status = parser.status();
        if (status == HttpRequestParser::Status::Failed) {
            v.errorStatus = parser.errorStatus();
            break;
        }
        if (status == HttpRequestParser::Status::HeadComplete) {
            const HttpRequestHead &h = parser.head();
            v.heads += h.method.toByteArray() + ' ' + h.target + ' ' + h.host.toByteArray() + '\n';
            for (int i = 0; i < h.headers.size(); ++i)
                v.heads += h.headers.name(i).toByteArray() + ':' + h.headers.value(i).toByteArray() + '\n';
            continue;
        }
        if (status == HttpRequestParser::Status::MessageComplete)
            continue;
        if (pos == end) {
            if (end == size)
                break;
            end = size;
        }
    }
    v.bodyBytes = sink.bytes;
    return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t length)
{
    const char *data = reinterpret_cast<const char *>(bytes);
    const qsizetype size = qsizetype(length);
    const Verdict whole = run(data, size, size);
    const qsizetype split = size > 0 ? qsizetype(bytes[0]) % (size + 1) : 0;
    const Verdict cut = run(data, size, split);
    if (!(whole == cut)) {
        std::fprintf(stderr, "verdict depends on the split at %lld: status %d vs %d\n",
                     static_cast<long long>(split), whole.errorStatus, cut.errorStatus);
        std::abort();
    }
    return 0;
}
