#include "gatewaydialog.h"

#include "adminclient.h"
#include "gatewaystatus.h"
#include "statusfacts.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRadioButton>

GatewayDialog::GatewayDialog(QWidget *parent, const GatewayAddress *existing)
    : QDialog(parent)
    , m_name(new QLineEdit(this))
    , m_url(new QLineEdit(this))
    , m_useToken(new QRadioButton(tr("Token"), this))
    , m_useFile(new QRadioButton(tr("Token file"), this))
    , m_token(new QLineEdit(this))
    , m_tokenFile(new QLineEdit(this))
    , m_result(new QLabel(this))
    , m_client(new AdminClient(this))
{
    setWindowTitle(existing ? tr("Edit gateway") : tr("Add gateway"));
    m_name->setPlaceholderText(tr("e.g. edge-1 (optional)"));
    m_url->setPlaceholderText(QStringLiteral("http://127.0.0.1:9180"));
    m_token->setEchoMode(QLineEdit::Password); // a token is never shown
    m_token->setPlaceholderText(tr("paste the content of admin.token"));
    m_tokenFile->setPlaceholderText(tr("/var/lib/holdfast/admin.token"));
    auto *browse = new QPushButton(tr("Browse…"), this);
    m_browse = browse;
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Token file"), m_tokenFile->text());
        if (!file.isEmpty())
            m_tokenFile->setText(file);
    });

    auto *fileRow = new QHBoxLayout;
    fileRow->addWidget(m_tokenFile);
    fileRow->addWidget(browse);
    auto *form = new QFormLayout;
    form->addRow(tr("Name"), m_name);
    form->addRow(tr("Admin API URL"), m_url);
    form->addRow(m_useToken, m_token);
    form->addRow(m_useFile, fileRow);
    m_result->setWordWrap(true);
    m_result->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(m_result);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    QPushButton *test = buttons->addButton(tr("Test connection"), QDialogButtonBox::ActionRole);
    connect(test, &QPushButton::clicked, this, &GatewayDialog::testConnection);
    connect(buttons, &QDialogButtonBox::accepted, this, &GatewayDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &GatewayDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);

    connect(m_useToken, &QRadioButton::toggled, this, &GatewayDialog::updateTokenMode);
    if (existing) {
        m_existing = *existing;
        m_editing = true;
        m_name->setText(existing->name);
        m_url->setText(existing->adminUrl.toString());
        m_tokenFile->setText(existing->tokenFile);
        if (!existing->token.isEmpty())
            m_token->setPlaceholderText(tr("stored (type to replace)"));
    }
    const bool fileMode = existing ? existing->token.isEmpty() : false;
    m_useFile->setChecked(fileMode);
    m_useToken->setChecked(!fileMode);
    updateTokenMode();
    setMinimumWidth(520);
}

void GatewayDialog::updateTokenMode()
{
    m_token->setEnabled(m_useToken->isChecked());
    m_tokenFile->setEnabled(m_useFile->isChecked());
    m_browse->setEnabled(m_useFile->isChecked());
}

GatewayAddress GatewayDialog::address() const
{
    GatewayAddress a;
    a.name = m_name->text().trimmed();
    a.adminUrl = QUrl(m_url->text().trimmed());
    if (m_useToken->isChecked()) {
        a.token = m_token->text().trimmed();
        if (a.token.isEmpty() && m_editing)
            a.token = m_existing.token;
    } else {
        a.tokenFile = m_tokenFile->text().trimmed();
    }
    return a;
}

bool GatewayDialog::validate(QString *error) const
{
    const GatewayAddress a = address();
    if (!GatewayAddress::validUrl(a.adminUrl, error))
        return false;
    if (m_useToken->isChecked() && a.token.isEmpty()) {
        *error = tr("Paste the gateway's token, or choose its token file.");
        return false;
    }
    if (m_useFile->isChecked() && a.tokenFile.isEmpty()) {
        *error = tr("Name the token file, or paste the token.");
        return false;
    }
    return true;
}

void GatewayDialog::accept()
{
    QString error;
    if (!validate(&error)) {
        m_result->setText(QStringLiteral("<span style='color:#c02525'>%1</span>").arg(error.toHtmlEscaped()));
        return;
    }
    QDialog::accept();
}

void GatewayDialog::testConnection()
{
    QString error;
    if (!validate(&error)) {
        m_result->setText(QStringLiteral("<span style='color:#c02525'>%1</span>").arg(error.toHtmlEscaped()));
        return;
    }
    m_result->setText(tr("Connecting…"));
    m_client->setAddress(address());
    QPointer<QLabel> result(m_result);
    m_client->get(QStringLiteral("/v1/status"), [result](const AdminClient::Reply &reply) {
        if (!result)
            return;
        QString parseError;
        std::optional<GatewayStatus> status;
        if (!reply.error.isError())
            status = GatewayStatus::fromJson(reply.json, &parseError);
        if (status)
            result->setText(QStringLiteral("<span style='color:#1e8449'>%1</span>")
                                .arg(tr("Connected: holdfastd %1, %2, live revision %3")
                                         .arg(status->version, StatusFacts::describe(status->state))
                                         .arg(StatusFacts::revisionText(status->live.revision))
                                         .toHtmlEscaped()));
        else
            result->setText(
                QStringLiteral("<span style='color:#c02525'>%1</span>")
                    .arg((reply.error.isError() ? reply.error.toString() : parseError).toHtmlEscaped()));
    });
}
