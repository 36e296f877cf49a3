// One gateway in detail as a tree of sections (state, control plane, live, persisted, rejected, link).
#pragma once

#include "gatewayconnection.h"
#include "twolevelmodel.h"

#include <QPointer>

class DetailModel : public TwoLevelModel
{
    Q_OBJECT

public:
    explicit DetailModel(QObject *parent = nullptr);

    // Follows this connection's changes; nullptr shows nothing.
    void setConnection(GatewayConnection *connection);
    GatewayConnection *connection() const { return m_connection; }
    // The value shown for a field of a section ("State", "since"), for tests.
    QString value(const QString &section, const QString &field) const;

    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

private:
    int groupCount() const override;
    int itemCount(int group) const override;

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
