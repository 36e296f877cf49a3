// The bytes and digest of a persisted generation, built from each object's canonical JSON kept between saves.
#pragma once

#include "configsnapshot.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QDateTime>
#include <QJsonObject>
#include <QList>

#include <memory>

// With 100k routes the file is ~20 MB: serialising every object again for each change took most of a
// second. This keeps, for every object written last, its canonical id and its canonical text (the one
// the validator made, shared with the object), keyed by id and checked by identity (snapshots share
// unchanged objects), so a new generation touches only the objects that changed; the digest and the
// file are then assembled from the kept bytes.
//
// The file keeps the envelope of DESIGN.md, with one object per line in its canonical form:
//   {
//       "format": "holdfast-config/1",
//       "revision": 1234,
//       "source": {…},
//       "saved_at": "…",
//       "sha256": "<hex of the canonical JSON of config>",
//       "config": {
//           "routes": {
//               "1":{"id":"1","uri":"/a",…},
//               …
//           },
//           …
//       }
//   }
// Any JSON reader reads it, and the digest is the same as ConfigSnapshot::sha256() for the same objects.
class PersistedWriter
{
public:
    struct Figures
    {
        qsizetype serialised = 0; // objects serialised by the last prepare()
        qsizetype reused = 0;     // objects whose kept bytes it used
    };

    PersistedWriter();
    ~PersistedWriter();
    PersistedWriter(const PersistedWriter &) = delete;
    PersistedWriter &operator=(const PersistedWriter &) = delete;

    // Brings the kept bytes up to `snapshot` and lays out its file. What parts() and sha256() return
    // stays valid until the next prepare().
    void prepare(const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source,
                 const QDateTime &savedAt);

    // The file, in pieces that point into the kept bytes.
    const QList<QByteArrayView> &parts() const { return m_parts; }
    QByteArray bytes() const; // the pieces joined
    // Hex SHA-256 of the canonical JSON of the config: what the envelope records.
    const QByteArray &sha256() const { return m_sha256; }
    const Figures &figures() const { return m_figures; }

private:
    struct Kept; // per collection: id → the object last serialised and its member bytes

    std::unique_ptr<Kept> m_kept;
    QList<QByteArray> m_framing; // envelope and top-level members, owned for parts()
    QList<QByteArrayView> m_parts;
    QByteArray m_sha256;
    Figures m_figures;
};
