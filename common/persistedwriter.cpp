#include "persistedwriter.h"

#include "canonicaljson.h"
#include "configstore.h"
#include "sha256.h"

#include <QJsonDocument>
#include <QMap>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace {

struct Entry
{
    std::shared_ptr<const void> object; // the object written, compared by identity
    QByteArray key;                     // "id": canonical, with its colon
    QByteArray body;                    // the object's canonical text, shared with the object itself
    QByteArray utf8Id; // the canonical sort key, kept only when it differs from QString order
};

using Collection = QMap<QString, Entry>;

bool sortsApartInUtf8(const QString &id)
{
    // UTF-16 and UTF-8 (code point) order differ only between a surrogate and U+E000..U+FFFF.
    return std::any_of(id.cbegin(), id.cend(), [](QChar c) { return c.isSurrogate(); });
}

QByteArray canonicalString(const QString &text)
{
    return CanonicalJson::serialize(QJsonValue(text));
}

// The validator made each object's canonical text once; an object built otherwise (none in the daemon)
// is serialised here.
template<typename Object>
QByteArray canonicalObject(const Object &object)
{
    return object.canonical.isEmpty() ? CanonicalJson::serialize(writtenJson(object)) : object.canonical;
}

// Brings `kept` up to `objects` (a map id → shared pointer to an object with a `json` member) and returns
// the members in canonical order. The snapshot and `kept` are both in QString order, so one merge walk
// pairs them: an object is serialised again only when the snapshot holds a different one under its id.
template<typename Map>
QList<const Entry *> update(Collection &kept, const Map &objects, PersistedWriter::Figures *figures)
{
    QList<const Entry *> members;
    members.reserve(objects.size());
    bool utf8Order = false;
    auto k = kept.begin();
    // A map that does not iterate in QString order would break the merge walk: sort such a one first.
    // QMap<QString, …> and PersistentMap do by construction, and are not checked (that would cost a
    // string compare each).
    if constexpr (!std::is_same_v<Map, QMap<QString, typename Map::mapped_type>> &&
                  !std::is_same_v<Map, PersistentMap<typename Map::mapped_type>>) {
        QMap<QString, typename Map::mapped_type> sorted;
        for (auto o = objects.cbegin(); o != objects.cend(); ++o)
            sorted.insert(o.key(), o.value());
        return update(kept, sorted, figures);
    }
    for (auto it = objects.cbegin(); it != objects.cend(); ++it) {
        const QString &id = it.key();
        // The common case, unchanged: the same object under the very same id string (kept ids are copies
        // of the snapshot's, sharing their data), recognised without comparing any text.
        if (k != kept.end() && k->object.get() == it.value().get() && k.key().constData() == id.constData()) {
            ++figures->reused;
            utf8Order = utf8Order || !k->utf8Id.isEmpty();
            members.append(&*k);
            ++k;
            continue;
        }
        while (k != kept.end() && k.key() < id)
            k = kept.erase(k);
        const std::shared_ptr<const void> object = it.value();
        if (k != kept.end() && k.key() == id) {
            if (k->object != object) {
                k->object = object;
                k->body = canonicalObject(*it.value());
                ++figures->serialised;
            } else {
                ++figures->reused;
            }
            // An equal id in other memory (a full resync builds new strings): keep the snapshot's, so that
            // the next walk recognises this entry on the fast path again.
            if (k.key().constData() != id.constData()) {
                Entry entry = std::move(*k);
                k = kept.erase(k);
                k = kept.insert(k, id, std::move(entry));
            }
        } else {
            Entry entry;
            entry.object = object;
            entry.key = canonicalString(id) + ':';
            entry.body = canonicalObject(*it.value());
            if (sortsApartInUtf8(id))
                entry.utf8Id = id.toUtf8();
            k = kept.insert(k, id, std::move(entry));
            ++figures->serialised;
        }
        utf8Order = utf8Order || !k->utf8Id.isEmpty();
        members.append(&*k);
        ++k;
    }
    while (k != kept.end())
        k = kept.erase(k);

    if (utf8Order) {
        // Rare (ids outside the Basic Multilingual Plane): sort by the UTF-8 of the ids, as canonical JSON.
        QList<std::pair<QByteArray, const Entry *>> byUtf8;
        byUtf8.reserve(kept.size());
        for (auto e = kept.cbegin(); e != kept.cend(); ++e)
            byUtf8.append({e->utf8Id.isEmpty() ? e.key().toUtf8() : e->utf8Id, &*e});
        std::sort(byUtf8.begin(), byUtf8.end(),
                  [](const auto &a, const auto &b) { return a.first < b.first; });
        for (qsizetype i = 0; i < byUtf8.size(); ++i)
            members[i] = byUtf8.at(i).second;
    }
    return members;
}

// One member of the config object: a collection (members kept) or an extra member (value serialised).
struct TopMember
{
    QByteArray utf8Key;
    QByteArray key; // canonical, quoted
    QList<const Entry *> members;
    QByteArray value; // an extra member's canonical value
    bool collection = false;
};

} // namespace

struct PersistedWriter::Kept
{
    Collection routes;
    Collection upstreams;
    Collection services;
};

PersistedWriter::PersistedWriter()
    : m_kept(std::make_unique<Kept>())
{}

PersistedWriter::~PersistedWriter() = default;

void PersistedWriter::prepare(const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source,
                              const QDateTime &savedAt)
{
    m_figures = {};
    QList<TopMember> top;
    const auto addCollection = [&](ObjectKind kind, QList<const Entry *> members) {
        TopMember m;
        m.utf8Key = collectionName(kind).toUtf8();
        m.key = canonicalString(collectionName(kind));
        m.members = std::move(members);
        m.collection = true;
        top.append(std::move(m));
    };
    addCollection(ObjectKind::Route, update(m_kept->routes, snapshot.routes(), &m_figures));
    addCollection(ObjectKind::Upstream, update(m_kept->upstreams, snapshot.upstreams(), &m_figures));
    addCollection(ObjectKind::Service, update(m_kept->services, snapshot.services(), &m_figures));
    const QJsonObject &extra = snapshot.extra();
    for (auto it = extra.constBegin(); it != extra.constEnd(); ++it) {
        TopMember m;
        m.utf8Key = it.key().toUtf8();
        m.key = canonicalString(it.key());
        m.value = CanonicalJson::serialize(it.value());
        top.append(std::move(m));
    }
    std::sort(top.begin(), top.end(),
              [](const TopMember &a, const TopMember &b) { return a.utf8Key < b.utf8Key; });

    // The digest: the canonical JSON of the config, streamed from the kept members.
    Sha256 sha;
    sha.addData("{");
    for (qsizetype i = 0; i < top.size(); ++i) {
        const TopMember &m = top.at(i);
        if (i > 0)
            sha.addData(",");
        sha.addData(m.key);
        sha.addData(":");
        if (!m.collection) {
            sha.addData(m.value);
            continue;
        }
        sha.addData("{");
        for (qsizetype j = 0; j < m.members.size(); ++j) {
            if (j > 0)
                sha.addData(",");
            sha.addData(m.members.at(j)->key);
            sha.addData(m.members.at(j)->body);
        }
        sha.addData("}");
    }
    sha.addData("}");
    m_sha256 = sha.result().toHex();

    // The file: the envelope in the documented member order with "config" last, one object per line.
    m_framing.clear();
    m_parts.clear();
    qsizetype objects = 0;
    for (const TopMember &m : std::as_const(top))
        objects += m.members.size();
    m_parts.reserve(3 * objects + 4 * top.size() + 4);
    const auto own = [this](QByteArray bytes) {
        m_framing.append(std::move(bytes));
        m_parts.append(m_framing.last());
    };
    QByteArray head;
    head += QByteArrayLiteral("{\n    \"format\": \"");
    head += ConfigStore::Format;
    head += QByteArrayLiteral("\",\n    \"revision\": ");
    head += QByteArray::number(revision);
    head += QByteArrayLiteral(",\n    \"source\": ");
    head += QJsonDocument(source).toJson(QJsonDocument::Compact);
    head += QByteArrayLiteral(",\n    \"saved_at\": \"");
    head += savedAt.toUTC().toString(Qt::ISODateWithMs).toLatin1();
    head += QByteArrayLiteral("\",\n    \"sha256\": \"");
    head += m_sha256;
    head += QByteArrayLiteral("\",\n    \"config\": {");
    own(std::move(head));
    static const QByteArray firstObject = QByteArrayLiteral("\n            ");
    static const QByteArray nextObject = QByteArrayLiteral(",\n            ");
    for (qsizetype i = 0; i < top.size(); ++i) {
        const TopMember &m = top.at(i);
        QByteArray open = i > 0 ? QByteArrayLiteral(",\n        ") : QByteArrayLiteral("\n        ");
        open += m.key;
        open += QByteArrayLiteral(": ");
        if (!m.collection) {
            open += m.value;
            own(std::move(open));
            continue;
        }
        open += '{';
        own(std::move(open));
        for (qsizetype j = 0; j < m.members.size(); ++j) {
            m_parts.append(j > 0 ? nextObject : firstObject);
            m_parts.append(m.members.at(j)->key);
            m_parts.append(m.members.at(j)->body);
        }
        m_parts.append(m.members.isEmpty() ? QByteArrayView("}") : QByteArrayView("\n        }"));
    }
    m_parts.append(QByteArrayView("\n    }\n}\n"));
}

QByteArray PersistedWriter::bytes() const
{
    qsizetype size = 0;
    for (const QByteArrayView part : m_parts)
        size += part.size();
    QByteArray out;
    out.reserve(size);
    for (const QByteArrayView part : m_parts)
        out.append(part);
    return out;
}
