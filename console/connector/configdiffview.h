// The console's reading of GET /v1/config/diff: persisted → live changes as common/jsondiff's JsonChange.
#pragma once

#include "jsondiff.h"

#include <QJsonObject>

#include <optional>

class ConfigDiffView
{
public:
    QString persistedSha256;
    QString liveSha256;
    QList<JsonChange> changes;

    bool equal() const { return changes.isEmpty(); }
    // nullopt with *error naming the entry when the document is not a diff.
    static std::optional<ConfigDiffView> fromJson(const QJsonObject &json, QString *error);
    // One line per change: "~ /routes/1/uri: \"/a\" -> \"/b\"", "+ /routes/2: {...}", "- /upstreams/3:
    // {...}".
    static QString toText(const QList<JsonChange> &changes);
    static QString valueText(const QJsonValue &value); // compact JSON; "" for undefined
};
