#include "configstore.h"

#include "canonicaljson.h"
#include "configvalidator.h"
#include "durablefile.h"
#include "persistedwriter.h"
#include "sha256.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QLoggingCategory>
#include <QSet>

#include <limits>

Q_LOGGING_CATEGORY(lcStore, "holdfast.store")

namespace {

enum class Failure
{
    None,
    NotJson,
    WrongFormat,
    Invalid
};

QString fileName(const char *name)
{
    return QString::fromLatin1(name);
}

QByteArray fileDigest(const QByteArray &bytes)
{
    return Sha256::hash(bytes);
}

// The digest of a file read in pieces: a 20 MB generation need not be held in memory to be recognised.
QByteArray fileDigest(QFile &file)
{
    Sha256 sha;
    QByteArray buffer(1 << 20, Qt::Uninitialized);
    for (;;) {
        const qint64 n = file.read(buffer.data(), buffer.size());
        if (n < 0)
            return {};
        if (n == 0)
            break;
        sha.addData(QByteArrayView(buffer.constData(), n));
    }
    return sha.result();
}

// A file as PersistedWriter lays it out, read one object line at a time: the whole file parsed as one
// document held ~50 MB of parsed JSON at 100k routes beside the validated objects, at every start. The
// envelope's head is parsed alone (with an empty "config") and each object line is parsed and validated
// on its own. Anything this does not recognise exactly (a hand edit that moved lines, extra members, an
// invalid object, a duplicate id, a missing comma) answers nullopt, and the whole document is parsed as
// before, so every error and every edge case reads as it always did.
struct LineRead
{
    QJsonObject head; // the envelope, with "config": {}
    SnapshotPtr snapshot;
};

std::optional<LineRead> readLines(const QByteArray &bytes)
{
    static const QByteArray configOpen = QByteArrayLiteral("\n    \"config\": {");
    const qsizetype configAt = bytes.indexOf(configOpen);
    if (!bytes.startsWith("{\n") || configAt < 0 || bytes.size() <= configAt + configOpen.size() ||
        bytes.at(configAt + configOpen.size()) != '\n')
        return std::nullopt;
    QJsonParseError error{};
    const QJsonDocument head =
        QJsonDocument::fromJson(bytes.left(configAt) + QByteArrayLiteral("\"config\": {}}"), &error);
    if (error.error != QJsonParseError::NoError || !head.isObject())
        return std::nullopt;

    ConfigSnapshot::Routes routes;
    ConfigSnapshot::Upstreams upstreams;
    ConfigSnapshot::Services services;
    QSet<ObjectKind> seen;
    bool open = false; // a collection's objects are being read
    ObjectKind openKind = ObjectKind::Route;
    qsizetype objects = 0; // in the open collection so far
    bool last = false;     // the member (or object) before had no comma: the next line closes
    int closing = 0;       // 1 after "config"'s closing brace, 2 after the envelope's
    qsizetype at = configAt + configOpen.size();
    ValidationErrors errors;
    while (at < bytes.size()) {
        qsizetype end = bytes.indexOf('\n', at + 1);
        if (end < 0)
            end = bytes.size();
        const QByteArrayView line =
            QByteArrayView(bytes).sliced(at + 1, std::max<qsizetype>(0, end - at - 1));
        at = end;
        if (closing == 2) {
            if (!line.trimmed().isEmpty())
                return std::nullopt;
            continue;
        }
        if (closing == 1) {
            if (line != "}")
                return std::nullopt;
            closing = 2;
            continue;
        }
        if (open) {
            if (line == "        }" || line == "        },") {
                if (objects > 0 && !last)
                    return std::nullopt; // a trailing comma
                last = !line.endsWith(',');
                open = false;
                continue;
            }
            if ((objects > 0 && last) || !line.startsWith("            \""))
                return std::nullopt;
            const bool comma = line.endsWith(',');
            const QByteArrayView member = line.sliced(12, line.size() - 12 - (comma ? 1 : 0));
            const QJsonDocument one = QJsonDocument::fromJson("{" + member.toByteArray() + "}", &error);
            if (error.error != QJsonParseError::NoError || one.object().size() != 1)
                return std::nullopt;
            const QString id = one.object().constBegin().key();
            const QJsonValue value = one.object().constBegin().value();
            if (id.isEmpty())
                return std::nullopt;
            const qsizetype before = errors.size();
            bool fresh = false;
            switch (openKind) {
            case ObjectKind::Route:
                fresh = !routes.contains(id);
                routes.insert(id, ConfigValidator::parseRoute(id, value, &errors));
                break;
            case ObjectKind::Upstream:
                fresh = !upstreams.contains(id);
                upstreams.insert(id, ConfigValidator::parseUpstream(id, value, &errors));
                break;
            case ObjectKind::Service:
                fresh = !services.contains(id);
                services.insert(id, ConfigValidator::parseService(id, value, &errors));
                break;
            }
            if (!fresh || errors.size() > before)
                return std::nullopt;
            ++objects;
            last = !comma;
            continue;
        }
        if (line == "    }") {
            if (!seen.isEmpty() && !last)
                return std::nullopt;
            closing = 1;
            continue;
        }
        if (last || !line.startsWith("        \""))
            return std::nullopt;
        // "        \"routes\": {" opens a collection, "        \"routes\": {}" (with a comma unless last) is
        // an empty one; any other member is left to the whole-document parse.
        const qsizetype nameEnd = line.indexOf("\": {", 9);
        if (nameEnd < 0)
            return std::nullopt;
        const std::optional<ObjectKind> kind =
            kindOfCollection(QString::fromUtf8(line.sliced(9, nameEnd - 9)));
        const QByteArrayView rest = line.sliced(nameEnd + 3);
        if (!kind || seen.contains(*kind))
            return std::nullopt;
        seen.insert(*kind);
        if (rest == "{") {
            open = true;
            openKind = *kind;
            objects = 0;
            last = false;
        } else if (rest == "{}" || rest == "{},") {
            last = rest == "{}";
        } else {
            return std::nullopt;
        }
    }
    if (closing != 2)
        return std::nullopt;
    return LineRead{head.object(), ConfigSnapshot::fromObjects(routes, upstreams, services)};
}

// The one place that knows every way a file can fail; load() turns the kind into its attempt line.
std::optional<PersistedConfig> parseBytes(const QByteArray &bytes, QStringList *errors, bool *wasEnvelope,
                                          Failure *failure)
{
    const auto fail = [&](Failure kind, const QString &message) -> std::optional<PersistedConfig> {
        *failure = kind;
        errors->append(message);
        return std::nullopt;
    };
    *wasEnvelope = false;
    *failure = Failure::None;

    if (bytes.trimmed().isEmpty())
        return fail(Failure::NotJson, QStringLiteral("not JSON: empty file"));
    std::optional<LineRead> lines = readLines(bytes);
    QJsonParseError parseError{};
    const QJsonDocument doc =
        lines ? QJsonDocument(lines->head) : QJsonDocument::fromJson(bytes, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(
            Failure::NotJson,
            QStringLiteral("not JSON: %1 at offset %2").arg(parseError.errorString()).arg(parseError.offset));
    if (!doc.isObject())
        return fail(Failure::WrongFormat, QStringLiteral("wrong format: expected a JSON object, got %1")
                                              .arg(QLatin1String(doc.isArray() ? "array" : "a scalar")));

    const QJsonObject root = doc.object();
    PersistedConfig result;
    QJsonObject config;
    QStringList envelopeErrors;
    if (root.contains(QLatin1String("format")) || root.contains(QLatin1String("config"))) {
        *wasEnvelope = true;
        const QJsonValue format = root.value(QLatin1String("format"));
        if (format.isUndefined())
            return fail(Failure::WrongFormat,
                        QStringLiteral("wrong format: no \"format\" member, expected \"%1\"")
                            .arg(QLatin1String(ConfigStore::Format)));
        if (format.toString() != QLatin1String(ConfigStore::Format)) {
            const QString found = format.isString() ? QStringLiteral("\"%1\"").arg(format.toString())
                                                    : QLatin1String(CanonicalJson::typeName(format));
            return fail(Failure::WrongFormat, QStringLiteral("wrong format: %1, expected \"%2\"")
                                                  .arg(found, QLatin1String(ConfigStore::Format)));
        }

        const auto typeError = [&](const char *member, const char *expected, const QJsonValue &value) {
            envelopeErrors.append(QStringLiteral("/%1: expected %2, got %3")
                                      .arg(QLatin1String(member), QLatin1String(expected),
                                           QLatin1String(CanonicalJson::typeName(value))));
        };
        const QJsonValue revision = root.value(QLatin1String("revision"));
        const qint64 noInteger = std::numeric_limits<qint64>::min();
        const qint64 rev = revision.toInteger(noInteger);
        if (revision.isUndefined())
            envelopeErrors.append(QStringLiteral("/revision: missing"));
        else if (rev == noInteger)
            typeError("revision", "integer", revision);
        else if (rev < 0)
            envelopeErrors.append(
                QStringLiteral("/revision: expected a non-negative integer, got %1").arg(rev));
        else
            result.revision = rev;

        const QJsonValue source = root.value(QLatin1String("source"));
        if (source.isObject())
            result.source = source.toObject();
        else if (!source.isUndefined() && !source.isNull())
            typeError("source", "object", source);

        const QJsonValue savedAt = root.value(QLatin1String("saved_at"));
        if (savedAt.isString()) {
            result.savedAt = QDateTime::fromString(savedAt.toString(), Qt::ISODateWithMs);
            if (!result.savedAt.isValid())
                envelopeErrors.append(QStringLiteral("/saved_at: expected an ISO 8601 date-time, got \"%1\"")
                                          .arg(savedAt.toString()));
        } else if (!savedAt.isUndefined()) {
            typeError("saved_at", "string", savedAt);
        }

        const QJsonValue sha = root.value(QLatin1String("sha256"));
        if (sha.isString())
            result.recordedSha256 = sha.toString().toLatin1().toLower();
        else if (!sha.isUndefined())
            typeError("sha256", "string", sha);

        const QJsonValue configValue = root.value(QLatin1String("config"));
        if (configValue.isObject())
            config = configValue.toObject();
        else if (configValue.isUndefined())
            envelopeErrors.append(QStringLiteral("/config: missing"));
        else
            typeError("config", "object", configValue);
    } else {
        config = root;
    }

    ValidationErrors validation;
    SnapshotPtr snapshot = lines ? std::move(lines->snapshot) : ConfigSnapshot::fromJson(config, &validation);
    for (const ValidationError &e : std::as_const(validation))
        envelopeErrors.append(e.toString());
    if (!snapshot && envelopeErrors.isEmpty())
        envelopeErrors.append(QStringLiteral("/config: not a valid configuration"));
    if (!envelopeErrors.isEmpty()) {
        *failure = Failure::Invalid;
        errors->append(envelopeErrors);
        return std::nullopt;
    }

    // A digest that does not match, or none at all, is an operator's edit: the content still validated,
    // so it is served and reported rather than thrown away.
    result.edited = *wasEnvelope && result.recordedSha256 != snapshot->sha256();
    result.snapshot = std::move(snapshot);
    return result;
}

} // namespace

ConfigStore::ConfigStore(QString dataDir)
    : m_dataDir(std::move(dataDir))
    , m_writer(std::make_unique<PersistedWriter>())
{}

ConfigStore::~ConfigStore() = default;

QString ConfigStore::path(const char *file) const
{
    return QDir(m_dataDir).filePath(fileName(file));
}

void ConfigStore::step(SaveStep s) const
{
    if (m_stepHook)
        m_stepHook(s);
}

std::optional<PersistedConfig> ConfigStore::parse(const QByteArray &bytes, QStringList *errors,
                                                  bool *wasEnvelope)
{
    QStringList ignoredErrors;
    bool envelope = false;
    Failure failure = Failure::None;
    auto result = parseBytes(bytes, errors ? errors : &ignoredErrors, &envelope, &failure);
    if (wasEnvelope)
        *wasEnvelope = envelope;
    return result;
}

ConfigStore::LoadResult ConfigStore::load()
{
    LoadResult result;
    m_knownGoodFileDigest.clear();
    for (const char *name : {CurrentFile, PreviousFile}) {
        const QString shortName = fileName(name);
        QFile file(path(name));
        if (!file.exists()) {
            result.attempts.append(QStringLiteral("%1: missing").arg(shortName));
            continue;
        }
        if (!file.open(QIODevice::ReadOnly)) {
            result.attempts.append(QStringLiteral("%1: unreadable: %2").arg(shortName, file.errorString()));
            continue;
        }
        const QByteArray bytes = file.readAll();
        if (file.error() != QFileDevice::NoError) {
            result.attempts.append(QStringLiteral("%1: unreadable: %2").arg(shortName, file.errorString()));
            continue;
        }

        QStringList errors;
        bool envelope = false;
        Failure failure = Failure::None;
        std::optional<PersistedConfig> parsed = parseBytes(bytes, &errors, &envelope, &failure);
        if (!parsed) {
            // NotJson and WrongFormat messages carry their own category; validation errors do not.
            const QString prefix = failure == Failure::Invalid ? QStringLiteral("invalid: ") : QString();
            result.attempts.append(
                QStringLiteral("%1: %2%3").arg(shortName, prefix, errors.join(QLatin1String("; "))));
            continue;
        }
        if (!envelope) {
            result.attempts.append(
                QStringLiteral("%1: wrong format: a bare config object, expected a \"%2\" envelope")
                    .arg(shortName, QLatin1String(Format)));
            continue;
        }

        parsed->file = shortName;
        result.attempts.append(QStringLiteral("%1: loaded (revision %2%3)")
                                   .arg(shortName)
                                   .arg(parsed->revision)
                                   .arg(parsed->edited ? QStringLiteral(", edited") : QString()));
        if (name == CurrentFile)
            m_knownGoodFileDigest = fileDigest(bytes);
        result.config = std::move(parsed);
        break;
    }

    if (!result.config)
        qCWarning(lcStore).noquote() << "no persisted configuration in" << m_dataDir << ":"
                                     << result.attempts.join(QLatin1String("; "));
    else if (result.config->file != fileName(CurrentFile) || result.config->edited)
        qCWarning(lcStore).noquote() << "persisted configuration from" << m_dataDir << ":"
                                     << result.attempts.join(QLatin1String("; "));
    else
        qCInfo(lcStore).noquote() << "persisted configuration from" << m_dataDir << ":"
                                  << result.attempts.last();
    return result;
}

QByteArray ConfigStore::serialize(const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source,
                                  const QDateTime &savedAt)
{
    PersistedWriter writer;
    writer.prepare(snapshot, revision, source, savedAt);
    return writer.bytes();
}

bool ConfigStore::keepEdited(const QString &file, QString *keptAs, QString *error)
{
    QString ignoredError;
    QString &err = error ? *error : ignoredError;
    const QString from = QDir(m_dataDir).filePath(file);
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly)) {
        err = QStringLiteral("%1: cannot read: %2").arg(from, in.errorString());
        return false;
    }
    const QByteArray bytes = in.readAll();
    if (in.error() != QFileDevice::NoError) {
        err = QStringLiteral("%1: cannot read: %2").arg(from, in.errorString());
        return false;
    }
    // No colons in the name: it must be a valid file name on Windows too.
    const QString name =
        QLatin1String(EditedFilePrefix) +
        QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd'T'HHmmss.zzz'Z'")) +
        QStringLiteral(".json");
    const QString to = QDir(m_dataDir).filePath(name);
    if (!DurableFile::write(to, bytes, &err))
        return false;
    QString message;
    if (!DurableFile::syncDirectory(m_dataDir, &message))
        qCWarning(lcStore).noquote() << message;
    qCInfo(lcStore).noquote() << "kept the hand-edited" << from << "as" << to;
    if (keptAs)
        *keptAs = name;
    return true;
}

// Why this order is safe (each name always points to a complete file, whatever the crash point):
//  1. config.json is hard-linked to config.prev.json.tmp, then the linked inode is checked to be a valid
//     generation (a corrupt config.json is never rotated: config.prev.json is then the only good copy).
//  2. QSaveFile writes a temporary file, syncs it and renames it over config.json: config.json is the
//     old or the new generation, never a partial one. A failure here removes the link and returns with
//     both files untouched.
//  3. config.prev.json.tmp is renamed over config.prev.json: prev is the old prev or the old current.
//  4. The directory is synced, so the renames survive a power loss.
// Dying before 2 leaves the old pair (plus a stray tmp link, never loaded); between 2 and 3 leaves the
// new current with the old prev; after 3 the new pair. The tmp link is removed by the next save.
bool ConfigStore::save(const ConfigSnapshot &snapshot, qint64 revision, const QJsonObject &source,
                       QString *error)
{
    QString ignoredError;
    QString &err = error ? *error : ignoredError;
    err.clear();
    const auto failed = [&](const QString &message) {
        err = message;
        qCWarning(lcStore).noquote() << "cannot save revision" << revision << ":" << message;
        return false;
    };

    step(SaveStep::Begin);
    if (!QFileInfo::exists(m_dataDir)) {
        const QString parent = QFileInfo(m_dataDir).absolutePath();
        if (!QDir().mkpath(parent))
            return failed(QStringLiteral("%1: cannot create directory").arg(parent));
        if (!QDir().mkdir(m_dataDir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner) &&
            !QFileInfo(m_dataDir).isDir())
            return failed(QStringLiteral("%1: cannot create directory").arg(m_dataDir));
    }

    const QString currentPath = path(CurrentFile);
    const QString previousPath = path(PreviousFile);
    const QString linkPath = path(PreviousTempFile);
    QString message;
    if (!DurableFile::removeIfPresent(linkPath, &message))
        return failed(message);

    bool rotate = false;
    if (QFileInfo::exists(currentPath)) {
        if (!DurableFile::link(currentPath, linkPath, &message))
            return failed(message);
        // The file this store wrote last is recognised by its digest; anything else (a hand edit, a file
        // from another program) is parsed before it may become the previous generation.
        QFile linked(linkPath);
        const bool opened = linked.open(QIODevice::ReadOnly);
        const bool known = opened && !m_knownGoodFileDigest.isEmpty() && linked.size() > 0 &&
                           fileDigest(linked) == m_knownGoodFileDigest;
        rotate = known;
        if (opened && !known && linked.seek(0)) {
            const QByteArray bytes = linked.readAll();
            bool envelope = false;
            rotate = linked.error() == QFileDevice::NoError && !bytes.isEmpty() &&
                     ConfigStore::parse(bytes, nullptr, &envelope).has_value() && envelope;
        }
        linked.close();
        if (!rotate) {
            qCWarning(lcStore).noquote() << currentPath << "is not a valid generation; keeping"
                                         << previousPath << "as the previous generation";
            if (!DurableFile::removeIfPresent(linkPath, &message))
                return failed(message);
        }
    }
    step(SaveStep::PreviousLinked);

    m_writer->prepare(snapshot, revision, source, QDateTime::currentDateTimeUtc());
    const auto abandon = [&](const QString &why) {
        QString ignored;
        if (rotate)
            DurableFile::removeIfPresent(linkPath, &ignored);
        return failed(why);
    };
    QByteArray fileSha;
    if (!DurableFile::write(
            currentPath, m_writer->parts(), &message, [this] { step(SaveStep::TempWritten); }, &fileSha))
        return abandon(message);
    m_knownGoodFileDigest = fileSha;
    m_savedSha256 = m_writer->sha256();
    step(SaveStep::Committed);

    // From here the new generation is in place: a later failure is logged, not returned, since the
    // caller's contract for false (nothing changed) no longer holds and the data is saved.
    if (rotate && !DurableFile::replace(linkPath, previousPath, &message))
        qCWarning(lcStore).noquote() << "previous generation not kept:" << message;
    step(SaveStep::PreviousRotated);
    if (!DurableFile::syncDirectory(m_dataDir, &message))
        qCWarning(lcStore).noquote() << message;
    step(SaveStep::DirectorySynced);
    qCDebug(lcStore).noquote() << "saved revision" << revision << "to" << currentPath;
    return true;
}
