// The persisted configuration: atomic, checksummed generations in data_dir, and the chain that loads them.
#pragma once

#include "configsnapshot.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>

class PersistedWriter;

// One persisted file, parsed: the envelope of docs/architecture.md around a validated snapshot.
struct PersistedConfig
{
    QString file; // file name inside data_dir, e.g. "config.prev.json"
    qint64 revision = 0;
    QJsonObject source;
    QDateTime savedAt;
    QByteArray recordedSha256; // as written in the envelope
    bool edited = false;       // the digest does not match: a hand edit that still validates
    SnapshotPtr snapshot;
};

class ConfigStore
{
public:
    static constexpr const char *Format = "holdfast-config/1";
    static constexpr const char *CurrentFile = "config.json";
    static constexpr const char *PreviousFile = "config.prev.json";
    // A hard link to the old config.json made before it is replaced; renamed to PreviousFile afterwards.
    // A leftover one (a save that died) is never loaded and is removed by the next save.
    static constexpr const char *PreviousTempFile = "config.prev.json.tmp";
    // Prefix of the copies keepEdited() makes: config.edited-20261124T120000.000Z.json
    static constexpr const char *EditedFilePrefix = "config.edited-";

    // Steps of save(), in order; a test hook may stop the process at each to prove crash safety.
    enum class SaveStep
    {
        Begin,
        PreviousLinked,
        TempWritten,
        Committed,
        PreviousRotated,
        DirectorySynced
    };

    struct LoadResult
    {
        std::optional<PersistedConfig> config; // empty when no generation loads
        // One line per file tried, in order: "config.json: not JSON: unterminated string at offset 12",
        // "config.prev.json: loaded (revision 12, edited)".
        QStringList attempts;
    };

    explicit ConfigStore(QString dataDir);
    ~ConfigStore();
    ConfigStore(ConfigStore &&) = delete;

    const QString &dataDir() const { return m_dataDir; }

    // Walks config.json → config.prev.json and returns the first that loads. Only envelopes load here; a
    // bare config object is a wrong format for a persisted file. A file in PersistedWriter's layout is
    // read one object line at a time (nothing of it is held parsed whole); any other is parsed whole.
    LoadResult load();

    // Writes a new generation; the current one becomes config.prev.json when it is valid (a corrupt one is
    // never rotated: the previous generation stays). Creates data_dir (0700) when missing. On failure
    // returns false with *error set ("<path>: <what failed>: <cause>") and every existing file exactly as
    // it was.
    // Each object's canonical JSON is kept from one save to the next (see PersistedWriter): a save
    // serialises only the objects that changed since the last one.
    bool save(const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source, QString *error);
    // The digest the last successful save recorded (hex, equal to the snapshot's sha256()); computed
    // from the kept bytes, so a caller need not wait for the snapshot to digest itself.
    const QByteArray &savedSha256() const { return m_savedSha256; }

    // Parses the bytes of a persisted file, or of a bare config object (then revision 0, not edited). An
    // object with a "format" or a "config" member is taken as an envelope. On failure *errors says why,
    // one entry per problem: "not JSON: …", "wrong format: …", or each validation error.
    // Copies <data_dir>/<file> (a hand-edited generation) to config.edited-<UTC time>.json (mode 0600,
    // written atomically), so that saves, which rotate generations away, never lose an operator's edit.
    // Returns false with *error ("<path>: <what failed>: <cause>") when the copy could not be made.
    bool keepEdited(const QString &file, QString *keptAs, QString *error);

    static std::optional<PersistedConfig> parse(const QByteArray &bytes, QStringList *errors,
                                                bool *wasEnvelope = nullptr);

    // The bytes save() writes for this generation (the layout is described in persistedwriter.h).
    static QByteArray serialize(const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source,
                                const QDateTime &savedAt);

    // SHA-256 (raw) of config.json's bytes as the last load() or save() found them valid; empty when
    // unknown. Another store over the same directory (the persister's) given it with
    // setKnownGoodFileDigest() need not parse that file again to keep it as the previous generation.
    const QByteArray &knownGoodFileDigest() const { return m_knownGoodFileDigest; }
    void setKnownGoodFileDigest(const QByteArray &digest) { m_knownGoodFileDigest = digest; }

    void setStepHook(std::function<void(SaveStep)> hook) { m_stepHook = std::move(hook); }

private:
    QString path(const char *file) const;
    void step(SaveStep s) const;

    QString m_dataDir;
    // SHA-256 of the raw bytes of config.json when the last load or save found it valid; a later save then
    // need not validate it again before keeping it as the previous generation. Empty: unknown.
    QByteArray m_knownGoodFileDigest;
    QByteArray m_savedSha256;
    std::unique_ptr<PersistedWriter> m_writer;
    std::function<void(SaveStep)> m_stepHook;
};
