#!/usr/bin/env bash
# Takes the README's screenshots of holdfast-console: a real window on Xvfb watching live gateways (etcd,
# an upstream and three holdfastd, one with a hand-edited local copy, one whose etcd is gone, plus an
# address where nothing answers). Writes docs/screenshots/{fleet,diff,upstreams}.png.
# Usage: scripts/screenshots.sh [BUILD_DIR]      (builds first when the programs are missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out=$root/docs/screenshots
"$root/scripts/install-deps.sh"
if [[ ! -x $build/console/holdfast-console || ! -x $build/service/holdfastd ]]; then
    "$root/scripts/build.sh" "$build"
fi

work=$(mktemp -d /tmp/holdfast-screenshots.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
    local until=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < until)) || { echo "timed out: $*" >&2; return 1; }
        sleep 0.2
    done
}

start_etcd() { # start_etcd NAME: prints the client URL
    local name=$1 client peer
    client=$(free_port); peer=$(free_port)
    etcd --name "$name" --data-dir "$work/$name" --listen-client-urls "http://127.0.0.1:$client" \
        --advertise-client-urls "http://127.0.0.1:$client" --listen-peer-urls "http://127.0.0.1:$peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "$name=http://127.0.0.1:$peer" \
        >"$work/$name.log" 2>&1 &
    pids+=($!)
    echo "$!:http://127.0.0.1:$client"
}
put() { ETCDCTL_API=3 etcdctl --endpoints="$1" put "$2" "$3" >/dev/null; }

start_gateway() { # start_gateway NAME ETCD_URL: prints the admin port
    local name=$1 etcd=$2 proxy admin
    proxy=$(free_port); admin=$(free_port)
    mkdir -p "$work/$name"
    cat >"$work/$name.json" <<JSON
{ "listen": [ { "address": "127.0.0.1", "port": $proxy } ], "workers": 1, "data_dir": "$work/$name",
  "admin": { "address": "127.0.0.1", "port": $admin },
  "control_plane": { "endpoints": ["$etcd"], "prefix": "/apisix", "timeout_ms": 2000, "liveness_ms": 2000,
                     "backoff_initial_ms": 200, "backoff_max_ms": 2000 } }
JSON
    "$build/service/holdfastd" --config "$work/$name.json" >"$work/$name.log" 2>&1 &
    pids+=($!)
    wait_for 15 curl -sf "http://127.0.0.1:$admin/healthz"
    wait_for 15 grep -q '"state":"in_sync"' <(curl -s -H "Authorization: Bearer $(cat "$work/$name/admin.token")" \
        "http://127.0.0.1:$admin/v1/status")
    echo "$admin"
}

# A real upstream and a control plane with a few routes.
upstream=$(free_port)
"$build/tests/support/holdfast_test_upstream" --port "$upstream" --name demo-a >"$work/upstream.log" 2>&1 &
pids+=($!)
etcd_a=$(start_etcd etcd-a); etcd_a=${etcd_a#*:}
etcd_b=$(start_etcd etcd-b); etcd_b_pid=${etcd_b%%:*}; etcd_b=${etcd_b#*:}
wait_for 15 curl -sf "$etcd_a/health"
wait_for 15 curl -sf "$etcd_b/health"
for etcd in "$etcd_a" "$etcd_b"; do
    put "$etcd" /apisix/upstreams/1 "{\"type\":\"roundrobin\",\"nodes\":{\"127.0.0.1:$upstream\":1}}"
    put "$etcd" /apisix/upstreams/2 "{\"type\":\"least_conn\",\"nodes\":{\"127.0.0.1:$upstream\":2,\"127.0.0.1:$(free_port)\":1},\"checks\":{\"active\":{\"type\":\"tcp\",\"healthy\":{\"interval\":1,\"successes\":1},\"unhealthy\":{\"interval\":1,\"tcp_failures\":1}}}}"
    put "$etcd" /apisix/services/1 '{"upstream_id":"1"}'
    put "$etcd" /apisix/routes/1 '{"uri":"/hello","upstream_id":"1"}'
    put "$etcd" /apisix/routes/2 '{"uri":"/api/*","service_id":"1","methods":["GET","POST"]}'
    put "$etcd" /apisix/routes/3 '{"uri":"/orders/*","upstream_id":"2","priority":10}'
    put "$etcd" /apisix/routes/4 '{"uri":"/health","upstream_id":"1","name":"health"}'
done
edge1=$(start_gateway edge-1 "$etcd_a")
edge2=$(start_gateway edge-2 "$etcd_a")
edge3=$(start_gateway edge-3 "$etcd_b")
# An invalid object in etcd: edge-1 and edge-2 reject it (and say so) and keep serving the rest.
rejected_at=$(ETCDCTL_API=3 etcdctl --endpoints="$etcd_a" put -w json /apisix/routes/5 '{"uri":42,"upstream_id":"1"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])')
# The hand edit below must come after edge-2 wrote that revision, or its next save would replace it.
wait_for 10 python3 -c "import json, sys; sys.exit(json.load(open('$work/edge-2/config.json'))['revision'] < $rejected_at)"
# Some traffic through edge-2, so its upstream connections show.
edge2_proxy=$(python3 -c "import json; print(json.load(open('$work/edge-2.json'))['listen'][0]['port'])")
for _ in 1 2 3; do curl -s "127.0.0.1:$edge2_proxy/hello" >/dev/null || true; done

# edge-2: an operator edited its local copy by hand (one field changed, one route added, one gone).
python3 - "$work/edge-2/config.json" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
routes = doc["config"]["routes"]
routes["1"]["uri"] = "/hello-v2"
routes["9"] = {"id": "9", "uri": "/maintenance", "upstream_id": "1"}
del routes["4"]
json.dump(doc, open(path, "w"), indent=2)
PY
# edge-3: its etcd is gone; it serves from memory and keeps trying.
kill "$etcd_b_pid"
sleep 3

# The console's own settings: the fleet, edge-2 selected. The tokens stay in their files.
export XDG_CONFIG_HOME=$work/config HOME=$work
mkdir -p "$XDG_CONFIG_HOME/Holdfast"
gateway_entry() { # INDEX URL TOKEN_OWNER
    printf '%s\\id=edge-%s\n%s\\name=edge-%s\n%s\\url=%s\n%s\\token_file=%s\n' \
        "$1" "$1" "$1" "$1" "$1" "$2" "$1" "$work/$3/admin.token"
}
{
    echo '[gateways]'
    gateway_entry 1 "http://127.0.0.1:$edge1" edge-1
    gateway_entry 2 "http://127.0.0.1:$edge2" edge-2
    gateway_entry 3 "http://127.0.0.1:$edge3" edge-3
    gateway_entry 4 "http://127.0.0.1:$(free_port)" edge-1
    echo 'size=4'
    cat <<INI

[window]
selected=edge-2
tab=0
INI
} >"$XDG_CONFIG_HOME/Holdfast/holdfast-console.conf"

width=1180 height=760
display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 "${width}x${height}x24" -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
export DISPLAY=$display
wait_for 10 xdpyinfo
QT_QPA_PLATFORM=xcb "$build/console/holdfast-console" >"$work/console.log" 2>&1 &
pids+=($!)
wait_for 15 xdotool search --name "Holdfast Console"
window=$(xdotool search --name "Holdfast Console" | head -1)
xdotool windowsize "$window" "$width" "$height" windowmove "$window" 0 0
sleep 4 # the rows fill from the gateways' event streams; retries show their countdown

mkdir -p "$out"
shot() { import -window root "$out/$1.png"; echo "docs/screenshots/$1.png"; }
shot fleet
# Keys through XTEST to the focused window (there is no window manager to give focus).
xdotool windowfocus --sync "$window"
xdotool key alt+2 # the diff tab
sleep 2
xdotool key ctrl+f Tab Down # from the filter into the tree, onto the first changed field
sleep 1
shot diff
xdotool key alt+3 # upstreams
sleep 2
shot upstreams
