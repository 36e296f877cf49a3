#include "diffview.h"

#include "diffmodel.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QTreeView>
#include <QVBoxLayout>

DiffView::DiffView(DiffModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_proxy(new QSortFilterProxyModel(this))
    , m_filter(new QLineEdit(this))
    , m_summary(new QLabel(this))
    , m_note(new QLabel(this))
    , m_stack(new QStackedWidget(this))
    , m_empty(new QLabel(this))
    , m_tree(new QTreeView(this))
    , m_old(new QPlainTextEdit(this))
    , m_new(new QPlainTextEdit(this))
{
    m_proxy->setSourceModel(model);
    m_proxy->setRecursiveFilteringEnabled(true); // a matching field keeps its object visible
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);
    m_filter->setPlaceholderText(tr("Filter by object, field or value (Ctrl+F)"));
    m_filter->setClearButtonEnabled(true);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);

    m_tree->setObjectName(QStringLiteral("diffTree"));
    m_tree->setModel(m_proxy);
    m_tree->setUniformRowHeights(true); // fast with tens of thousands of rows
    m_tree->setAlternatingRowColors(true);
    m_tree->header()->setStretchLastSection(true);
    m_tree->header()->resizeSection(DiffModel::Entry, 260);
    m_tree->header()->resizeSection(DiffModel::Kind, 80);
    m_tree->header()->resizeSection(DiffModel::Persisted, 260);
    connect(m_tree->selectionModel(), &QItemSelectionModel::currentChanged, this,
            &DiffView::selectionChanged);

    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    for (QPlainTextEdit *edit : {m_old, m_new}) {
        edit->setReadOnly(true);
        edit->setFont(mono);
        edit->setLineWrapMode(QPlainTextEdit::NoWrap);
    }
    auto *oldBox = new QWidget(this);
    auto *oldLayout = new QVBoxLayout(oldBox);
    oldLayout->setContentsMargins(0, 0, 0, 0);
    oldLayout->addWidget(new QLabel(tr("Persisted (on disk)"), oldBox));
    oldLayout->addWidget(m_old);
    auto *newBox = new QWidget(this);
    auto *newLayout = new QVBoxLayout(newBox);
    newLayout->setContentsMargins(0, 0, 0, 0);
    newLayout->addWidget(new QLabel(tr("Live (served)"), newBox));
    newLayout->addWidget(m_new);
    auto *sides = new QSplitter(Qt::Horizontal, this);
    sides->addWidget(oldBox);
    sides->addWidget(newBox);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("diffSplitter"));
    split->addWidget(m_tree);
    split->addWidget(sides);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setWordWrap(true);
    m_empty->setObjectName(QStringLiteral("diffMessage"));
    m_stack->addWidget(m_empty);
    m_stack->addWidget(split);

    auto *top = new QHBoxLayout;
    top->addWidget(m_filter, 2);
    top->addWidget(m_summary, 3);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    m_note->setWordWrap(true);
    m_note->setObjectName(QStringLiteral("diffNote"));
    m_note->setStyleSheet(QStringLiteral("color: #b36b00"));
    m_note->hide();
    layout->addWidget(m_note);
    layout->addWidget(m_stack);

    connect(model, &DiffModel::ready, this, &DiffView::modelReady);
    setMessage(tr("Select a gateway to compare its persisted and live configuration."));
}

void DiffView::setMessage(const QString &message)
{
    m_empty->setText(message);
    m_stack->setCurrentIndex(0);
    m_summary->clear();
}

void DiffView::setNote(const QString &note)
{
    m_note->setText(note);
    m_note->setVisible(!note.isEmpty());
}

void DiffView::modelReady()
{
    m_old->clear();
    m_new->clear();
    if (m_model->total() == 0) {
        setMessage(tr("No differences: the live configuration is the persisted one."));
        m_summary->setText(tr("no differences"));
        return;
    }
    m_summary->setText(
        (m_model->total() == 1 ? tr("1 difference: ") : tr("%1 differences: ").arg(m_model->total())) +
        tr("<span style='color:#1e8449'>%1 added</span>, <span style='color:#c02525'>%2 "
           "removed</span>, <span style='color:#b36b00'>%3 changed</span>")
            .arg(m_model->added())
            .arg(m_model->removed())
            .arg(m_model->changed()));
    m_stack->setCurrentIndex(1);
    if (m_model->rowCount() <= 50)
        m_tree->expandAll();
}

void DiffView::selectionChanged()
{
    const QModelIndex index = m_proxy->mapToSource(m_tree->currentIndex());
    m_old->setPlainText(index.data(DiffModel::OldTextRole).toString());
    m_new->setPlainText(index.data(DiffModel::NewTextRole).toString());
}
