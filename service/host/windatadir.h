// The data folder's ACL on Windows, in plain Win32 (no Qt) so CI compiles it with MinGW and the Wine
// proof's service probe runs it without Qt.
#pragma once

#include <string>

namespace WinDataDir {

// Creates `path` (its parent must exist) readable and writable by SYSTEM and the Administrators only,
// not inheriting from ProgramData (where Users may read); `extraSid` (a user's SID in SDDL form, may be
// empty) is added for a gateway run from a console. OI/CI: the files inside inherit the same. An
// existing folder keeps its ACL unless `resetExisting`, then it and the files in it get this one.
// False with *error (the Win32 reason) on failure.
bool create(const std::wstring &path, const std::wstring &extraSid, bool resetExisting, std::wstring *error);

// The DACL of `path` in SDDL form, empty when it cannot be read.
std::wstring daclOf(const std::wstring &path);

// The SID of the account this process runs as, in SDDL form, empty when it cannot be read.
std::wstring currentUserSid();

} // namespace WinDataDir
