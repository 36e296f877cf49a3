// Start holdfast-console at login: an XDG autostart entry (autostart_xdg.cpp) or the Windows Run key
// (autostart_win.cpp); CMake builds the one for the platform.
#pragma once

#include <QString>

class Autostart
{
public:
    static bool isEnabled();
    // `program` is the console's path; false with *error when the entry cannot be written or removed.
    static bool setEnabled(bool enabled, const QString &program, QString *error);
};
