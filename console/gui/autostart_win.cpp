#include "autostart.h"

#include <QDir>
#include <QSettings>

namespace {

const QString RunKey = QStringLiteral("HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run");
const QString ValueName = QStringLiteral("Holdfast Console");

} // namespace

bool Autostart::isEnabled()
{
    QSettings run(RunKey, QSettings::NativeFormat);
    return run.contains(ValueName);
}

bool Autostart::setEnabled(bool enabled, const QString &program, QString *error)
{
    QSettings run(RunKey, QSettings::NativeFormat);
    if (enabled)
        run.setValue(ValueName, QStringLiteral("\"%1\" --minimized").arg(QDir::toNativeSeparators(program)));
    else
        run.remove(ValueName);
    run.sync();
    if (run.status() != QSettings::NoError) {
        *error = QStringLiteral("%1\\%2: cannot be written").arg(RunKey, ValueName);
        return false;
    }
    return true;
}
