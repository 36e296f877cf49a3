// The diff tab: filter, counts, the change tree, and old/new values side by side for the selected entry.
#pragma once

#include <QWidget>

class DiffModel;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSortFilterProxyModel;
class QStackedWidget;
class QTreeView;

class DiffView : public QWidget
{
    Q_OBJECT

public:
    explicit DiffView(DiffModel *model, QWidget *parent = nullptr);

    QTreeView *tree() const { return m_tree; }
    QLineEdit *filter() const { return m_filter; }
    QLabel *summary() const { return m_summary; }
    // Shown instead of the tree: "loading…", an error, or that there is nothing to compare.
    void setMessage(const QString &message);
    // A line above the tree about the comparison itself (e.g. the file on disk changed); "" hides it.
    void setNote(const QString &note);

private:
    void modelReady();
    void selectionChanged();

    DiffModel *m_model;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QLabel *m_summary;
    QLabel *m_note;
    QStackedWidget *m_stack;
    QLabel *m_empty;
    QTreeView *m_tree;
    QPlainTextEdit *m_old;
    QPlainTextEdit *m_new;
};
