#include "mainwindow.h"

#include "autostart.h"
#include "detailmodel.h"
#include "diffmodel.h"
#include "diffview.h"
#include "fleetmodel.h"
#include "fleetstore.h"
#include "gatewayconnection.h"
#include "gatewaydialog.h"
#include "localgateway.h"
#include "upstreammodel.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QFileDialog>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QTableView>
#include <QTabWidget>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

namespace {

QIcon trayIcon(Severity::Level level)
{
    QIcon icon;
    for (int size : {16, 22, 24, 32, 48, 64})
        icon.addFile(QStringLiteral(":/icons/%1/tray-%2.png").arg(size).arg(Severity::name(level)),
                     QSize(size, size));
    return icon;
}

QIcon appIcon()
{
    QIcon icon;
    for (int size : {16, 24, 32, 48, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/%1/holdfast.png").arg(size), QSize(size, size));
    return icon;
}

enum Tab
{
    DetailTab,
    DiffTab,
    UpstreamsTab
};

} // namespace

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_fleet(new FleetModel(this))
    , m_detail(new DetailModel(this))
    , m_diff(new DiffModel(this))
    , m_upstreams(new UpstreamModel(this))
    , m_stack(new QStackedWidget(this))
    , m_emptyText(new QLabel(this))
    , m_localButton(new QPushButton(this))
    , m_view(new QTableView(this))
    , m_tabs(new QTabWidget(this))
    , m_detailView(new QTreeView(this))
    , m_diffView(new DiffView(m_diff, this))
    , m_upstreamView(new QTreeView(this))
    , m_upstreamMessage(new QLabel(this))
    , m_progress(new QProgressBar(this))
{
    setWindowTitle(tr("Holdfast Console"));
    setWindowIcon(appIcon());

    // The fleet.
    m_view->setObjectName(QStringLiteral("fleetView"));
    m_view->setModel(m_fleet);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->setSectionsMovable(true);
    m_view->setWordWrap(false);
    m_view->setContextMenuPolicy(Qt::ActionsContextMenu);
    const int widths[] = {150, 140, 70, 80, 100, 240};
    for (int i = 0; i < int(std::size(widths)); ++i)
        m_view->horizontalHeader()->resizeSection(i, widths[i]);
    connect(m_view, &QTableView::doubleClicked, this, [this] { editGateway(); });

    // The selected gateway.
    m_detailView->setObjectName(QStringLiteral("detailView"));
    m_detailView->setModel(m_detail);
    m_detailView->setUniformRowHeights(true);
    m_detailView->header()->resizeSection(0, 200);
    connect(m_detail, &QAbstractItemModel::modelReset, m_detailView, &QTreeView::expandAll);
    m_upstreamView->setObjectName(QStringLiteral("upstreamView"));
    m_upstreamView->setModel(m_upstreams);
    m_upstreamView->header()->resizeSection(0, 260);
    m_upstreamView->header()->resizeSection(1, 200);
    connect(m_upstreams, &QAbstractItemModel::modelReset, m_upstreamView, &QTreeView::expandAll);
    auto *upstreamPage = new QWidget(this);
    auto *upstreamLayout = new QVBoxLayout(upstreamPage);
    upstreamLayout->addWidget(m_upstreamMessage);
    upstreamLayout->addWidget(m_upstreamView);
    m_upstreamMessage->setWordWrap(true);
    m_tabs->setObjectName(QStringLiteral("gatewayTabs"));
    m_tabs->addTab(m_detailView, tr("&Detail"));
    m_tabs->addTab(m_diffView, tr("D&iff"));
    m_tabs->addTab(upstreamPage, tr("&Upstreams"));
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] {
        if (m_tabs->currentIndex() == DiffTab)
            fetchDiff();
        if (m_tabs->currentIndex() == UpstreamsTab)
            fetchUpstreams();
    });

    auto *split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("mainSplitter"));
    split->addWidget(m_view);
    split->addWidget(m_tabs);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);

    // First start: say what to do, and offer the gateway on this machine when it can be read.
    auto *empty = new QWidget(this);
    empty->setObjectName(QStringLiteral("emptyState"));
    auto *emptyLayout = new QVBoxLayout(empty);
    auto *logo = new QLabel(empty);
    logo->setPixmap(appIcon().pixmap(96, 96));
    logo->setAlignment(Qt::AlignCenter);
    m_emptyText->setAlignment(Qt::AlignCenter);
    m_emptyText->setWordWrap(true);
    auto *addButton = new QPushButton(tr("Add a gateway…"), empty);
    connect(addButton, &QPushButton::clicked, this, &MainWindow::addGateway);
    m_localButton->setObjectName(QStringLiteral("quickSetupButton"));
    connect(m_localButton, &QPushButton::clicked, this, &MainWindow::addLocalGateway);
    emptyLayout->addStretch(1);
    emptyLayout->addWidget(logo);
    emptyLayout->addWidget(m_emptyText);
    for (QPushButton *b : {m_localButton, addButton}) {
        auto *row = new QHBoxLayout;
        row->addStretch(1);
        row->addWidget(b);
        row->addStretch(1);
        emptyLayout->addLayout(row);
    }
    emptyLayout->addStretch(2);
    m_stack->addWidget(empty);
    m_stack->addWidget(split);
    setCentralWidget(m_stack);

    m_progress->setRange(0, 0);
    m_progress->setMaximumWidth(160);
    m_progress->hide();
    statusBar()->addPermanentWidget(m_progress);

    buildActions();
    buildTray();

    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &MainWindow::currentChanged);
    connect(m_fleet, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateEmptyState);
    connect(m_fleet, &QAbstractItemModel::rowsRemoved, this, &MainWindow::updateEmptyState);
    connect(m_fleet, &FleetModel::gatewayChanged, this, [this](int row) {
        if (row == currentRow())
            selectedGatewayChanged();
    });
    connect(m_fleet, &FleetModel::worstSeverityChanged, this, &MainWindow::updateTray);

    m_diffTimer.setInterval(5000);
    connect(&m_diffTimer, &QTimer::timeout, this, [this] {
        if (isVisible() && m_tabs->currentIndex() == DiffTab)
            fetchDiff();
    });
    m_diffTimer.start();
    m_upstreamTimer.setInterval(3000);
    connect(&m_upstreamTimer, &QTimer::timeout, this, [this] {
        if (isVisible() && m_tabs->currentIndex() == UpstreamsTab)
            fetchUpstreams();
    });
    m_upstreamTimer.start();

    QSettings settings;
    for (const FleetStore::Entry &e : FleetStore::load(settings))
        m_fleet->addGateway(e.address, e.id);
    // From here on, every change of the list is saved at once.
    connect(m_fleet, &FleetModel::listChanged, this, &MainWindow::saveFleet);
    restoreState();
    updateEmptyState();
    updateActions();
    if (m_fleet->rowCount() > 0 && currentRow() < 0)
        selectRow(0);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildActions()
{
    const auto make = [this](const QString &text, const QKeySequence &key, auto slot) {
        auto *action = new QAction(text, this);
        action->setShortcut(key);
        connect(action, &QAction::triggered, this, slot);
        return action;
    };
    m_addAction = make(tr("&Add gateway…"), QKeySequence::New, &MainWindow::addGateway);
    m_editAction = make(tr("&Edit gateway…"), QKeySequence(Qt::Key_F2), &MainWindow::editGateway);
    m_removeAction = make(tr("&Remove gateway"), QKeySequence::Delete, &MainWindow::removeGateway);
    m_refreshAction = make(tr("Re&fresh"), QKeySequence::Refresh, &MainWindow::refresh);
    m_resyncAction = make(tr("Re&sync…"), QKeySequence(Qt::CTRL | Qt::Key_R), &MainWindow::resync);
    m_resyncAction->setToolTip(tr("Ask the gateway to read everything from its control plane again"));
    m_reloadAction =
        make(tr("Reload &local copy…"), QKeySequence(Qt::CTRL | Qt::Key_L), &MainWindow::reloadLocal);
    m_reloadAction->setToolTip(tr("Serve the persisted file (only while the control plane is away)"));
    m_copyDiffAction =
        make(tr("&Copy diff as text"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), &MainWindow::copyDiff);
    m_exportLiveAction =
        make(tr("Export &live configuration…"), QKeySequence(), [this] { exportConfig(true); });
    m_exportPersistedAction =
        make(tr("Export &persisted configuration…"), QKeySequence(), [this] { exportConfig(false); });
    auto *quit = make(tr("&Quit"), QKeySequence::Quit, [this] {
        m_quitting = true;
        close();
        QApplication::quit();
    });
    m_autostartAction = new QAction(tr("Start at &login"), this);
    m_autostartAction->setCheckable(true);
    m_autostartAction->setChecked(Autostart::isEnabled());
    connect(m_autostartAction, &QAction::toggled, this, [this](bool on) {
        QString error;
        if (!Autostart::setEnabled(on, QApplication::applicationFilePath(), &error)) {
            QMessageBox::warning(this, tr("Start at login"), error);
            const QSignalBlocker block(m_autostartAction);
            m_autostartAction->setChecked(!on);
        }
    });
    auto *filterAction = new QAction(this);
    filterAction->setShortcut(QKeySequence::Find);
    connect(filterAction, &QAction::triggered, this, [this] {
        m_tabs->setCurrentIndex(DiffTab);
        m_diffView->filter()->setFocus();
        m_diffView->filter()->selectAll();
    });
    addAction(filterAction);
    for (int tab : {DetailTab, DiffTab, UpstreamsTab}) {
        auto *go = new QAction(this);
        go->setShortcut(QKeySequence(Qt::ALT | (Qt::Key_1 + tab)));
        connect(go, &QAction::triggered, this, [this, tab] { m_tabs->setCurrentIndex(tab); });
        addAction(go);
    }

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_exportLiveAction);
    file->addAction(m_exportPersistedAction);
    file->addSeparator();
    file->addAction(m_autostartAction);
    file->addSeparator();
    file->addAction(quit);
    QMenu *gateway = menuBar()->addMenu(tr("&Gateway"));
    for (QAction *a : {m_addAction, m_editAction, m_removeAction})
        gateway->addAction(a);
    gateway->addSeparator();
    for (QAction *a : {m_refreshAction, m_resyncAction, m_reloadAction, m_copyDiffAction})
        gateway->addAction(a);
    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(
            this, tr("About Holdfast Console"),
            tr("<b>Holdfast Console %1</b><p>Watches Holdfast gateways through their admin API: "
               "sync state, live against persisted configuration, upstream health.</p>")
                .arg(QApplication::applicationVersion()));
    });

    QToolBar *toolbar = addToolBar(tr("Gateways"));
    toolbar->setObjectName(QStringLiteral("gatewaysToolbar"));
    toolbar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    for (QAction *a : {m_addAction, m_editAction, m_removeAction})
        toolbar->addAction(a);
    toolbar->addSeparator();
    for (QAction *a : {m_refreshAction, m_resyncAction, m_reloadAction, m_copyDiffAction})
        toolbar->addAction(a);
    for (QAction *a : {m_refreshAction, m_resyncAction, m_reloadAction, m_editAction, m_removeAction})
        m_view->addAction(a);
}

void MainWindow::buildTray()
{
    if (!QSystemTrayIcon::isSystemTrayAvailable())
        return;
    m_tray = new QSystemTrayIcon(trayIcon(Severity::Ok), this);
    auto *menu = new QMenu(this);
    menu->addAction(tr("Show Holdfast Console"), this, [this] {
        showNormal();
        raise();
        activateWindow();
    });
    menu->addAction(m_autostartAction);
    menu->addSeparator();
    menu->addAction(tr("Quit"), this, [this] {
        m_quitting = true;
        QApplication::quit();
    });
    m_tray->setContextMenu(menu);
    connect(m_tray, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason reason) {
        if (reason != QSystemTrayIcon::Trigger)
            return;
        if (isVisible() && !isMinimized()) {
            hide();
        } else {
            showNormal();
            raise();
            activateWindow();
        }
    });
    connect(m_fleet, &FleetModel::alert, this,
            [this](const QString &, const QString &title, const QString &message, Severity::Level level) {
                m_tray->showMessage(title, message,
                                    level >= Severity::Error ? QSystemTrayIcon::Critical
                                                             : QSystemTrayIcon::Warning);
            });
    updateTray(m_fleet->worstSeverity());
    m_tray->show();
}

bool MainWindow::canHideInTray() const
{
    return m_tray != nullptr;
}

void MainWindow::updateTray(Severity::Level level)
{
    const QIcon icon = trayIcon(level);
    if (m_tray) {
        m_tray->setIcon(icon);
        QStringList lines;
        for (int row = 0; row < m_fleet->rowCount(); ++row)
            lines << QStringLiteral("%1: %2").arg(m_fleet->index(row, FleetModel::Name).data().toString(),
                                                  m_fleet->stateText(row));
        m_tray->setToolTip(lines.isEmpty() ? tr("Holdfast Console: no gateways")
                                           : lines.join(QLatin1Char('\n')));
    }
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveState();
    if (m_tray && !m_quitting) {
        // Close to the tray: the console keeps watching and notifying.
        hide();
        if (!m_toldAboutTray) {
            m_toldAboutTray = true;
            m_tray->showMessage(tr("Holdfast Console"),
                                tr("Still watching in the tray. Quit from its menu or with Ctrl+Q."));
        }
        event->ignore();
        return;
    }
    event->accept();
}

int MainWindow::currentRow() const
{
    const QModelIndex index = m_view->selectionModel()->currentIndex();
    return index.isValid() ? index.row() : -1;
}

GatewayConnection *MainWindow::confirmedCurrent(const QString &title, const QString &question)
{
    GatewayConnection *c = current();
    if (!c ||
        QMessageBox::question(this, title, question.arg(c->address().displayName())) != QMessageBox::Yes)
        return nullptr;
    return c;
}

GatewayConnection *MainWindow::current() const
{
    return m_fleet->connection(currentRow());
}

void MainWindow::selectRow(int row)
{
    if (row < 0 || row >= m_fleet->rowCount())
        return;
    m_view->selectionModel()->setCurrentIndex(m_fleet->index(row, 0), QItemSelectionModel::ClearAndSelect |
                                                                          QItemSelectionModel::Rows);
}

void MainWindow::updateEmptyState()
{
    const bool empty = m_fleet->rowCount() == 0;
    m_stack->setCurrentIndex(empty ? 0 : 1);
    if (!empty)
        return;
    QString why;
    const std::optional<GatewayAddress> local = LocalGateway::find(&why);
    m_emptyText->setText(tr("<h2>No gateways yet</h2><p>Add a gateway by the address of its admin API "
                            "(e.g. <tt>http://127.0.0.1:9180</tt>) and its token, which holdfastd keeps in "
                            "<tt>&lt;data_dir&gt;/admin.token</tt>.</p>"));
    m_localButton->setVisible(local.has_value());
    if (local)
        m_localButton->setText(tr("Watch the gateway on this machine (%1)").arg(local->adminUrl.toString()));
}

void MainWindow::addLocalGateway()
{
    QString why;
    const std::optional<GatewayAddress> local = LocalGateway::find(&why);
    if (!local) {
        QMessageBox::information(this, tr("Gateway on this machine"), why);
        return;
    }
    connectTo(*local);
}

void MainWindow::connectTo(const GatewayAddress &address)
{
    int row = m_fleet->findUrl(address.adminUrl);
    if (row < 0)
        row = m_fleet->addGateway(address);
    selectRow(row);
}

void MainWindow::addGateway()
{
    GatewayDialog dialog(this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const GatewayAddress address = dialog.address();
    if (m_fleet->findUrl(address.adminUrl) >= 0) {
        QMessageBox::information(this, tr("Add gateway"),
                                 tr("%1 is listed already.").arg(address.adminUrl.toString()));
        selectRow(m_fleet->findUrl(address.adminUrl));
        return;
    }
    selectRow(m_fleet->addGateway(address));
}

void MainWindow::editGateway()
{
    const int row = currentRow();
    GatewayConnection *c = current();
    if (!c)
        return;
    const GatewayAddress before = c->address();
    GatewayDialog dialog(this, &before);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_fleet->updateGateway(row, dialog.address());
    selectedGatewayChanged();
}

void MainWindow::removeGateway()
{
    const int row = currentRow();
    if (!confirmedCurrent(tr("Remove gateway"), tr("Stop watching %1? The gateway itself is not affected.")))
        return;
    m_fleet->removeGateway(row);
    currentChanged();
}

void MainWindow::refresh()
{
    if (GatewayConnection *c = current()) {
        c->refresh();
        m_lastDiffKey.clear();
        fetchDiff();
        fetchUpstreams();
    }
}

void MainWindow::resync()
{
    if (const GatewayConnection *selected = current(); selected && selected->resyncInProgress())
        return;
    GatewayConnection *c = confirmedCurrent(
        tr("Resync"),
        tr("Ask %1 to read its whole configuration from the control plane again?\n\n"
           "Serving continues meanwhile; objects the control plane no longer has are removed."));
    if (!c)
        return;
    const QString name = c->address().displayName();
    m_progress->show();
    updateActions();
    connect(c, &GatewayConnection::resyncProgress, this, [this, name](const QString &message) {
        statusBar()->showMessage(tr("Resync %1: %2").arg(name, message));
    });
    connect(
        c, &GatewayConnection::resyncFinished, this,
        [this, c, name](const ConnectorError &error, const QString &message) {
            disconnect(c, &GatewayConnection::resyncProgress, this, nullptr);
            m_progress->hide();
            updateActions();
            if (error.isError()) {
                statusBar()->showMessage(tr("Resync %1 failed: %2").arg(name, message));
                QMessageBox::warning(this, tr("Resync"), tr("Resync of %1 failed:\n%2").arg(name, message));
            } else {
                statusBar()->showMessage(tr("Resync %1: %2").arg(name, message), 15000);
            }
            m_lastDiffKey.clear();
            fetchDiff();
        },
        Qt::SingleShotConnection);
    c->resync();
}

void MainWindow::reloadLocal()
{
    GatewayConnection *c = confirmedCurrent(
        tr("Reload local copy"), tr("Serve the persisted configuration file of %1?\n\nThis replaces "
                                    "what is live until the control plane is back."));
    if (!c)
        return;
    c->reloadLocal([this, name = c->address().displayName()](const std::optional<QString> &message,
                                                             const ConnectorError &error) {
        if (message)
            statusBar()->showMessage(tr("%1: %2").arg(name, *message), 15000);
        else
            QMessageBox::warning(this, tr("Reload local copy"),
                                 tr("%1 refused:\n%2").arg(name, error.message()));
    });
}

void MainWindow::copyDiff()
{
    const QString text =
        m_diff->total() == 0 ? tr("no differences\n") : ConfigDiffView::toText(m_diff->changes());
    QApplication::clipboard()->setText(text);
    statusBar()->showMessage(tr("%n difference(s) copied", nullptr, m_diff->total()), 5000);
}

void MainWindow::exportConfig(bool live)
{
    GatewayConnection *c = current();
    if (!c)
        return;
    const QString kind = live ? QStringLiteral("live") : QStringLiteral("persisted");
    const QString suggested =
        QStringLiteral("%1-%2.json")
            .arg(c->address().displayName().replace(QLatin1Char(':'), QLatin1Char('-')), kind);
    const QString path = QFileDialog::getSaveFileName(this, tr("Export %1 configuration").arg(kind),
                                                      suggested, tr("JSON (*.json)"));
    if (path.isEmpty())
        return;
    const auto write = [this, path](const std::optional<QJsonObject> &doc, const ConnectorError &error) {
        if (!doc) {
            QMessageBox::warning(this, tr("Export"), error.toString());
            return;
        }
        QSaveFile file(path);
        if (!file.open(QIODevice::WriteOnly) ||
            file.write(QJsonDocument(*doc).toJson(QJsonDocument::Indented)) < 0 || !file.commit()) {
            QMessageBox::warning(this, tr("Export"), tr("%1: %2").arg(path, file.errorString()));
            return;
        }
        statusBar()->showMessage(tr("Written %1").arg(path), 8000);
    };
    if (live)
        c->fetchLiveConfig(write);
    else
        c->fetchPersistedConfig(write);
}

void MainWindow::currentChanged()
{
    GatewayConnection *c = current();
    m_watched = c;
    m_detail->setConnection(c);
    m_lastDiffKey.clear();
    m_diff->clear();
    m_upstreams->clear();
    m_diffView->setNote(QString());
    if (!c)
        m_diffView->setMessage(tr("Select a gateway to compare its persisted and live configuration."));
    selectedGatewayChanged();
}

void MainWindow::selectedGatewayChanged()
{
    updateActions();
    if (m_tabs->currentIndex() == DiffTab)
        fetchDiff();
}

void MainWindow::fetchDiff()
{
    GatewayConnection *c = current();
    if (!c)
        return;
    if (!c->status()) {
        m_diffView->setMessage(c->error().isError() ? c->error().toString() : tr("Connecting…"));
        m_lastDiffKey.clear();
        return;
    }
    QPointer<GatewayConnection> asked(c);
    c->fetchDiff([this, asked](const std::optional<ConfigDiffView> &diff, const ConnectorError &error) {
        if (asked != current())
            return; // the selection moved on
        if (!diff) {
            m_diffView->setMessage(error.toString());
            m_lastDiffKey.clear();
            return;
        }
        // The gateway reads the persisted side from disk; its status says what it last wrote or loaded.
        const auto &status = current()->status();
        if (status && !status->persisted.sha256.isEmpty() && !diff->persistedSha256.isEmpty() &&
            diff->persistedSha256 != status->persisted.sha256)
            m_diffView->setNote(
                tr("%1 on disk is not the generation the gateway last wrote or loaded (sha256 "
                   "%2…, expected %3…): it was changed outside the gateway, e.g. edited by hand. "
                   "Check it with holdfastd check before a restart serves it.")
                    .arg(status->persisted.file, diff->persistedSha256.left(12),
                         status->persisted.sha256.left(12)));
        else if (diff->persistedSha256.isEmpty())
            m_diffView->setNote(
                tr("The gateway has no persisted configuration (standalone, or nothing saved yet): "
                   "everything live shows as added."));
        else
            m_diffView->setNote(QString());
        // Unchanged digests and the same changes: keep the tree, its expansion and selection.
        QString key = diff->persistedSha256 + QLatin1Char('/') + diff->liveSha256 + QLatin1Char('/') +
                      QString::number(diff->changes.size());
        if (key == m_lastDiffKey)
            return;
        m_lastDiffKey = key;
        m_diff->setChangesAsync(diff->changes);
    });
}

void MainWindow::fetchUpstreams()
{
    GatewayConnection *c = current();
    if (!c)
        return;
    QPointer<GatewayConnection> asked(c);
    c->fetchUpstreams([this, asked](const std::optional<UpstreamsView> &view, const ConnectorError &error) {
        if (asked != current())
            return;
        if (!view) {
            m_upstreamMessage->setText(error.toString());
            m_upstreamMessage->show();
            return;
        }
        m_upstreamMessage->setVisible(view->upstreams.isEmpty());
        m_upstreamMessage->setText(tr("No upstreams in the live configuration."));
        m_upstreams->setUpstreams(*view);
    });
}

void MainWindow::updateActions()
{
    GatewayConnection *c = current();
    const bool reachable = c && c->status() && c->link() != GatewayConnection::Link::Down;
    m_editAction->setEnabled(c);
    m_removeAction->setEnabled(c);
    m_refreshAction->setEnabled(c);
    m_resyncAction->setEnabled(reachable && !c->resyncInProgress());
    // The gateway applies its local file only while offline; in sync it would refuse.
    const bool offline = reachable && (c->status()->state == GatewayStatus::State::OfflineLocal ||
                                       c->status()->state == GatewayStatus::State::Reconnecting ||
                                       c->status()->state == GatewayStatus::State::Starting);
    m_reloadAction->setEnabled(offline);
    m_copyDiffAction->setEnabled(reachable);
    m_exportLiveAction->setEnabled(reachable);
    m_exportPersistedAction->setEnabled(reachable && !c->status()->persisted.file.isEmpty());
}

void MainWindow::saveFleet()
{
    QSettings settings;
    FleetStore::save(settings, m_fleet->entries());
}

void MainWindow::restoreState()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("window"));
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    QMainWindow::restoreState(settings.value(QStringLiteral("state")).toByteArray());
    m_view->horizontalHeader()->restoreState(settings.value(QStringLiteral("fleetColumns")).toByteArray());
    m_diffView->tree()->header()->restoreState(settings.value(QStringLiteral("diffColumns")).toByteArray());
    m_detailView->header()->restoreState(settings.value(QStringLiteral("detailColumns")).toByteArray());
    m_upstreamView->header()->restoreState(settings.value(QStringLiteral("upstreamColumns")).toByteArray());
    if (auto *split = findChild<QSplitter *>(QStringLiteral("mainSplitter")))
        split->restoreState(settings.value(QStringLiteral("split")).toByteArray());
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("tab"), 0).toInt());
    const QString selected = settings.value(QStringLiteral("selected")).toString();
    settings.endGroup();
    if (settings.value(QStringLiteral("window/geometry")).isNull())
        resize(1100, 700);
    selectRow(m_fleet->rowOfId(selected));
}

void MainWindow::saveState()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("window"));
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("state"), QMainWindow::saveState());
    settings.setValue(QStringLiteral("fleetColumns"), m_view->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("diffColumns"), m_diffView->tree()->header()->saveState());
    settings.setValue(QStringLiteral("detailColumns"), m_detailView->header()->saveState());
    settings.setValue(QStringLiteral("upstreamColumns"), m_upstreamView->header()->saveState());
    if (auto *split = findChild<QSplitter *>(QStringLiteral("mainSplitter")))
        settings.setValue(QStringLiteral("split"), split->saveState());
    settings.setValue(QStringLiteral("tab"), m_tabs->currentIndex());
    settings.setValue(QStringLiteral("selected"), m_fleet->index(currentRow(), 0).data(FleetModel::IdRole));
    settings.endGroup();
}
