// One page of an etcd v3 range read, encoded for gRPC (protobuf) or the JSON gateway and decoded from either.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QList>
#include <QString>

struct EtcdRangeRequest
{
    QByteArray key;
    QByteArray rangeEnd;
    qint64 limit = 0;    // 0: no limit
    qint64 revision = 0; // 0: the current revision
};

struct EtcdKeyValue
{
    QByteArray key;
    QByteArray value;
    qint64 modRevision = 0;
};

struct EtcdRangePage
{
    qint64 revision = 0; // of the store when the page was read (the header's)
    QString clusterId;   // decimal, as the JSON gateway writes it
    QList<EtcdKeyValue> kvs;
    bool more = false;
};

// The field numbers are those of etcd's api/etcdserverpb/rpc.proto (RangeRequest, RangeResponse,
// ResponseHeader) and api/mvccpb/kv.proto (KeyValue), which are stable across etcd 3.x. Decoding skips
// fields it does not need (create_revision, version, lease, count, ...) and fields added later.
class EtcdRangeCodec
{
public:
    // The RangeRequest message (protobuf, without gRPC's 5-byte frame).
    static QByteArray encodeRequest(const EtcdRangeRequest &request);
    // A RangeResponse message; false, with `error` saying what and where, when it is malformed.
    static bool decodeResponse(QByteArrayView message, EtcdRangePage *page, QString *error);

    // The same request and answer through the JSON gateway (/v3/kv/range): bytes as base64, 64-bit
    // integers as strings.
    static QJsonObject requestToJson(const EtcdRangeRequest &request);
    static EtcdRangePage pageFromJson(const QJsonObject &body);
};
