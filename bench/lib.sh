# What the benchmark scripts share: a work folder removed at exit, the processes they start stopped at exit,
# the checks for tools and built programs, waiting for a condition, and a real etcd on 127.0.0.1.
# Sourced (not run) after `set -euo pipefail`:   . "$(dirname "$0")/lib.sh"; bench_init NAME
# NAME prefixes the error messages and names the work folder.

PIDS=()
ETCD_PID=
GATEWAY_PID=

etcd_bench_init() { # NAME BUILD_DIR DEFAULT_BASE_PORT: bench_init, and the programs and ports of the etcd benchmarks
    bench_init "$1"
    shift
    HOLDFASTD=${HOLDFASTD:-$1/service/holdfastd}
    PROBE=$1/bench/sync_probe
    GENCONFIG=$1/bench/genconfig
    UPSTREAM=$1/tests/support/holdfast_test_upstream
    BASE_PORT=${BASE_PORT:-$2}
    ETCD_PORT=$BASE_PORT
    PEER_PORT=$((BASE_PORT + 1))
    UPSTREAM_PORT=$((BASE_PORT + 2))
    PROXY_PORT=$((BASE_PORT + 3))
    ADMIN_PORT=$((BASE_PORT + 4))
    need_tools etcd curl
    need_programs "$HOLDFASTD" "$PROBE" "$GENCONFIG" "$UPSTREAM"
    export SYNC_PROBE_LOG="$WORK/holdfastd.log"
}

bench_init() { # NAME
    BENCH_NAME=$1
    WORK=$(mktemp -d "/tmp/holdfast-$1.XXXXXX")
    trap bench_cleanup EXIT
}

bench_cleanup() {
    # A hung etcd (SIGSTOP) would ignore SIGTERM until continued.
    [ -n "$ETCD_PID" ] && kill -CONT "$ETCD_PID" 2>/dev/null || true
    for pid in $GATEWAY_PID $ETCD_PID "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

bench_fail() { # MESSAGE
    echo "$BENCH_NAME: $1" >&2
    exit 1
}

need_tools() { # TOOL...
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || bench_fail "$tool is not installed"; done
}

need_programs() { # PROGRAM...
    local program
    for program in "$@"; do [ -x "$program" ] || bench_fail "$program is not built (or set its variable)"; done
}

wait_until() { # TRIES COMMAND...: runs COMMAND every 0.05 s until it succeeds, at most TRIES times
    local tries=$1
    shift
    for _ in $(seq "$tries"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05 # polling another process from outside: there is no event to wait on
    done
    return 1
}

stop_pid() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }

etcd_healthy() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

start_etcd() { # DATA_DIR [ETCD ARGS...]: etcd on ETCD_PORT (client) and PEER_PORT, answering health
    local data=$1
    shift
    etcd --name bench --data-dir "$data" "$@" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
        --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" --logger zap --log-level warn \
        >>"$WORK/etcd.log" 2>&1 &
    ETCD_PID=$!
    wait_until 200 etcd_healthy || bench_fail "etcd did not start: $(tail -5 "$WORK/etcd.log")"
}

stop_etcd() {
    stop_pid "$ETCD_PID"
    ETCD_PID=
}

etcd_bootstrap() { # FILE DATA_DIR [SERVE_LOCAL_FIRST]: holdfastd settings following the bench etcd
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

print_machine() { # HOLDFASTD
    echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "== holdfastd: $1 ($("$1" --version 2>&1 | head -1))"
}
