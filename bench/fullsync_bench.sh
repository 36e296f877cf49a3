#!/usr/bin/env bash
# The full sync alone, at scale, and where its CPU goes: one etcd loaded once, many syncs against it.
#
#   bench/fullsync_bench.sh [BUILD_DIR]  (default: build; needs etcd, curl, and the targets holdfastd,
#                                         holdfast_test_upstream, genconfig and sync_probe built)
#
# etcd is loaded once with ROUTES (100000) routes + UPSTREAMS (1000) upstreams (bench/genconfig). Then
# RUNS (3) rounds; each round runs, in turn, every entry of VARIANTS (default "auto json", the values of
# control_plane.full_sync; "-" leaves the key out, for binaries that predate it) with HOLDFASTD and, when
# HOLDFASTD_BEFORE is set, one sync with that binary (key left out). Each sync starts holdfastd with an
# empty data dir and prints start -> in_sync / -> persisted, holdfastd's CPU until in_sync, and etcd's
# CPU during the sync (utime + stime from /proc/<pid>/stat).
# Ports: BASE_PORT (18690) .. BASE_PORT+4.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
etcd_bench_init fullsync-bench "${1:-build}" 18690
ROUTES=${ROUTES:-100000}
UPSTREAMS=${UPSTREAMS:-1000}
RUNS=${RUNS:-3}
VARIANTS=${VARIANTS:-auto json}
HOLDFASTD_BEFORE=${HOLDFASTD_BEFORE:-}
[ -z "$HOLDFASTD_BEFORE" ] || need_programs "$HOLDFASTD_BEFORE"
export QT_LOGGING_RULES="holdfast.*.info=false"
export SYNC_PROBE_TIMEOUT_MS=${SYNC_PROBE_TIMEOUT_MS:-60000}

cpu_ms() { awk -v tck="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print int(($12 + $13) * 1000 / tck) }' "/proc/$1/stat"; }

one_sync() { # LABEL BINARY VARIANT
    local data="$WORK/data" conf="$WORK/gateway.json" key="" before result
    rm -rf "$data"
    etcd_bootstrap "$conf" "$data"
    [ "$3" = "-" ] || key=", \"full_sync\": \"$3\""
    sed -i "s|\"prefix\": \"/apisix\" }|\"prefix\": \"/apisix\"$key }|" "$conf"
    before=$(cpu_ms "$ETCD_PID")
    result=$("$PROBE" sync "$ADMIN_PORT" "$data" "$REVISION" -- "$2" --config "$conf")
    printf '   %-28s %s; etcd CPU %d ms (load %s)\n' "$1" "$result" "$(($(cpu_ms "$ETCD_PID") - before))" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

"$UPSTREAM" --port "$UPSTREAM_PORT" --name bench >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
print_machine "$HOLDFASTD"
start_etcd "$WORK/etcd" --quota-backend-bytes 4294967296
"$GENCONFIG" "$ROUTES" "$UPSTREAMS" "127.0.0.1:$UPSTREAM_PORT" --etcd-lines /apisix >"$WORK/lines"
REVISION=$("$PROBE" load "$ETCD_PORT" <"$WORK/lines" 2>/dev/null)
echo "== $ROUTES routes + $UPSTREAMS upstreams at revision $REVISION"
for round in $(seq "$RUNS"); do
    echo "== round $round"
    for variant in $VARIANTS; do
        one_sync "full_sync $variant" "$HOLDFASTD" "$variant"
    done
    [ -z "$HOLDFASTD_BEFORE" ] || one_sync "before ($(basename "$HOLDFASTD_BEFORE"))" "$HOLDFASTD_BEFORE" -
done
stop_etcd
