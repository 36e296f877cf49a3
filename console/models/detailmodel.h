// One gateway in detail as a tree of sections (state, control plane, live, persisted, rejected, link).
#pragma once

#include "gatewayconnection.h"

#include <QAbstractItemModel>
#include <QPointer>

class DetailModel : public QAbstractItemModel
{
    Q_OBJECT

public:
    explicit DetailModel(QObject *parent = nullptr);

    // Follows this connection's changes; nullptr shows nothing.
    void setConnection(GatewayConnection *connection);
    GatewayConnection *connection() const { return m_connection; }
    // The value shown for a field of a section ("State", "since"), for tests.
    QString value(const QString &section, const QString &field) const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Field
    {
        QString name;
        QString value;
        bool alarm = false; // shown in the error colour
    };
    struct Section
    {
        QString title;
        QList<Field> fields;
    };
    void rebuild();

    QPointer<GatewayConnection> m_connection;
    QList<Section> m_sections;
};
