#!/usr/bin/env bash
# Builds the .deb packages with cpack, checks what each carries and needs, installs `holdfast` with dpkg,
# checks the settings file's owner and mode and the unit (systemd-analyze verify), then runs the installed
# /usr/bin/holdfastd as the package's user on the demo routes in front of a real upstream, on free loopback
# ports, with a notify socket: READY=1 and watchdog pings arrive, requests are proxied, SIGTERM stops it.
# Removes the package (purge) whatever happens. One line per check; exit 1 on any failure, 77 to skip.
# Usage: deb_package_test.sh BUILD_DIR SOURCE_DIR TEST_UPSTREAM
set -uo pipefail
build="$1" source="$2" upstream_bin="$3"

if [[ $(id -u) -ne 0 ]]; then echo "SKIP: dpkg -i needs root"; exit 77; fi
if dpkg-query -W -f='${Status}' holdfast 2>/dev/null | grep -q "install ok installed"; then
    echo "SKIP: a holdfast package is already installed on this machine; not replacing it"; exit 77
fi

tmp="$(mktemp -d /tmp/holdfast-deb.XXXXXX)"
chmod 755 "$tmp"
pids=()
installed=0
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    if [[ $installed -eq 1 ]]; then
        dpkg --purge holdfast >/dev/null 2>&1 || echo "cleanup: dpkg --purge holdfast failed"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
check() { # check NAME COMMAND...
    local name="$1"; shift
    if "$@" >"$tmp/check.log" 2>&1; then
        echo "PASS $name"; passed=$((passed + 1))
    else
        echo "FAIL $name"; sed 's/^/     /' "$tmp/check.log" | tail -n 15; failed=$((failed + 1))
    fi
}
finish() { echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit $?; }

# --- the packages
if ! (cd "$tmp" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/pkgs" >"$tmp/cpack.log" 2>&1); then
    echo "FAIL cpack -G DEB"; tail -n 20 "$tmp/cpack.log"; failed=1; finish
fi
gateway_deb="$(ls "$tmp"/pkgs/holdfast_*.deb 2>/dev/null | head -n1)"
console_deb="$(ls "$tmp"/pkgs/holdfast-console_*.deb 2>/dev/null | head -n1)"
check "cpack builds holdfast and holdfast-console" test -f "$gateway_deb" -a -f "$console_deb"
depends="$(dpkg-deb -f "$gateway_deb" Depends 2>/dev/null)"
echo "     holdfast Depends: $depends"
check "holdfast needs Qt Core and Network" grep -q 'libqt6network6' <<<"$depends"
check "holdfast needs no Qt Gui/Widgets, no X" bash -c '! grep -Eq "libqt6(gui|widgets)|libx11|libgl" <<<"$1"' _ "$depends"
check "holdfast carries holdfastd, the unit and the settings, not the console" bash -c '
    c="$(dpkg-deb -c "$1")"
    grep -q "./usr/bin/holdfastd$" <<<"$c" && grep -q "lib/systemd/system/holdfastd.service$" <<<"$c" &&
    grep -q "./etc/holdfast/holdfastd.json$" <<<"$c" && ! grep -q "holdfast-console" <<<"$c"' _ "$gateway_deb"
check "holdfast-console carries the console" bash -c 'dpkg-deb -c "$1" | grep -q "./usr/bin/holdfast-console$"' _ "$console_deb"
check "settings are a conffile" bash -c 'dpkg-deb -I "$1" conffiles | grep -qx "/etc/holdfast/holdfastd.json"' _ "$gateway_deb"

# --- installed on this machine
if ! DEBIAN_FRONTEND=noninteractive dpkg -i "$gateway_deb" >"$tmp/dpkg.log" 2>&1; then
    echo "FAIL dpkg -i holdfast"; tail -n 20 "$tmp/dpkg.log"; failed=$((failed + 1))
    dpkg -s holdfast >/dev/null 2>&1 && installed=1
    finish
fi
installed=1
echo "PASS dpkg -i holdfast"; passed=$((passed + 1))
check "service user and group exist" bash -c 'getent passwd holdfast && getent group holdfast'
check "settings 0640 root:holdfast" bash -c '[[ "$(stat -c "%a %U %G" /etc/holdfast/holdfastd.json)" == "640 root holdfast" ]]'
check "the service user reads the settings" runuser -u holdfast -- cat /etc/holdfast/holdfastd.json
check "other users do not" bash -c '! runuser -u nobody -- cat /etc/holdfast/holdfastd.json'
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify holdfastd.service" systemd-analyze verify /lib/systemd/system/holdfastd.service
else
    echo "     systemd-analyze not installed: unit not verified"
fi
check "unit has a watchdog" grep -qx 'WatchdogSec=30s' /lib/systemd/system/holdfastd.service

# --- the installed holdfastd serves the demo routes, as the package's user, on free loopback ports
free_ports="$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')"
read -r proxy_port admin_port <<<"$free_ports"
"$upstream_bin" --port 0 --name deb-upstream >"$tmp/upstream.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^READY' "$tmp/upstream.out" && break; sleep 0.1; done
upstream_port="$(awk '/^READY/ {print $2}' "$tmp/upstream.out")"
python3 - "$source/demo/routes.json" "$tmp/routes.json" "$upstream_port" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
for upstream in config["upstreams"].values():
    upstream["nodes"] = {"127.0.0.1:%s" % sys.argv[3]: 1}
json.dump(config, open(sys.argv[2], "w"))
PY
cat >"$tmp/settings.json" <<JSON
{ "listen": [ { "address": "127.0.0.1", "port": $proxy_port } ], "workers": 2,
  "data_dir": "$tmp/data/gateway", "admin": { "address": "127.0.0.1", "port": $admin_port } }
JSON
mkdir -m 0700 "$tmp/data" && chown holdfast:holdfast "$tmp/data"
chmod 644 "$tmp/routes.json" "$tmp/settings.json"
# systemd's side of sd_notify: a datagram socket that records what arrives.
python3 - "$tmp/notify.sock" "$tmp/notify.log" <<'PY' &
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode() + "\n")
PY
pids+=($!)
for _ in $(seq 50); do [[ -S "$tmp/notify.sock" ]] && break; sleep 0.1; done
# setpriv execs (runuser would stay in between as the parent and answer SIGTERM itself).
setpriv --reuid holdfast --regid holdfast --init-groups env NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=400000 \
    /usr/bin/holdfastd --config "$tmp/settings.json" --standalone "$tmp/routes.json" >"$tmp/gateway.log" 2>&1 &
gateway=$!
pids+=($gateway)
ready() { curl -fsS -o /dev/null "http://127.0.0.1:$admin_port/readyz" 2>/dev/null; }
for _ in $(seq 100); do ready && break; sleep 0.1; done
check "installed holdfastd is ready" ready
check "sd_notify READY=1 received" grep -qx 'READY=1' "$tmp/notify.log"
check "watchdog pings arrive" bash -c 'for _ in $(seq 30); do [[ $(grep -cx WATCHDOG=1 "$1") -ge 2 ]] && exit 0; sleep 0.1; done; exit 1' _ "$tmp/notify.log"
check "GET /hello reaches the upstream" bash -c 'curl -fsS "http://127.0.0.1:$1/hello" | grep -q "\"name\": *\"deb-upstream\""' _ "$proxy_port"
check "GET /api/x reaches the upstream through the service" bash -c 'curl -fsS "http://127.0.0.1:$1/api/x" | grep -q "deb-upstream"' _ "$proxy_port"
check "data_dir created 0700, admin token in it 0600" bash -c '[[ "$(stat -c "%a %U" "$1")" == "700 holdfast" &&
    "$(stat -c "%a %U" "$1/admin.token")" == "600 holdfast" ]]' _ "$tmp/data/gateway"
kill -TERM "$gateway"
check "SIGTERM stops it with exit 0" wait "$gateway"
check "sd_notify STOPPING=1 received" grep -qx 'STOPPING=1' "$tmp/notify.log"
finish
