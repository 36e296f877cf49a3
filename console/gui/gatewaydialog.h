// Add or edit one gateway: name, admin URL, and a token pasted (never shown) or read from a file.
#pragma once

#include "gatewayaddress.h"

#include <QDialog>

class AdminClient;
class QLabel;
class QLineEdit;
class QRadioButton;

class GatewayDialog : public QDialog
{
    Q_OBJECT

public:
    // `existing` given: editing; its stored token is kept unless a new one is typed.
    explicit GatewayDialog(QWidget *parent = nullptr, const GatewayAddress *existing = nullptr);

    GatewayAddress address() const;
    void accept() override;

private:
    void testConnection();
    void updateTokenMode();
    bool validate(QString *error) const;

    GatewayAddress m_existing;
    bool m_editing = false;
    QLineEdit *m_name;
    QLineEdit *m_url;
    QRadioButton *m_useToken;
    QRadioButton *m_useFile;
    QLineEdit *m_token;
    QLineEdit *m_tokenFile;
    QWidget *m_browse;
    QLabel *m_result;
    AdminClient *m_client;
};
