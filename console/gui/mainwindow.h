// The console's window: the fleet table and the selected gateway's detail, diff and upstreams, the actions
// on it and the tray icon; it lays out widgets and connects them to models.
#pragma once

#include "gatewayaddress.h"
#include "severity.h"

#include <QMainWindow>
#include <QPointer>
#include <QTimer>

class DetailModel;
class DiffModel;
class DiffView;
class FleetModel;
class GatewayConnection;
class QAction;
class QLabel;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QSystemTrayIcon;
class QTabWidget;
class QTableView;
class QTreeView;
class UpstreamModel;

class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    FleetModel *fleet() const { return m_fleet; }
    DiffModel *diffModel() const { return m_diff; }
    DetailModel *detailModel() const { return m_detail; }
    UpstreamModel *upstreamModel() const { return m_upstreams; }
    QTableView *fleetView() const { return m_view; }
    QTabWidget *tabs() const { return m_tabs; }

    // --connect: the gateway at this address, added when not listed, and selected.
    void connectTo(const GatewayAddress &address);
    void selectRow(int row);
    // Starts without showing the window when the tray can hold it (--minimized, at login).
    bool canHideInTray() const;

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildActions();
    void buildTray();
    void addGateway();
    void addLocalGateway();
    void editGateway();
    void removeGateway();
    void refresh();
    void resync();
    void reloadLocal();
    void copyDiff();
    void exportConfig(bool live);
    void currentChanged();
    void selectedGatewayChanged();
    void fetchDiff();
    void fetchUpstreams();
    void updateActions();
    void updateEmptyState();
    void updateTray(Severity::Level level);
    void saveFleet();
    void restoreState();
    void saveState();
    GatewayConnection *current() const;
    // The selected gateway once the user agrees to `question` about it ("%1" is its name); null when none
    // is selected or the user declines.
    GatewayConnection *confirmedCurrent(const QString &title, const QString &question);
    int currentRow() const;

    FleetModel *m_fleet;
    DetailModel *m_detail;
    DiffModel *m_diff;
    UpstreamModel *m_upstreams;
    QStackedWidget *m_stack;
    QLabel *m_emptyText;
    QPushButton *m_localButton;
    QTableView *m_view;
    QTabWidget *m_tabs;
    QTreeView *m_detailView;
    DiffView *m_diffView;
    QTreeView *m_upstreamView;
    QLabel *m_upstreamMessage;
    QProgressBar *m_progress;
    QSystemTrayIcon *m_tray = nullptr;
    QTimer m_diffTimer;     // the persisted file may change on disk without an event
    QTimer m_upstreamTimer; // health and connections change without events
    QPointer<GatewayConnection> m_watched;
    QString m_lastDiffKey; // live/persisted digests the shown diff was fetched for
    bool m_quitting = false;
    bool m_toldAboutTray = false;

    QAction *m_addAction = nullptr;
    QAction *m_editAction = nullptr;
    QAction *m_removeAction = nullptr;
    QAction *m_refreshAction = nullptr;
    QAction *m_resyncAction = nullptr;
    QAction *m_reloadAction = nullptr;
    QAction *m_copyDiffAction = nullptr;
    QAction *m_exportLiveAction = nullptr;
    QAction *m_exportPersistedAction = nullptr;
    QAction *m_autostartAction = nullptr;
};
