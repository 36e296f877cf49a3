// The server-sent events of /v1/events as types: status, state, applied, rejected, persisted.
#pragma once

#include "gatewaystatus.h"

#include <QByteArray>
#include <QDateTime>
#include <QJsonObject>
#include <QString>

#include <optional>
#include <variant>

// One event: its name (the SSE `event:` line) and its payload (the `data:` line). The gateway builds
// these; the console reads them with fromJson(), which names the first unexpected member.
class GatewayEvent
{
public:
    // `state`: the gateway entered a state.
    struct StateChange
    {
        GatewayStatus::State state = GatewayStatus::State::Starting;
        QString cause;
        QDateTime since;
        bool operator==(const StateChange &o) const;
    };

    // `applied`: a new configuration is being served.
    struct Applied
    {
        qint64 revision = 0;
        QString sha256;
        GatewayStatus::Counts counts;
        bool operator==(const Applied &o) const;
    };

    // `rejected`: one object (or, standalone, the file) could not be served; its last good version stays.
    using Rejected = GatewayStatus::Rejection;

    // `persisted`: a generation was written, or a write failed and will be retried.
    struct Persisted
    {
        bool ok = false;
        qint64 revision = 0;
        QString sha256;
        qint64 latencyMs = 0; // from being applied to being on disk (or failing)
        QDateTime savedAt;    // ok only
        QString editedKeptAs; // ok only, when a hand-edited file was kept aside; "" otherwise
        QString error;        // failed only
        int retryInMs = -1;   // failed only
        bool operator==(const Persisted &o) const;
    };

    // `status`: the whole status, sent first to each new stream.
    using Status = GatewayStatus;

    using Payload = std::variant<StateChange, Applied, Rejected, Persisted, Status>;

    GatewayEvent(Payload payload)
        : m_payload(std::move(payload))
    {}

    // "state", "applied", "rejected", "persisted", "status"
    QByteArray name() const;
    QJsonObject toJson() const;
    // nullopt with *error when `name` is no event or `data` is not its payload.
    static std::optional<GatewayEvent> fromJson(const QByteArray &name, const QJsonObject &data,
                                                QString *error);

    const Payload &payload() const { return m_payload; }
    template<typename T>
    const T *get() const
    {
        return std::get_if<T>(&m_payload);
    }
    bool operator==(const GatewayEvent &o) const { return m_payload == o.m_payload; }

private:
    Payload m_payload;
};

Q_DECLARE_METATYPE(GatewayEvent::Persisted)
Q_DECLARE_METATYPE(GatewayStatus::Rejection)
