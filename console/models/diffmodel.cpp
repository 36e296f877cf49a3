#include "diffmodel.h"

#include "columntitles.h"
#include "configdiffview.h"

#include <QBrush>
#include <QColor>
#include <QHash>
#include <QJsonDocument>
#include <QtConcurrent/QtConcurrentRun>

namespace {

QString unescape(QString token)
{
    return token.replace(QLatin1String("~1"), QLatin1String("/"))
        .replace(QLatin1String("~0"), QLatin1String("~"));
}

QString indented(const QJsonValue &value)
{
    if (value.isUndefined())
        return {};
    if (value.isObject())
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Indented));
    if (value.isArray())
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Indented));
    return ConfigDiffView::valueText(value);
}

QString kindName(JsonChange::Kind kind)
{
    return QString::fromLatin1(JsonChange::kindName(kind));
}

} // namespace

std::shared_ptr<const DiffModel::Tree> DiffModel::build(const QList<JsonChange> &changes)
{
    auto tree = std::make_shared<Tree>();
    tree->changes = changes;
    QHash<QString, int> groups;
    for (const JsonChange &change : changes) {
        switch (change.kind) {
        case JsonChange::Kind::Added:
            ++tree->added;
            break;
        case JsonChange::Kind::Removed:
            ++tree->removed;
            break;
        case JsonChange::Kind::Changed:
            ++tree->changed;
            break;
        }
        // "/routes/1/plugins/x" → group "routes/1", field "plugins/x". A change of a whole object (or of
        // something shallower) is the group itself.
        const QStringList segments = change.pointer.split(QLatin1Char('/')).mid(1);
        const int groupDepth = qMin(2, int(segments.size()));
        QStringList groupSegments;
        for (int i = 0; i < groupDepth; ++i)
            groupSegments << unescape(segments.at(i));
        const QString groupLabel =
            groupDepth == 0 ? QStringLiteral("(whole configuration)") : groupSegments.join(QLatin1Char('/'));
        const QString groupPointer = QStringList(segments.mid(0, groupDepth)).join(QLatin1Char('/'));
        int group = groups.value(groupPointer, -1);
        if (group < 0) {
            group = int(tree->nodes.size());
            Node node;
            node.label = groupLabel;
            node.pointer = groupDepth == 0 ? QString() : QLatin1Char('/') + groupPointer;
            node.row = int(tree->top.size());
            tree->nodes.push_back(node);
            tree->top.push_back(group);
            groups.insert(groupPointer, group);
        }
        if (segments.size() <= groupDepth) {
            Node &g = tree->nodes[size_t(group)];
            g.hasChange = true;
            g.change = change;
            continue;
        }
        QStringList field;
        for (qsizetype i = groupDepth; i < segments.size(); ++i)
            field << unescape(segments.at(i));
        Node leaf;
        leaf.label = field.join(QLatin1Char('/'));
        leaf.pointer = change.pointer;
        leaf.hasChange = true;
        leaf.change = change;
        leaf.parent = group;
        leaf.row = int(tree->nodes[size_t(group)].children.size());
        tree->nodes[size_t(group)].children.push_back(int(tree->nodes.size()));
        tree->nodes.push_back(leaf);
    }
    return tree;
}

DiffModel::DiffModel(QObject *parent)
    : QAbstractItemModel(parent)
    , m_tree(std::make_shared<Tree>())
{}

DiffModel::~DiffModel() = default;

void DiffModel::show(std::shared_ptr<const Tree> tree)
{
    beginResetModel();
    m_tree = std::move(tree);
    endResetModel();
    emit ready();
}

void DiffModel::setChanges(const QList<JsonChange> &changes)
{
    ++m_generation;
    show(build(changes));
}

void DiffModel::clear()
{
    setChanges({});
}

void DiffModel::setChangesAsync(const QList<JsonChange> &changes)
{
    const quint64 generation = ++m_generation;
    ++m_building;
    auto *watcher = new QFutureWatcher<std::shared_ptr<const Tree>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation] {
        watcher->deleteLater();
        --m_building;
        if (generation == m_generation) // a newer diff is on its way: this one is stale
            show(watcher->result());
    });
    watcher->setFuture(QtConcurrent::run([changes] { return build(changes); }));
}

QStringList DiffModel::pointers() const
{
    QStringList out;
    for (int top : m_tree->top) {
        const Node &group = m_tree->nodes[size_t(top)];
        if (group.hasChange)
            out << group.change.pointer;
        for (int child : group.children)
            out << m_tree->nodes[size_t(child)].change.pointer;
    }
    return out;
}

QModelIndex DiffModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid()) {
        if (row >= int(m_tree->top.size()))
            return {};
        return createIndex(row, column, quintptr(m_tree->top[size_t(row)]));
    }
    const Node &p = m_tree->nodes[size_t(parent.internalId())];
    if (row >= int(p.children.size()))
        return {};
    return createIndex(row, column, quintptr(p.children[size_t(row)]));
}

QModelIndex DiffModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    const Node &node = m_tree->nodes[size_t(child.internalId())];
    if (node.parent < 0)
        return {};
    return createIndex(m_tree->nodes[size_t(node.parent)].row, 0, quintptr(node.parent));
}

int DiffModel::rowCount(const QModelIndex &parent) const
{
    if (!parent.isValid())
        return int(m_tree->top.size());
    if (parent.column() != 0)
        return 0;
    return int(m_tree->nodes[size_t(parent.internalId())].children.size());
}

int DiffModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

QVariant DiffModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const Node &node = m_tree->nodes[size_t(index.internalId())];
    switch (role) {
    case PointerRole:
        return node.hasChange ? node.change.pointer : QString();
    case KindRole:
        return node.hasChange ? kindName(node.change.kind) : QString();
    case OldTextRole:
        return node.hasChange ? indented(node.change.oldValue) : QString();
    case NewTextRole:
        return node.hasChange ? indented(node.change.newValue) : QString();
    case Qt::ToolTipRole:
        return node.pointer;
    case Qt::ForegroundRole:
        if (!node.hasChange || index.column() != Kind)
            return {};
        switch (node.change.kind) {
        case JsonChange::Kind::Added:
            return QBrush(QColor(0x1e, 0x84, 0x49));
        case JsonChange::Kind::Removed:
            return QBrush(QColor(0xc0, 0x25, 0x25));
        case JsonChange::Kind::Changed:
            return QBrush(QColor(0xb3, 0x6b, 0x00));
        }
        return {};
    case Qt::BackgroundRole:
        if (!node.hasChange)
            return {};
        switch (node.change.kind) {
        case JsonChange::Kind::Added:
            return QBrush(QColor(0x1e, 0x84, 0x49, 0x22));
        case JsonChange::Kind::Removed:
            return QBrush(QColor(0xc0, 0x25, 0x25, 0x22));
        case JsonChange::Kind::Changed:
            return QBrush(QColor(0xe0, 0x9b, 0x00, 0x22));
        }
        return {};
    case Qt::DisplayRole:
        switch (index.column()) {
        case Entry:
            if (!node.children.empty() && !node.hasChange)
                return node.children.size() == 1
                           ? tr("%1 (1 change)").arg(node.label)
                           : tr("%1 (%2 changes)").arg(node.label).arg(node.children.size());
            return node.label;
        case Kind:
            return node.hasChange ? kindName(node.change.kind) : QString();
        case Persisted:
            return node.hasChange ? ConfigDiffView::valueText(node.change.oldValue).left(200) : QString();
        case Live:
            return node.hasChange ? ConfigDiffView::valueText(node.change.newValue).left(200) : QString();
        default:
            return {};
        }
    default:
        return {};
    }
}

QVariant DiffModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    return ColumnTitles({tr("Object / field"), tr("Change"), tr("Persisted (on disk)"), tr("Live (served)")})
        .headerData(section, orientation, role);
}
