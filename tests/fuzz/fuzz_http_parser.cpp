// Fuzzes HttpRequestParser alone: no socket, no event loop, so libFuzzer runs thousands of inputs a second.
//
// Each input is parsed twice, whole and split at a point its first byte chooses, and both runs must
// agree (same requests, same error status): a parser whose verdict depends on how TCP cut the bytes is
// a smuggling bug. Built with -fsanitize=fuzzer (HOLDFAST_FUZZ=ON, clang) it is a libFuzzer target;
// otherwise a plain program that replays the files and directories given on the command line.
#include "httprequestparser.h"

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>

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

#ifndef HOLDFAST_LIBFUZZER
int main(int argc, char **argv)
{
    int inputs = 0;
    for (int i = 1; i < argc; ++i) {
        QStringList files;
        const QFileInfo info(QString::fromLocal8Bit(argv[i]));
        if (info.isDir()) {
            for (const QFileInfo &entry : QDir(info.filePath()).entryInfoList(QDir::Files, QDir::Name))
                files << entry.filePath();
        } else {
            files << info.filePath();
        }
        for (const QString &path : std::as_const(files)) {
            QFile file(path);
            if (!file.open(QIODevice::ReadOnly)) {
                std::fprintf(stderr, "cannot read %s\n", qPrintable(path));
                return 1;
            }
            const QByteArray data = file.readAll();
            LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(data.constData()), size_t(data.size()));
            ++inputs;
        }
    }
    std::printf("%d inputs run\n", inputs);
    return inputs > 0 ? 0 : 1;
}
#endif
