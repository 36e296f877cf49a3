#!/usr/bin/env bash
# How fast holdfastd follows a real etcd, and how fast it comes back from its local copy.
#
#   bench/sync_bench.sh [BUILD_DIR]     (default: build; needs etcd, curl, and the targets holdfastd,
#                                        holdfast_test_upstream, genconfig and sync_probe built)
#
# 1. put -> served and put -> persisted, p50/p99 over CHANGES (1000) new routes, one at a time, with a
#    small configuration, then over CHANGES_LARGE (200) with ROUTES (10000) routes loaded.
# 2. full sync of ROUTES routes + UPSTREAMS (1000) upstreams: holdfastd start -> /v1/status in_sync at the
#    loaded revision, -> config.json at that revision; VmHWM of the process.
# 3. restart with etcd down -> first request served from the local copy: etcd stopped (connections
#    refused) and etcd hung (SIGSTOP) with the default wait_for_control_plane_ms (3000), then etcd hung
#    with startup.serve_local_first.
# Ports: BASE_PORT (18490) .. BASE_PORT+4 on 127.0.0.1.
set -euo pipefail

BUILD_DIR=${1:-build}
HOLDFASTD=${HOLDFASTD:-$BUILD_DIR/service/holdfastd}
PROBE=$BUILD_DIR/bench/sync_probe
GENCONFIG=$BUILD_DIR/bench/genconfig
UPSTREAM=$BUILD_DIR/tests/support/holdfast_test_upstream
CHANGES=${CHANGES:-1000}
CHANGES_LARGE=${CHANGES_LARGE:-200}
ROUTES=${ROUTES:-10000}
UPSTREAMS=${UPSTREAMS:-1000}
BASE_PORT=${BASE_PORT:-18490}
ETCD_PORT=$BASE_PORT
PEER_PORT=$((BASE_PORT + 1))
UPSTREAM_PORT=$((BASE_PORT + 2))
PROXY_PORT=$((BASE_PORT + 3))
ADMIN_PORT=$((BASE_PORT + 4))

for tool in etcd curl; do
    command -v "$tool" >/dev/null || { echo "sync_bench: $tool is not installed" >&2; exit 1; }
done
for program in "$HOLDFASTD" "$PROBE" "$GENCONFIG" "$UPSTREAM"; do
    [ -x "$program" ] || { echo "sync_bench: $program is not built" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/holdfast-sync-bench.XXXXXX)
ETCD_PID=
UPSTREAM_PID=
GATEWAY_PID=
cleanup() {
    [ -n "$ETCD_PID" ] && kill -CONT "$ETCD_PID" 2>/dev/null || true
    for pid in $GATEWAY_PID $ETCD_PID $UPSTREAM_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export SYNC_PROBE_LOG="$WORK/holdfastd.log"

start_etcd() {
    etcd --name bench --data-dir "$WORK/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" --logger zap --log-level warn \
        >"$WORK/etcd.log" 2>&1 &
    ETCD_PID=$!
    for _ in $(seq 200); do
        curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' && return 0
        sleep 0.05
    done
    echo "sync_bench: etcd did not start: $(tail -5 "$WORK/etcd.log")" >&2
    exit 1
}

stop_etcd() {
    kill "$ETCD_PID" && wait "$ETCD_PID" 2>/dev/null || true
    ETCD_PID=
}

# bootstrap FILE DATA_DIR [serve_local_first]
bootstrap() {
    mkdir -p "$2"
    cat >"$1" <<JSON
{ "listen": [ { "address": "127.0.0.1", "port": $PROXY_PORT } ],
  "workers": 2,
  "data_dir": "$2",
  "admin": { "address": "127.0.0.1", "port": $ADMIN_PORT },
  "control_plane": { "endpoints": ["http://127.0.0.1:$ETCD_PORT"], "prefix": "/apisix" },
  "startup": { "serve_local_first": ${3:-false} } }
JSON
}

start_gateway() { # BOOTSTRAP PATH: starts holdfastd and waits until PATH answers 200
    QT_LOGGING_RULES="holdfast.*.info=false" "$HOLDFASTD" --config "$1" >>"$WORK/holdfastd.log" 2>&1 &
    GATEWAY_PID=$!
    for _ in $(seq 600); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT$2")" = 200 ] && return 0
        sleep 0.05
    done
    echo "sync_bench: holdfastd never served $2: $(tail -5 "$WORK/holdfastd.log")" >&2
    exit 1
}

stop_gateway() {
    kill "$GATEWAY_PID" && wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=
}

"$UPSTREAM" --port "$UPSTREAM_PORT" --name bench >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
start_etcd

echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== holdfastd: $("$HOLDFASTD" --version 2>&1 | head -1)"

echo "== 1. propagation, small configuration ($CHANGES changes)"
"$PROBE" load "$ETCD_PORT" >/dev/null <<LINES
/apisix/upstreams/b1	{"type":"roundrobin","nodes":{"127.0.0.1:$UPSTREAM_PORT":1}}
/apisix/routes/b0	{"uri":"/ready","upstream_id":"b1"}
LINES
bootstrap "$WORK/small.json" "$WORK/data-small"
start_gateway "$WORK/small.json" /ready
"$PROBE" propagation "$ETCD_PORT" "$PROXY_PORT" "$WORK/data-small" "$CHANGES" b1
stop_gateway

echo "== 2. full sync of $ROUTES routes + $UPSTREAMS upstreams"
"$GENCONFIG" "$ROUTES" "$UPSTREAMS" "127.0.0.1:$UPSTREAM_PORT" --etcd-lines /apisix >"$WORK/large.lines"
REVISION=$("$PROBE" load "$ETCD_PORT" <"$WORK/large.lines")
bootstrap "$WORK/large.json" "$WORK/data-large"
QT_LOGGING_RULES="holdfast.*.info=false" "$PROBE" sync "$ADMIN_PORT" "$WORK/data-large" "$REVISION" -- \
    "$HOLDFASTD" --config "$WORK/large.json"
echo "   config.json: $(stat -c %s "$WORK/data-large/config.json") bytes"

echo "== 1b. propagation with $ROUTES routes loaded ($CHANGES_LARGE changes)"
start_gateway "$WORK/large.json" /api/v1/svc1
"$PROBE" propagation "$ETCD_PORT" "$PROXY_PORT" "$WORK/data-large" "$CHANGES_LARGE" u1
stop_gateway

echo "== 3. restart from the local copy ($ROUTES routes)"
stop_etcd
printf '   etcd stopped (refused), default wait:     '
QT_LOGGING_RULES="holdfast.*.info=false" "$PROBE" serve "$PROXY_PORT" /api/v1/svc1 -- \
    "$HOLDFASTD" --config "$WORK/large.json"
start_etcd
kill -STOP "$ETCD_PID"
printf '   etcd hung (SIGSTOP), default wait 3000 ms: '
QT_LOGGING_RULES="holdfast.*.info=false" "$PROBE" serve "$PROXY_PORT" /api/v1/svc1 -- \
    "$HOLDFASTD" --config "$WORK/large.json"
bootstrap "$WORK/local-first.json" "$WORK/data-large" true
printf '   etcd hung (SIGSTOP), serve_local_first:    '
QT_LOGGING_RULES="holdfast.*.info=false" "$PROBE" serve "$PROXY_PORT" /api/v1/svc1 -- \
    "$HOLDFASTD" --config "$WORK/local-first.json"
kill -CONT "$ETCD_PID"
