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

. "$(dirname "$0")/lib.sh"
etcd_bench_init sync-bench "${1:-build}" 18490
CHANGES=${CHANGES:-1000}
CHANGES_LARGE=${CHANGES_LARGE:-200}
ROUTES=${ROUTES:-10000}
UPSTREAMS=${UPSTREAMS:-1000}

serves() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT$1")" = 200 ]; }

start_gateway() { # BOOTSTRAP PATH: starts holdfastd and waits until PATH answers 200
    QT_LOGGING_RULES="holdfast.*.info=false" "$HOLDFASTD" --config "$1" >>"$WORK/holdfastd.log" 2>&1 &
    GATEWAY_PID=$!
    wait_until 600 serves "$2" || bench_fail "holdfastd never served $2: $(tail -5 "$WORK/holdfastd.log")"
}

stop_gateway() {
    stop_pid "$GATEWAY_PID"
    GATEWAY_PID=
}

"$UPSTREAM" --port "$UPSTREAM_PORT" --name bench >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
start_etcd "$WORK/etcd"

print_machine "$HOLDFASTD"

echo "== 1. propagation, small configuration ($CHANGES changes)"
"$PROBE" load "$ETCD_PORT" >/dev/null <<LINES
/apisix/upstreams/b1	{"type":"roundrobin","nodes":{"127.0.0.1:$UPSTREAM_PORT":1}}
/apisix/routes/b0	{"uri":"/ready","upstream_id":"b1"}
LINES
etcd_bootstrap "$WORK/small.json" "$WORK/data-small"
start_gateway "$WORK/small.json" /ready
"$PROBE" propagation "$ETCD_PORT" "$PROXY_PORT" "$WORK/data-small" "$CHANGES" b1
stop_gateway

echo "== 2. full sync of $ROUTES routes + $UPSTREAMS upstreams"
"$GENCONFIG" "$ROUTES" "$UPSTREAMS" "127.0.0.1:$UPSTREAM_PORT" --etcd-lines /apisix >"$WORK/large.lines"
REVISION=$("$PROBE" load "$ETCD_PORT" <"$WORK/large.lines")
etcd_bootstrap "$WORK/large.json" "$WORK/data-large"
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
start_etcd "$WORK/etcd"
kill -STOP "$ETCD_PID"
printf '   etcd hung (SIGSTOP), default wait 3000 ms: '
QT_LOGGING_RULES="holdfast.*.info=false" "$PROBE" serve "$PROXY_PORT" /api/v1/svc1 -- \
    "$HOLDFASTD" --config "$WORK/large.json"
etcd_bootstrap "$WORK/local-first.json" "$WORK/data-large" true
printf '   etcd hung (SIGSTOP), serve_local_first:    '
QT_LOGGING_RULES="holdfast.*.info=false" "$PROBE" serve "$PROXY_PORT" /api/v1/svc1 -- \
    "$HOLDFASTD" --config "$WORK/local-first.json"
kill -CONT "$ETCD_PID"
