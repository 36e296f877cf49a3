#include "mainwindow.h"

#include "gatewaylistmodel.h"

#include <QHeaderView>
#include <QInputDialog>
#include <QMessageBox>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_model(new GatewayListModel(this))
    , m_view(new QTableView(this))
{
    setWindowTitle(tr("Holdfast Console"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->horizontalHeader()->setStretchLastSection(true);
    setCentralWidget(m_view);

    QToolBar *toolbar = addToolBar(tr("Gateways"));
    toolbar->setObjectName(QStringLiteral("gatewaysToolbar"));
    toolbar->addAction(tr("Add gateway…"), this, &MainWindow::addGateway);
    toolbar->addAction(tr("Remove"), this, [this] { m_model->removeGateway(m_view->currentIndex().row()); });

    statusBar()->showMessage(tr("Add a gateway by the address of its admin API, e.g. http://127.0.0.1:9180"));
    resize(900, 480);
}

void MainWindow::addGateway()
{
    bool ok = false;
    const QString text =
        QInputDialog::getText(this, tr("Add gateway"), tr("Admin API address:"), QLineEdit::Normal,
                              QStringLiteral("http://127.0.0.1:9180"), &ok);
    if (ok && !m_model->addGateway(QUrl(text.trimmed())))
        QMessageBox::warning(this, tr("Add gateway"),
                             tr("\"%1\" is not an http(s) address, or is listed already.").arg(text));
}
