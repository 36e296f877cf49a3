// The gateways the console watches, one row each, with a live GatewayConnection behind every row.
#pragma once

#include "fleetstore.h"
#include "gatewayconnection.h"
#include "severity.h"

#include <QAbstractTableModel>
#include <QList>
#include <QTimer>

#include <memory>

class FleetModel : public QAbstractTableModel
{
    Q_OBJECT

public:
    enum Column
    {
        Name,
        State,
        LiveRevision,
        PersistedRevision,
        LastChange,
        ControlPlane,
        Notes,
        ColumnCount
    };
    enum Role
    {
        SeverityRole = Qt::UserRole + 1, // Severity::Level
        IdRole,                          // FleetStore::Entry::id
        StateTextRole,                   // the words in the State column, for tests and the tray
        BadgesRole,                      // QStringList: "live ≠ persisted", "2 rejected", ...
        ErrorRole                        // the connection error, "" when none
    };

    explicit FleetModel(QObject *parent = nullptr);
    ~FleetModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Adds and starts following a gateway; returns its row. `id` empty: a new one is made.
    int addGateway(const GatewayAddress &address, const QString &id = {});
    void updateGateway(int row, const GatewayAddress &address);
    void removeGateway(int row);
    int findUrl(const QUrl &adminUrl) const; // -1 when not listed
    int rowOfId(const QString &id) const;

    GatewayConnection *connection(int row) const;
    QList<FleetStore::Entry> entries() const;
    // The row's overall severity: its state, its reachability and its badges (a rejection, a persist
    // error). stateSeverity() is the state and reachability alone, for the State column.
    Severity::Level severity(int row) const;
    Severity::Level stateSeverity(int row) const;
    Severity::Level worstSeverity() const; // Ok for an empty fleet
    QString stateText(int row) const;
    QStringList badges(int row) const;

    // Retry and poll intervals (tests use short ones).
    void setTimings(int requestTimeoutMs, int backoffInitialMs, int backoffMaxMs);

signals:
    void worstSeverityChanged(Severity::Level level);
    // Something an operator should hear about even with the window closed: left in_sync, became
    // unreachable, a persist error, a new rejection.
    void alert(const QString &gateway, const QString &title, const QString &message, Severity::Level level);
    void gatewayChanged(int row);
    // A gateway was added, removed or given another address (not a change of its status): the list to
    // save.
    void listChanged();

private:
    struct Row
    {
        QString id;
        std::unique_ptr<GatewayConnection> connection;
        // What alerts compare against.
        Severity::Level lastSeverity = Severity::Busy;
        bool wasHealthy = false;
        bool wasReachable = true;
        QString lastPersistError;
        int lastRejected = 0;
    };
    void connectRow(Row *row);
    void rowChanged(GatewayConnection *connection);
    void checkAlerts(Row &row);
    void updateWorst();
    QString lastChangeText(const GatewayConnection &c) const;
    QString controlPlaneText(const GatewayConnection &c) const;

    std::vector<std::unique_ptr<Row>> m_rows;
    Severity::Level m_worst = Severity::Ok;
    QTimer m_clock; // "3 min ago" and "retry in 2 s" age without an event
    int m_requestTimeoutMs = 5000;
    int m_backoffInitialMs = 500;
    int m_backoffMaxMs = 15000;
};
