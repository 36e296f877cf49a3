#include "configdiffview.h"

#include "jsonreader.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

std::optional<ConfigDiffView> ConfigDiffView::fromJson(const QJsonObject &json, QString *error)
{
    error->clear();
    JsonReader top(json, QString(), error);
    ConfigDiffView out;
    out.persistedSha256 = top.value("persisted_sha256").toString();
    out.liveSha256 = top.value("live_sha256").toString();
    top.forEachElement("changes", [&out](JsonReader &entry) {
        JsonChange change;
        change.pointer = entry.string("pointer");
        const QString kind = entry.string("kind");
        const auto kinds = {JsonChange::Kind::Added, JsonChange::Kind::Removed, JsonChange::Kind::Changed};
        const auto named = std::find_if(kinds.begin(), kinds.end(), [&kind](JsonChange::Kind k) {
            return kind == QLatin1String(JsonChange::kindName(k));
        });
        if (named == kinds.end())
            entry.fail(QStringLiteral("kind"),
                       QStringLiteral("\"%1\" is not added, removed or changed").arg(kind));
        else
            change.kind = *named;
        change.oldValue = entry.value("old");
        change.newValue = entry.value("new");
        out.changes.append(change);
    });
    if (!top.ok())
        return std::nullopt;
    return out;
}

QString ConfigDiffView::valueText(const QJsonValue &value)
{
    if (value.isUndefined())
        return {};
    // QJsonDocument takes only arrays and objects: wrap a scalar and strip the brackets.
    const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(wrapped.mid(1, wrapped.size() - 2));
}

QString ConfigDiffView::toText(const QList<JsonChange> &changes)
{
    QString out;
    for (const JsonChange &c : changes) {
        switch (c.kind) {
        case JsonChange::Kind::Added:
            out += QStringLiteral("+ %1: %2\n").arg(c.pointer, valueText(c.newValue));
            break;
        case JsonChange::Kind::Removed:
            out += QStringLiteral("- %1: %2\n").arg(c.pointer, valueText(c.oldValue));
            break;
        case JsonChange::Kind::Changed:
            out += QStringLiteral("~ %1: %2 -> %3\n")
                       .arg(c.pointer, valueText(c.oldValue), valueText(c.newValue));
            break;
        }
    }
    return out;
}
