#!/usr/bin/env bash
# What one change costs with a large configuration loaded: a real etcd and a real holdfastd on 127.0.0.1.
#
#   bench/scale_bench.sh [BUILD_DIR]    (default: build; needs etcd, curl, and the targets holdfastd,
#                                        holdfast_test_upstream, genconfig and sync_probe built)
#
# For each size in SIZES (default "10000 100000") routes + UPSTREAMS (1000) upstreams (bench/genconfig:
# 10% with hosts, half with methods, a third prefix routes), in a fresh etcd:
#   full sync      holdfastd start with an empty data dir -> /v1/status in_sync at the loaded revision
#                  (and -> config.json at it); VmHWM then
#   put -> served / persisted   CHANGES (100; CHANGES_100K, 30, at 100k) new routes, one at a time, timed
#                  from before the put to the first 200 for the new uri / config.json at its revision
#   batch          BATCH (1000) route puts in one etcd transaction -> every one of them answers 200
#   peak RSS       VmHWM of that holdfastd after all of the above
# Ports: BASE_PORT (18590) .. BASE_PORT+4.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
etcd_bench_init scale-bench "${1:-build}" 18590
SIZES=${SIZES:-10000 100000}
UPSTREAMS=${UPSTREAMS:-1000}
CHANGES=${CHANGES:-100}
CHANGES_100K=${CHANGES_100K:-30}
BATCH=${BATCH:-1000}
export QT_LOGGING_RULES="holdfast.*.info=false"
export SYNC_PROBE_TIMEOUT_MS=${SYNC_PROBE_TIMEOUT_MS:-60000}

vmhwm_mb() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$1/status"; }

in_sync_at() { # DATA_DIR REVISION
    local status
    [ -f "$1/admin.token" ] || return 1
    status=$(curl -s -H "Authorization: Bearer $(cat "$1/admin.token")" "http://127.0.0.1:$ADMIN_PORT/v1/status")
    grep -q '"state":"in_sync"' <<<"$status" && grep -q "\"revision\":$2[,}]" <<<"$status"
}

"$UPSTREAM" --port "$UPSTREAM_PORT" --name bench >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)

print_machine "$HOLDFASTD"

for ROUTES in $SIZES; do
    changes=$CHANGES
    [ "$ROUTES" -ge 100000 ] && changes=$CHANGES_100K
    echo "== $ROUTES routes + $UPSTREAMS upstreams (load $(cut -d' ' -f1-3 /proc/loadavg))"
    # a transaction may carry the whole batch
    start_etcd "$WORK/etcd-$ROUTES" --max-txn-ops "$((BATCH > 128 ? BATCH : 128))" --quota-backend-bytes 4294967296
    "$GENCONFIG" "$ROUTES" "$UPSTREAMS" "127.0.0.1:$UPSTREAM_PORT" --etcd-lines /apisix >"$WORK/lines"
    REVISION=$("$PROBE" load "$ETCD_PORT" <"$WORK/lines" 2>/dev/null)
    DATA="$WORK/data-$ROUTES"
    etcd_bootstrap "$WORK/gateway.json" "$DATA"

    printf '   full sync:  '
    "$PROBE" sync "$ADMIN_PORT" "$DATA" "$REVISION" -- "$HOLDFASTD" --config "$WORK/gateway.json"
    echo "   config.json: $(stat -c %s "$DATA/config.json") bytes"

    "$HOLDFASTD" --config "$WORK/gateway.json" >>"$WORK/holdfastd.log" 2>&1 &
    GATEWAY_PID=$!
    wait_until 2400 in_sync_at "$DATA" "$REVISION" ||
        bench_fail "holdfastd not in_sync at revision $REVISION: $(tail -5 "$WORK/holdfastd.log")"
    echo "   VmHWM after start and sync: $(vmhwm_mb "$GATEWAY_PID") MB"
    printf '   %s single changes:\n' "$changes"
    "$PROBE" propagation "$ETCD_PORT" "$PROXY_PORT" "$DATA" "$changes" u1 | sed 's/^/   /'
    printf '   '
    "$PROBE" batch "$ETCD_PORT" "$PROXY_PORT" "$BATCH" u2
    echo "   peak RSS (VmHWM) after all changes: $(vmhwm_mb "$GATEWAY_PID") MB"
    stop_pid "$GATEWAY_PID"
    GATEWAY_PID=
    stop_etcd
    rm -rf "$WORK/etcd-$ROUTES" "$DATA"
done
