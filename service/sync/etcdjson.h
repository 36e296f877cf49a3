// How etcd's JSON gateway writes protobuf's bytes and 64-bit integers: one place for the range pages,
// the watch and every other call.
#pragma once

#include <QByteArray>
#include <QJsonValue>
#include <QString>

class EtcdJson
{
public:
    // Keys, values and range ends travel as base64 strings.
    static QString base64(const QByteArray &bytes) { return QString::fromLatin1(bytes.toBase64()); }
    static QByteArray bytes(const QJsonValue &value)
    {
        return QByteArray::fromBase64(value.toString().toLatin1());
    }
    // 64-bit integers (revisions) are written as strings; numbers are accepted too.
    static qint64 int64(const QJsonValue &value)
    {
        return value.isString() ? value.toString().toLongLong() : value.toInteger();
    }
};
