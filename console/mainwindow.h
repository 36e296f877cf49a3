// The console's main window: the list of gateways; it only lays out widgets and connects them to models.
#pragma once

#include <QMainWindow>

class GatewayListModel;
class QTableView;

class MainWindow : public QMainWindow
{
    Q_OBJECT

public:
    explicit MainWindow(QWidget *parent = nullptr);

private:
    void addGateway();

    GatewayListModel *m_model;
    QTableView *m_view;
};
