#!/usr/bin/env bash
# The Windows proof under Wine: installs the MSI that scripts/windows/build.sh made into a fresh Wine
# prefix and checks, one line each, that the service runs and serves, persists, drains, upgrades and
# uninstalls as on Windows; runs the Windows builds of the store suites; screenshots the console.
# Everything listens on 127.0.0.1 only: etcd and the upstream on Linux, holdfastd.exe under Wine.
# Ends with "N passed, M failed"; exits 1 on any failure.
# Usage: scripts/windows/check.sh [WINDOWS_BUILD_DIR] [--keep]
#   WINDOWS_BUILD_DIR  default build-windows (scripts/windows/build.sh)
#   --keep             leave the Wine prefix and logs in place (their path is printed)
# Environment: HOLDFAST_LINUX_BUILD (default build/): where holdfast_test_upstream is built;
#              HOLDFAST_SCREENSHOT (default docs/screenshots/console-windows.png).
# Not run by CI (.ci/run): a cold run first builds Qt for MinGW (build-qt.sh: ~25 min on idle cores, hours
# on a busy 2-core machine), then the cross build, then ~4 min of Wine: not well inside CI's 90 minutes.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$root/build-windows"
keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        *) build="$(cd "$arg" && pwd)" ;;
    esac
done
linux_build="${HOLDFAST_LINUX_BUILD:-$root/build}"
screenshot="${HOLDFAST_SCREENSHOT:-$root/docs/screenshots/console-windows.png}"

for tool in wine wineserver wineboot winepath etcd etcdctl curl python3 Xvfb import xdotool; do
    command -v "$tool" >/dev/null || { echo "check.sh: $tool is missing (scripts/install-deps.sh --windows)" >&2; exit 2; }
done
msi="$(ls "$build"/holdfast-*-x64.msi 2>/dev/null | head -n1)"
[[ -f "$msi" ]] || { echo "check.sh: no MSI in $build: run scripts/windows/build.sh first" >&2; exit 2; }
upstream_bin="$linux_build/tests/support/holdfast_test_upstream"
if [[ ! -x "$upstream_bin" ]]; then
    cmake --build "$linux_build" --target holdfast_test_upstream >/dev/null 2>&1 ||
        { echo "check.sh: no $upstream_bin: run scripts/build.sh first" >&2; exit 2; }
fi

tmp="$(mktemp -d /tmp/holdfast-wine.XXXXXX)"
export WINEPREFIX="$tmp/prefix" WINEARCH=win64
# No Mono or Gecko download prompts; the event log's trace is how events are seen under Wine.
export WINEDLLOVERRIDES="mscoree=;mshtml="
export WINEDEBUG="-all,+eventlog"
pids=()
display=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    wineserver -k >/dev/null 2>&1
    wait 2>/dev/null
    if [[ $keep -eq 1 ]]; then echo "kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...: pass when COMMAND succeeds; its output is shown on failure
    local name="$1"; shift
    "$@" >"$tmp/check.log" 2>&1
    local code=$?
    if [[ $code -eq 0 ]]; then pass "$name"; else fail "$name" "exit $code"; sed 's/^/     /' "$tmp/check.log" | tail -n 12; fi
}
eventually() { # eventually SECONDS COMMAND...: COMMAND succeeds within SECONDS
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do [[ $SECONDS -ge $deadline ]] && return 1; sleep 0.5; done
}
free_ports() {
    python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
w() { timeout 180 wine "$@"; }

read -r etcd_port etcd_peer proxy_port admin_port <<<"$(free_ports 4)"
program_files="$WINEPREFIX/drive_c/Program Files/Holdfast"
program_data="$WINEPREFIX/drive_c/ProgramData/Holdfast"
data="$program_data/data"
etcd_url="http://127.0.0.1:$etcd_port"
ctl() { ETCDCTL_API=3 etcdctl --endpoints "$etcd_url" "$@"; }

# --- Linux side: etcd and the upstream, loopback only
etcd --name wine-proof --data-dir "$tmp/etcd" --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "wine-proof=http://127.0.0.1:$etcd_peer" --log-level warn >"$tmp/etcd.log" 2>&1 &
pids+=($!)
"$upstream_bin" --port 0 --name linux-upstream >"$tmp/upstream.out" 2>&1 &
pids+=($!)
eventually 20 ctl endpoint health >/dev/null 2>&1 || { echo "check.sh: etcd did not start"; cat "$tmp/etcd.log"; exit 1; }
eventually 10 grep -q '^READY' "$tmp/upstream.out" || { echo "check.sh: upstream did not start"; exit 1; }
upstream_port="$(awk '/^READY/ {print $2}' "$tmp/upstream.out")"
ctl put /apisix/upstreams/linux "{\"type\":\"roundrobin\",\"nodes\":{\"127.0.0.1:$upstream_port\":1}}" >/dev/null
ctl put /apisix/routes/hello '{"uri":"/hello","upstream_id":"linux"}' >/dev/null
ctl put /apisix/routes/delay '{"uri":"/delay/*","upstream_id":"linux"}' >/dev/null

# --- a fresh Wine prefix with a display for the console, and a wineserver that outlives each command
for n in $(seq 90 120); do
    if [[ ! -e /tmp/.X11-unix/X$n && ! -e /tmp/.X$n-lock ]]; then
        Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
        pids+=($!)
        display=":$n"
        break
    fi
done
export DISPLAY="$display"
mkdir -p "$WINEPREFIX"
wineserver -p
started=$SECONDS
timeout 300 wineboot -i >"$tmp/wineboot.log" 2>&1
# Wine gives a starting service 10 s to connect to the SCM (Windows: 30 s); a first start of a Qt program
# on a busy machine can take longer. The services restart to read it. Services inherit wineboot's
# stderr: that is where the event log's trace lands.
wine reg add 'HKLM\System\CurrentControlSet\Control' /v ServicesPipeTimeout /t REG_DWORD /d 120000 /f >/dev/null 2>&1
wineserver -k
wineserver -p
timeout 300 wineboot >>"$tmp/wineboot.log" 2>&1
echo "     Wine prefix $WINEPREFIX ready in $((SECONDS - started)) s"

# The settings the service will read, written before the install: the MSI must not overwrite them.
mkdir -p "$program_data"
cat >"$program_data/holdfastd.json" <<JSON
{
  "listen": [ { "address": "127.0.0.1", "port": $proxy_port } ],
  "workers": 2,
  "data_dir": "C:/ProgramData/Holdfast/data",
  "admin": { "address": "127.0.0.1", "port": $admin_port },
  "control_plane": { "type": "etcd", "endpoints": ["$etcd_url"], "prefix": "/apisix" },
  "startup": { "wait_for_control_plane_ms": 3000 }
}
JSON
settings_sum="$(sha256sum <"$program_data/holdfastd.json")"

# SCM's STOPPED comes before the process has exited; msiexec replacing or removing holdfastd.exe while
# it still runs moves the file aside for a reboot (exit 3010) and leaves it installed. Only processes of
# this Wine prefix count (another proof may be running beside this one).
service_process_gone() {
    local pid
    for pid in $(pgrep -f 'holdfastd\.exe'); do
        { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qx "WINEPREFIX=$WINEPREFIX" && return 1
    done
    return 0
}
stopped_and_gone() { is_state STOPPED && eventually 30 service_process_gone; }
sc_state() { w sc query holdfastd 2>/dev/null | tr -d '\r' | awk '/STATE/ {print $4}'; }
is_state() { [[ "$(sc_state)" == "$1" ]]; }
token() { cat "$data/admin.token" 2>/dev/null; }
status() { curl -fsS -H "Authorization: Bearer $(token)" "http://127.0.0.1:$admin_port/v1/status"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
state_is() { [[ "$(status 2>/dev/null | json 'd["state"]' 2>/dev/null)" == "$1" ]]; }

# --- install
check "msiexec /i $(basename "$msi") /qn" w msiexec /i "$(winepath -w "$msi")" /qn
check "files installed under Program Files" test -f "$program_files/holdfastd.exe" -a -f "$program_files/Qt6Network.dll" \
    -a -f "$program_files/tls/qschannelbackend.dll"
shortcut="Holdfast Console.lnk"
if [[ -f "$build/stage/holdfast-console.exe" ]]; then
    check "console installed with Qt Gui, Widgets and the qwindows plugin" test \
        -f "$program_files/holdfast-console.exe" -a -f "$program_files/Qt6Widgets.dll" \
        -a -f "$program_files/platforms/qwindows.dll"
else
    shortcut="Holdfast Command Prompt.lnk"
fi
check "Start menu: $shortcut" bash -c '[[ -n "$(find "$1" -name "$2" | head -n1)" ]]' _ "$WINEPREFIX/drive_c" "$shortcut"
check "existing settings kept by the install (NeverOverwrite)" bash -c '[[ "$(sha256sum <"$1")" == "$2" ]]' _ \
    "$program_data/holdfastd.json" "$settings_sum"
check "sc query holdfastd: RUNNING" eventually 60 is_state RUNNING
check "data folder created by the service, admin token in it" eventually 20 test -s "$data/admin.token"
check "/v1/status answers" eventually 20 status
check "/v1/status: in_sync with the Linux etcd" eventually 30 state_is in_sync
check "Linux -> Windows gateway -> Linux upstream: GET /hello" bash -c \
    'curl -fsS "http://127.0.0.1:$1/hello" | grep -q "\"name\": *\"linux-upstream\""' _ "$proxy_port"
check "/readyz 200" curl -fsS -o /dev/null "http://127.0.0.1:$admin_port/readyz"

# --- a change in etcd is applied and persisted by the service (QSaveFile, MoveFileExW over the last one)
revision="$(ctl put /apisix/routes/second '{"uri":"/second","upstream_id":"linux"}' -w json | json 'd["header"]["revision"]')"
persisted_has_second() {
    python3 - "$data/config.json" "$revision" <<'PY'
import json, sys
envelope = json.load(open(sys.argv[1]))
sys.exit(0 if envelope["revision"] >= int(sys.argv[2]) and "second" in envelope["config"]["routes"] else 1)
PY
}
check "etcd change served: GET /second" eventually 10 curl -fsS -o /dev/null "http://127.0.0.1:$proxy_port/second"
check "change persisted to config.json (revision $revision)" eventually 10 persisted_has_second
check "previous generation kept as config.prev.json" test -s "$data/config.prev.json"
check "/v1/status persisted.revision = $revision" bash -c \
    '[[ "$(curl -fsS -H "Authorization: Bearer $1" "http://127.0.0.1:$2/v1/status" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"persisted\"][\"revision\"])")" == "$3" ]]' \
    _ "$(token)" "$admin_port" "$revision"
check "event log: service start and state changes reported" grep -q 'holdfastd service starting' "$tmp/wineboot.log"

# --- the console, under Wine on Xvfb, pointed at the Windows gateway
# The window is there when X knows it by its title. It is drawn once its part of the screen holds more
# than a hundred colours (text, icons, the selection); an empty or half-drawn window has a few dozen.
# (The picture never stands still: the console counts seconds since the last status.) The saved picture
# is the one to look at: connected, the gateway's row reads "in sync".
console_window() { xdotool search --onlyvisible --name '^Holdfast Console$' >/dev/null 2>&1; }
window_drawn() {
    local geometry WIDTH HEIGHT X Y
    geometry="$(xdotool search --onlyvisible --name '^Holdfast Console$' getwindowgeometry --shell | head -n 5)"
    eval "$geometry"
    import -display "$display" -window root "$tmp/shot.ppm" 2>/dev/null &&
        convert "$tmp/shot.ppm" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage -strip "$tmp/shot.png" &&
        (($(convert "$tmp/shot.png" -format %k info:) > 100))
}
take_screenshot() {
    eventually 30 window_drawn || return 1
    sleep 2 # the first status arrives after the first paint; nothing outside the window shows when
    window_drawn && cp "$tmp/shot.png" "$screenshot"
}
if [[ ! -f "$program_files/holdfast-console.exe" ]]; then
    echo "     (gateway-only MSI: no console to run)"
else
    (cd "$program_files" && wine holdfast-console.exe --connect "http://127.0.0.1:$admin_port" \
        --token-file "$(winepath -w "$data/admin.token")" >"$tmp/console.log" 2>&1) &
    pids+=($!)
    check "console under Wine: window 'Holdfast Console' shown" eventually 90 console_window
    mkdir -p "$(dirname "$screenshot")"
    check "console window rendered, screenshot $(basename "$screenshot")" take_screenshot
fi

# --- the Windows builds of the store suites
qt_bin="$(grep -m1 '^Qt6_DIR:' "$build/CMakeCache.txt" | sed 's/.*=//; s#/lib/cmake/Qt6##')/bin"
export WINEPATH="$(winepath -w "$build/stage");$(winepath -w "$qt_bin")"
for suite in tst_configstore tst_configsnapshot tst_canonicaljson tst_configvalidator tst_jsondiff tst_protowire; do
    exe="$(find "$build/tests" -name "$suite.exe" | head -n1)"
    if [[ -z "$exe" ]]; then fail "$suite.exe under Wine" "not built"; continue; fi
    # -o: a redirected stdout of a program under Wine comes back empty; QtTest writes the file itself.
    (cd "$(dirname "$exe")" && timeout 300 wine "$exe" -o "$(winepath -w "$tmp/$suite.log"),txt" >/dev/null 2>&1)
    code=$?
    totals="$(tr -d '\r' <"$tmp/$suite.log" | grep '^Totals' | tail -n1)"
    if [[ $code -eq 0 ]]; then pass "$suite.exe under Wine: $totals"; else
        fail "$suite.exe under Wine (exit $code)" "$totals"; tr -d '\r' <"$tmp/$suite.log" | grep -E '^FAIL|Loc:' | head -n 10 | sed 's/^/     /'; fi
done

# --- sc stop drains: a request in flight completes, then the service stops
curl -sS -o "$tmp/slow.out" -w '%{http_code}' "http://127.0.0.1:$proxy_port/delay/8000" >"$tmp/slow.code" 2>&1 &
slow=$!
sleep 0.5 # the request must be in flight before the stop; held 8 s, long enough for a slow `sc query`
w sc stop holdfastd >"$tmp/sc-stop.log" 2>&1
check "sc stop: STOP_PENDING while draining" eventually 7 is_state STOP_PENDING
wait "$slow"
check "request in flight during the stop answered 200" grep -qx 200 "$tmp/slow.code"
check "sc query holdfastd: STOPPED" eventually 40 is_state STOPPED
check "service exit code 0" bash -c 'wine sc query holdfastd | tr -d "\r" | grep -Eq "WIN32_EXIT_CODE +: 0 "' 
check "event log: stop reported" grep -q 'holdfastd service stopped (exit code 0)' "$tmp/wineboot.log"
check "nothing listens after the stop" bash -c '! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/hello"' _ "$proxy_port"

# --- start again from the local copy alone: etcd stopped, the service serves what it persisted
kill "${pids[0]}" 2>/dev/null; wait "${pids[0]}" 2>/dev/null
w sc start holdfastd >/dev/null 2>&1
check "restarted with etcd down: RUNNING" eventually 60 is_state RUNNING
check "serves the persisted copy: GET /second" eventually 20 curl -fsS -o /dev/null "http://127.0.0.1:$proxy_port/second"
check "/v1/status: offline_local from config.json" bash -c \
    'curl -fsS -H "Authorization: Bearer $1" "http://127.0.0.1:$2/v1/status" | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"state\"]==\"offline_local\" and d[\"persisted\"][\"file\"]==\"config.json\" else 1)"' \
    _ "$(token)" "$admin_port"

# --- a newer MSI upgrades in place and keeps ProgramData
token_sum="$(sha256sum <"$data/admin.token")"
config_sum="$(sha256sum <"$data/config.json")"
current="$(grep -m1 '^HOLDFAST_MSI_VERSION:' "$build/CMakeCache.txt" | sed 's/.*=//')"
next="$(awk -F. '{printf "%d.%d.%d", $1, $2, $3 + 1}' <<<"$current")"
if cmake -B "$build" -DHOLDFAST_MSI_VERSION="$next" >/dev/null && cmake --build "$build" --target msi >"$tmp/msi-next.log" 2>&1; then
    newer="$build/holdfast-$next-x64.msi"
    cmake -B "$build" -DHOLDFAST_MSI_VERSION="$current" >/dev/null
    # Wine's msiexec does not wait for a service to stop before replacing it (Windows does, Wait="yes"):
    # stop it first so the upgrade does not race the drain.
    w sc stop holdfastd >/dev/null 2>&1
    eventually 40 stopped_and_gone
    check "msiexec /i $(basename "$newer") /qn (upgrade $current -> $next)" w msiexec /i "$(winepath -w "$newer")" /qn
    check "one Holdfast product registered, version $next" bash -c '
        out="$(wine reg query "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall" /s 2>/dev/null | tr -d "\r")"
        [[ $(grep -c "DisplayName.*REG_SZ.*Holdfast$" <<<"$out") -eq 1 ]] && grep -q "DisplayVersion.*REG_SZ.*$1" <<<"$out"' _ "$next"
    check "service RUNNING after the upgrade" eventually 60 is_state RUNNING
    check "upgrade kept the settings" bash -c '[[ "$(sha256sum <"$1")" == "$2" ]]' _ "$program_data/holdfastd.json" "$settings_sum"
    check "upgrade kept the admin token" bash -c '[[ "$(sha256sum <"$1")" == "$2" ]]' _ "$data/admin.token" "$token_sum"
    check "upgrade kept the persisted configuration" bash -c '[[ "$(sha256sum <"$1")" == "$2" ]]' _ "$data/config.json" "$config_sum"
    check "serves after the upgrade: GET /second" eventually 20 curl -fsS -o /dev/null "http://127.0.0.1:$proxy_port/second"
else
    cmake -B "$build" -DHOLDFAST_MSI_VERSION="$current" >/dev/null
    fail "newer MSI built" "$(tail -n 5 "$tmp/msi-next.log")"
    newer="$msi"
fi

# --- msiexec /x removes the program and the service, keeps ProgramData
# As for the upgrade: Wine's msiexec would remove the files while the service still drains.
w sc stop holdfastd >/dev/null 2>&1
eventually 40 stopped_and_gone
check "msiexec /x /qn" w msiexec /x "$(winepath -w "$newer")" /qn
check "service removed (sc query fails)" eventually 40 bash -c '! wine sc query holdfastd >/dev/null 2>&1'
check "program files removed" test ! -e "$program_files/holdfastd.exe"
check "ProgramData kept: settings, token, config.json" test -s "$program_data/holdfastd.json" -a -s "$data/admin.token" -a -s "$data/config.json"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
