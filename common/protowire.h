// The protobuf wire format, read and written by hand: enough for etcd's few gRPC messages without a protobuf
// library.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

// Writing appends one field at a time. Reading walks the fields of one message in order: next() stops
// at the end or at the first malformed byte (a truncated varint, a length past the end, a wire type
// this reader does not know), and error() then says what and at which byte offset. A reader never
// reads outside the bytes it was given, whatever they hold.
class ProtoWire
{
public:
    enum class WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5
    };

    static void appendVarint(QByteArray *out, quint64 value);
    static void appendVarintField(QByteArray *out, int field, quint64 value);
    static void appendBytesField(QByteArray *out, int field, QByteArrayView bytes);

    class Reader
    {
    public:
        // `what` names the message in errors ("RangeResponse"); an `index` of 0 or more names one element
        // of a repeated field ("RangeResponse.kvs" and 3 say "RangeResponse.kvs[3]"), formatted only when
        // there is an error to report.
        Reader(QByteArrayView data, QString what, qsizetype index = -1);
        // The reader keeps a view: a temporary's bytes would be gone before the first next().
        Reader(QByteArray &&data, QString what, qsizetype index = -1) = delete;

        // Moves to the next field; false at the end of the message or on an error.
        bool next();
        bool hasError() const { return !m_error.isEmpty(); }
        QString error() const { return m_error; }

        int field() const { return m_field; }
        WireType wireType() const { return m_type; }
        // The value of the current field: varint() for Varint (fixed ones as their raw bits too),
        // bytes() for LengthDelimited (a view into the reader's data).
        quint64 varint() const { return m_varint; }
        QByteArrayView bytes() const { return m_bytes; }

        // Records an error about the current field ("field 2: expected a length-delimited value").
        void fail(const QString &why);
        // Checks the current field's wire type; records an error naming the field when it differs.
        bool expect(WireType type);

    private:
        bool readVarint(quint64 *value);
        bool failAt(qsizetype offset, const QString &why);

        QByteArrayView m_data;
        QString m_what;
        qsizetype m_index;
        qsizetype m_pos = 0;
        qsizetype m_fieldStart = 0;
        int m_field = 0;
        WireType m_type = WireType::Varint;
        quint64 m_varint = 0;
        QByteArrayView m_bytes;
        QString m_error;
    };
};
