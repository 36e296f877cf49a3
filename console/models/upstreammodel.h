// A gateway's upstreams and their nodes as a tree: health as the checks see it, weight, connections.
#pragma once

#include "twolevelmodel.h"
#include "upstreamsview.h"

class UpstreamModel : public TwoLevelModel
{
    Q_OBJECT

public:
    enum Column
    {
        Name,
        Health,
        Weight,
        Connections,
        ColumnCount
    };

    explicit UpstreamModel(QObject *parent = nullptr);

    void setUpstreams(const UpstreamsView &view);
    void clear();
    const UpstreamsView &upstreams() const { return m_view; }

    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;

private:
    int groupCount() const override;
    int itemCount(int group) const override;

    UpstreamsView m_view;
};
