#include "etcdrangecodec.h"

#include "etcdjson.h"
#include "protowire.h"

#include <QJsonArray>

namespace {

using WireType = ProtoWire::WireType;

bool decodeHeader(QByteArrayView bytes, EtcdRangePage *page, QString *error)
{
    ProtoWire::Reader reader(bytes, QStringLiteral("RangeResponse.header"));
    while (reader.next()) {
        if (reader.field() == 1 && reader.expect(WireType::Varint))
            page->clusterId = QString::number(reader.varint());
        else if (reader.field() == 3 && reader.expect(WireType::Varint))
            page->revision = qint64(reader.varint());
    }
    *error = reader.error();
    return !reader.hasError();
}

bool decodeKeyValue(QByteArrayView bytes, qsizetype index, EtcdKeyValue *kv, QString *error)
{
    // The element's name is formatted only for an error: a full sync decodes 100k of them.
    ProtoWire::Reader reader(bytes, QStringLiteral("RangeResponse.kvs"), index);
    while (reader.next()) {
        switch (reader.field()) {
        case 1:
            if (reader.expect(WireType::LengthDelimited))
                kv->key = reader.bytes().toByteArray();
            break;
        case 3:
            if (reader.expect(WireType::Varint))
                kv->modRevision = qint64(reader.varint());
            break;
        case 5:
            if (reader.expect(WireType::LengthDelimited))
                kv->value = reader.bytes().toByteArray();
            break;
        default:
            break;
        }
    }
    *error = reader.error();
    return !reader.hasError();
}

} // namespace

QByteArray EtcdRangeCodec::encodeRequest(const EtcdRangeRequest &request)
{
    // proto3 leaves fields at their default value out.
    QByteArray out;
    if (!request.key.isEmpty())
        ProtoWire::appendBytesField(&out, 1, request.key);
    if (!request.rangeEnd.isEmpty())
        ProtoWire::appendBytesField(&out, 2, request.rangeEnd);
    if (request.limit != 0)
        ProtoWire::appendVarintField(&out, 3, quint64(request.limit));
    if (request.revision != 0)
        ProtoWire::appendVarintField(&out, 4, quint64(request.revision));
    return out;
}

bool EtcdRangeCodec::decodeResponse(QByteArrayView message, EtcdRangePage *page, QString *error)
{
    *page = {};
    error->clear();
    // A page holds thousands of kvs: count them first (a walk over the top-level fields only) so the
    // list is allocated once instead of grown and moved a dozen times.
    {
        ProtoWire::Reader counter(message, QStringLiteral("RangeResponse"));
        qsizetype kvs = 0;
        while (counter.next())
            kvs += counter.field() == 2 ? 1 : 0;
        page->kvs.reserve(kvs);
    }
    ProtoWire::Reader reader(message, QStringLiteral("RangeResponse"));
    while (reader.next()) {
        switch (reader.field()) {
        case 1:
            if (reader.expect(WireType::LengthDelimited) && !decodeHeader(reader.bytes(), page, error))
                return false;
            break;
        case 2:
            if (reader.expect(WireType::LengthDelimited)) {
                EtcdKeyValue kv;
                if (!decodeKeyValue(reader.bytes(), page->kvs.size(), &kv, error))
                    return false;
                page->kvs.append(std::move(kv));
            }
            break;
        case 3:
            if (reader.expect(WireType::Varint))
                page->more = reader.varint() != 0;
            break;
        default:
            break;
        }
    }
    if (reader.hasError()) {
        *error = reader.error();
        return false;
    }
    return true;
}

QJsonObject EtcdRangeCodec::requestToJson(const EtcdRangeRequest &request)
{
    QJsonObject body{{QStringLiteral("key"), EtcdJson::base64(request.key)},
                     {QStringLiteral("range_end"), EtcdJson::base64(request.rangeEnd)}};
    if (request.limit != 0)
        body.insert(QStringLiteral("limit"), QString::number(request.limit));
    if (request.revision != 0)
        body.insert(QStringLiteral("revision"), QString::number(request.revision));
    return body;
}

EtcdRangePage EtcdRangeCodec::pageFromJson(const QJsonObject &body)
{
    EtcdRangePage page;
    const QJsonObject header = body.value(QLatin1String("header")).toObject();
    page.revision = EtcdJson::int64(header.value(QLatin1String("revision")));
    page.clusterId = header.value(QLatin1String("cluster_id")).toString();
    const QJsonArray kvs = body.value(QLatin1String("kvs")).toArray();
    page.kvs.reserve(kvs.size());
    for (const QJsonValue &value : kvs) {
        const QJsonObject kv = value.toObject();
        page.kvs.append({EtcdJson::bytes(kv.value(QLatin1String("key"))),
                         EtcdJson::bytes(kv.value(QLatin1String("value"))),
                         EtcdJson::int64(kv.value(QLatin1String("mod_revision")))});
    }
    page.more = body.value(QLatin1String("more")).toBool();
    return page;
}
