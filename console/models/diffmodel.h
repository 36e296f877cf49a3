// Persisted → live changes as a tree (object → field) with counts; built off the GUI thread.
#pragma once

#include "jsondiff.h"

#include <QAbstractItemModel>
#include <QFutureWatcher>

#include <memory>
#include <vector>

class DiffModel : public QAbstractItemModel
{
    Q_OBJECT

public:
    enum Column
    {
        Entry,
        Kind,
        Persisted,
        Live,
        ColumnCount
    };
    enum Role
    {
        PointerRole = Qt::UserRole + 1, // the full JSON pointer of a change; "" for a group of changes
        KindRole,                       // "added", "removed", "changed"; "" for a group
        OldTextRole,                    // old value as indented JSON, for the side-by-side view
        NewTextRole
    };

    // The tree, immutable once built: whole objects ("/routes/1") at the top, their fields below.
    struct Node
    {
        QString label;   // "routes/1" at the top, "uri" or "plugins/limit-count/count" below
        QString pointer; // of the change, or of the object for a group
        bool hasChange = false;
        JsonChange change;         // when hasChange
        std::vector<int> children; // indexes into Tree::nodes
        int parent = -1;
        int row = 0; // among the parent's children (or the top level)
    };
    struct Tree
    {
        std::vector<Node> nodes;
        std::vector<int> top;
        int added = 0;
        int removed = 0;
        int changed = 0;
        QList<JsonChange> changes;
    };
    static std::shared_ptr<const Tree> build(const QList<JsonChange> &changes);

    explicit DiffModel(QObject *parent = nullptr);
    ~DiffModel() override;

    // Builds the tree on a worker thread; ready() when it is shown. A newer call supersedes an older one.
    void setChangesAsync(const QList<JsonChange> &changes);
    void setChanges(const QList<JsonChange> &changes); // at once, on this thread
    void clear();
    bool isBuilding() const { return m_building > 0; }

    int added() const { return m_tree->added; }
    int removed() const { return m_tree->removed; }
    int changed() const { return m_tree->changed; }
    int total() const { return int(m_tree->changes.size()); }
    const QList<JsonChange> &changes() const { return m_tree->changes; }
    // Every leaf change's pointer in tree order (tests and "copy").
    QStringList pointers() const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void ready();

private:
    void show(std::shared_ptr<const Tree> tree);

    std::shared_ptr<const Tree> m_tree;
    quint64 m_generation = 0;
    int m_building = 0;
};
