#!/usr/bin/env bash
# The Windows service layer and the MSI under Wine, without Qt: builds tests/windows/service_probe.cpp
# (holdfastd's WinService, WinEventLog and WinDataDir with a stand-in for the gateway) with MinGW, stages
# it as holdfastd.exe in a gateway-only MSI built from installer/holdfast.wxs exactly as the `msi` target
# does, and checks in a fresh Wine prefix: install, START_PENDING with progress, RUNNING, the event log,
# the data folder's ACL, STOP_PENDING with progress, STOPPED with exit code 0, an upgrade that keeps
# ProgramData, and the removal. scripts/windows/check.sh proves the real holdfastd.exe (it needs Qt).
# Files the probe does not need (Qt DLLs, TLS plugin) are staged as empty placeholders: the MSI lists
# them, nothing loads them. One line per check, then "N passed, M failed"; exit 1 on any failure.
# Usage: scripts/windows/check-service.sh [--keep]
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
keep=0
[[ "${1:-}" == "--keep" ]] && keep=1
for tool in wine wineserver wineboot winepath wixl msibuild x86_64-w64-mingw32-g++-posix x86_64-w64-mingw32-windmc; do
    command -v "$tool" >/dev/null || { echo "check-service.sh: $tool is missing (scripts/install-deps.sh --windows)" >&2; exit 2; }
done

tmp="$(mktemp -d /tmp/holdfast-wine-service.XXXXXX)"
export WINEPREFIX="$tmp/prefix" WINEARCH=win64 WINEDLLOVERRIDES="mscoree=;mshtml=" WINEDEBUG="-all,+eventlog"
cleanup() {
    wineserver -k >/dev/null 2>&1
    if [[ $keep -eq 1 ]]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
check() {
    local name="$1"; shift
    if "$@" >"$tmp/check.log" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/     /' "$tmp/check.log" | tail -n 12; fi
}
eventually() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [[ $SECONDS -ge $deadline ]] && return 1; sleep 0.3; done
}
w() { timeout 180 wine "$@"; }
query() { w sc query holdfastd 2>/dev/null | tr -d '\r'; }
is_state() { [[ "$(query | awk '/STATE/ {print $4}')" == "$1" ]]; }
# A pending state whose check point has advanced past $2: the progress timer runs.
pending_with_progress() {
    local q; q="$(query)"
    [[ "$(awk '/STATE/ {print $4}' <<<"$q")" == "$1" ]] && (( $(awk '/CHECKPOINT/ {print $3}' <<<"$q") >= $2 ))
}

# --- build the probe and two MSIs (version and version + 1)
host="$root/service/host"
mkdir -p "$tmp/build" "$tmp/stage/tls"
(cd "$tmp/build" && x86_64-w64-mingw32-windmc -r . -h . "$host/holdfastd.mc" &&
    x86_64-w64-mingw32-windres holdfastd.rc -O coff -o messages.o) || { echo "windmc/windres failed"; exit 1; }
x86_64-w64-mingw32-g++-posix -std=c++17 -O1 -Wall -Wextra -Werror -I"$host" "$root/tests/windows/service_probe.cpp" \
    "$host/winservice.cpp" "$host/wineventlog.cpp" "$host/windatadir.cpp" "$tmp/build/messages.o" \
    -static -o "$tmp/stage/holdfastd.exe" -ladvapi32 || { echo "building service_probe failed"; exit 1; }
for dll in libstdc++-6.dll libgcc_s_seh-1.dll libwinpthread-1.dll; do
    cp "$(x86_64-w64-mingw32-g++-posix -print-file-name=$dll)" "$tmp/stage/"
done
: >"$tmp/stage/Qt6Core.dll"; : >"$tmp/stage/Qt6Network.dll"; : >"$tmp/stage/tls/qschannelbackend.dll"
cp "$root/installer/holdfastd-windows.json" "$tmp/stage/holdfastd.json"
cp "$root/icons/holdfast.ico" "$tmp/holdfast.ico"
version="$(sed -n 's/^project(Holdfast VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
next="$(awk -F. '{printf "%d.%d.%d", $1, $2, $3 + 1}' <<<"$version")"
for v in "$version" "$next"; do
    (cd "$tmp" && wixl -a x64 -D Version="$v" -D StageDir=stage -D IconFile=holdfast.ico -o "holdfast-$v-x64.msi" \
        "$root/installer/holdfast.wxs" 2>"$tmp/wixl.log" &&
        msibuild "holdfast-$v-x64.msi" -q "UPDATE \`Component\` SET \`Attributes\` = 400 WHERE \`Component\` = 'Settings'") ||
        { echo "wixl failed"; cat "$tmp/wixl.log"; exit 1; }
done

# --- a fresh prefix, a persistent wineserver, a service start timeout as long as Windows' (30 s) or more
mkdir -p "$WINEPREFIX"
wineserver -p
timeout 300 wineboot -i >"$tmp/wine.log" 2>&1
wine reg add 'HKLM\System\CurrentControlSet\Control' /v ServicesPipeTimeout /t REG_DWORD /d 120000 /f >/dev/null 2>&1
wineserver -k
wineserver -p
timeout 300 wineboot >>"$tmp/wine.log" 2>&1
program_data="$WINEPREFIX/drive_c/ProgramData/Holdfast"
program_files="$WINEPREFIX/drive_c/Program Files/Holdfast"

# --- install; the service starts
w msiexec /i "$(winepath -w "$tmp/holdfast-$version-x64.msi")" /qn >"$tmp/msiexec.log" 2>&1 &
installer=$!
check "START_PENDING, check point advancing while it starts" eventually 60 pending_with_progress START_PENDING 2
wait "$installer"
code=$?
[[ $code -eq 0 ]] && pass "msiexec /i holdfast-$version-x64.msi /qn" || fail "msiexec /i holdfast-$version-x64.msi /qn" "exit $code"
check "RUNNING" eventually 30 is_state RUNNING
check "service configured: auto start, LocalSystem, --config under ProgramData" bash -c '
    out="$(wine reg query "HKLM\\System\\CurrentControlSet\\Services\\holdfastd" 2>/dev/null | tr -d "\r")"
    grep -Eq "Start +REG_DWORD +0x2$" <<<"$out" && grep -Eq "ObjectName +REG_SZ +LocalSystem$" <<<"$out" &&
    grep -qF -- "--config \"C:\\ProgramData\\Holdfast\\holdfastd.json\"" <<<"$out"'
check "default settings installed under ProgramData" test -s "$program_data/holdfastd.json"
# Wine reports a DACL made from the Unix permission bits, not the one set: the ACL itself needs Windows.
check "data folder created through WinDataDir by the service" test -f "$program_data/data/acl.txt"
echo "     DACL as Wine reports it: $(tr -d '\r' <"$program_data/data/acl.txt" 2>/dev/null)"
check "event log source registered with holdfastd.exe as its message file" bash -c '
    wine reg query "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\holdfastd" /v EventMessageFile 2>/dev/null |
        tr -d "\r" | grep -q "Program Files\\\\Holdfast\\\\holdfastd.exe"'
check "event log: start reported" grep -q 'service_probe: running' "$tmp/wine.log"
check "Start menu: Holdfast Command Prompt" bash -c '[[ -n "$(find "$1" -name "Holdfast Command Prompt.lnk")" ]]' _ "$WINEPREFIX/drive_c"

# --- stop: pending with progress while draining, then stopped with exit code 0
echo '{"edited": "by the operator"}' >"$program_data/holdfastd.json"
echo "persisted" >"$program_data/data/config.json"
w sc stop holdfastd >"$tmp/stop.log" 2>&1
check "sc stop: STOP_PENDING, check point advancing while draining" eventually 10 pending_with_progress STOP_PENDING 2
check "STOPPED" eventually 30 is_state STOPPED
check "exit code 0" bash -c 'wine sc query holdfastd | tr -d "\r" | grep -Eq "WIN32_EXIT_CODE +: 0 "'
check "event log: drain reported" grep -q 'service_probe: stopping: draining' "$tmp/wine.log"
w sc start holdfastd >/dev/null 2>&1
check "sc start: RUNNING again" eventually 60 is_state RUNNING

# --- a newer MSI replaces the older one and keeps ProgramData
# Wine's msiexec does not wait for a service to stop before replacing it (Windows does, with Wait="yes"):
# stop it first so the upgrade does not race the drain.
w sc stop holdfastd >/dev/null 2>&1
eventually 30 is_state STOPPED
check "msiexec /i holdfast-$next-x64.msi /qn (upgrade)" w msiexec /i "$(winepath -w "$tmp/holdfast-$next-x64.msi")" /qn
check "one Holdfast product registered, version $next" bash -c '
    out="$(wine reg query "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall" /s 2>/dev/null | tr -d "\r")"
    [[ $(grep -c "DisplayName.*REG_SZ.*Holdfast$" <<<"$out") -eq 1 ]] && grep -q "DisplayVersion.*REG_SZ.*$1" <<<"$out"' _ "$next"
check "RUNNING after the upgrade" eventually 60 is_state RUNNING
check "upgrade kept the edited settings" grep -q 'by the operator' "$program_data/holdfastd.json"
check "upgrade kept the data folder" grep -q persisted "$program_data/data/config.json"

# --- removal: the service and the program go, ProgramData stays
# As for the upgrade: Wine's msiexec would remove the files while the service still drains.
w sc stop holdfastd >/dev/null 2>&1
eventually 40 is_state STOPPED
check "msiexec /x /qn" w msiexec /x "$(winepath -w "$tmp/holdfast-$next-x64.msi")" /qn
check "service removed" eventually 40 bash -c '! wine sc query holdfastd >/dev/null 2>&1'
check "program removed" eventually 10 test ! -e "$program_files/holdfastd.exe"
check "ProgramData kept: settings and data" test -s "$program_data/holdfastd.json" -a -s "$program_data/data/config.json"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
