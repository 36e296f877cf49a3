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

BUILD_DIR=${1:-build}
HOLDFASTD=${HOLDFASTD:-$BUILD_DIR/service/holdfastd}
PROBE=$BUILD_DIR/bench/sync_probe
GENCONFIG=$BUILD_DIR/bench/genconfig
UPSTREAM=$BUILD_DIR/tests/support/holdfast_test_upstream
SIZES=${SIZES:-10000 100000}
UPSTREAMS=${UPSTREAMS:-1000}
CHANGES=${CHANGES:-100}
CHANGES_100K=${CHANGES_100K:-30}
BATCH=${BATCH:-1000}
BASE_PORT=${BASE_PORT:-18590}
ETCD_PORT=$BASE_PORT
PEER_PORT=$((BASE_PORT + 1))
UPSTREAM_PORT=$((BASE_PORT + 2))
PROXY_PORT=$((BASE_PORT + 3))
ADMIN_PORT=$((BASE_PORT + 4))

for tool in etcd curl; do
    command -v "$tool" >/dev/null || { echo "scale_bench: $tool is not installed" >&2; exit 1; }
done
for program in "$HOLDFASTD" "$PROBE" "$GENCONFIG" "$UPSTREAM"; do
    [ -x "$program" ] || { echo "scale_bench: $program is not built" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/holdfast-scale-bench.XXXXXX)
ETCD_PID=
UPSTREAM_PID=
GATEWAY_PID=
cleanup() {
    for pid in $GATEWAY_PID $ETCD_PID $UPSTREAM_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export SYNC_PROBE_LOG="$WORK/holdfastd.log"
export QT_LOGGING_RULES="holdfast.*.info=false"
export SYNC_PROBE_TIMEOUT_MS=${SYNC_PROBE_TIMEOUT_MS:-60000}

start_etcd() { # DATA_DIR; a transaction may carry the whole batch
    etcd --name bench --data-dir "$1" --max-txn-ops "$((BATCH > 128 ? BATCH : 128))" \
        --quota-backend-bytes 4294967296 \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" --logger zap --log-level warn \
        >>"$WORK/etcd.log" 2>&1 &
    ETCD_PID=$!
    for _ in $(seq 200); do
        curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' && return 0
        sleep 0.05
    done
    echo "scale_bench: etcd did not start: $(tail -5 "$WORK/etcd.log")" >&2
    exit 1
}

vmhwm_mb() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$1/status"; }

stop_pid() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }

bootstrap() { # FILE DATA_DIR
    mkdir -p "$2"
    cat >"$1" <<JSON
{ "listen": [ { "address": "127.0.0.1", "port": $PROXY_PORT } ],
  "workers": 2,
  "data_dir": "$2",
  "admin": { "address": "127.0.0.1", "port": $ADMIN_PORT },
  "control_plane": { "endpoints": ["http://127.0.0.1:$ETCD_PORT"], "prefix": "/apisix" } }
JSON
}

wait_in_sync() { # DATA_DIR REVISION: holdfastd is in_sync at REVISION
    local status
    for _ in $(seq 1200); do
        if [ -f "$1/admin.token" ]; then
            status=$(curl -s -H "Authorization: Bearer $(cat "$1/admin.token")" \
                "http://127.0.0.1:$ADMIN_PORT/v1/status" || true)
            if grep -q '"state":"in_sync"' <<<"$status" && grep -q "\"revision\":$2[,}]" <<<"$status"; then
                return 0
            fi
        fi
        sleep 0.1
    done
    echo "scale_bench: holdfastd not in_sync at revision $2: $(tail -5 "$WORK/holdfastd.log")" >&2
    exit 1
}

"$UPSTREAM" --port "$UPSTREAM_PORT" --name bench >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!

echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== holdfastd: $HOLDFASTD ($("$HOLDFASTD" --version 2>&1 | head -1))"

for ROUTES in $SIZES; do
    changes=$CHANGES
    [ "$ROUTES" -ge 100000 ] && changes=$CHANGES_100K
    echo "== $ROUTES routes + $UPSTREAMS upstreams (load $(cut -d' ' -f1-3 /proc/loadavg))"
    start_etcd "$WORK/etcd-$ROUTES"
    "$GENCONFIG" "$ROUTES" "$UPSTREAMS" "127.0.0.1:$UPSTREAM_PORT" --etcd-lines /apisix >"$WORK/lines"
    REVISION=$("$PROBE" load "$ETCD_PORT" <"$WORK/lines" 2>/dev/null)
    DATA="$WORK/data-$ROUTES"
    bootstrap "$WORK/gateway.json" "$DATA"

    printf '   full sync:  '
    "$PROBE" sync "$ADMIN_PORT" "$DATA" "$REVISION" -- "$HOLDFASTD" --config "$WORK/gateway.json"
    echo "   config.json: $(stat -c %s "$DATA/config.json") bytes"

    "$HOLDFASTD" --config "$WORK/gateway.json" >>"$WORK/holdfastd.log" 2>&1 &
    GATEWAY_PID=$!
    wait_in_sync "$DATA" "$REVISION"
    echo "   VmHWM after start and sync: $(vmhwm_mb "$GATEWAY_PID") MB"
    printf '   %s single changes:\n' "$changes"
    "$PROBE" propagation "$ETCD_PORT" "$PROXY_PORT" "$DATA" "$changes" u1 | sed 's/^/   /'
    printf '   '
    "$PROBE" batch "$ETCD_PORT" "$PROXY_PORT" "$BATCH" u2
    echo "   peak RSS (VmHWM) after all changes: $(vmhwm_mb "$GATEWAY_PID") MB"
    stop_pid "$GATEWAY_PID"
    GATEWAY_PID=
    stop_pid "$ETCD_PID"
    ETCD_PID=
    rm -rf "$WORK/etcd-$ROUTES" "$DATA"
done
