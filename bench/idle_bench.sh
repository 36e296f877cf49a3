#!/usr/bin/env bash
# Many idle keep-alive client connections: what each costs holdfastd in memory, and whether requests on
# other connections keep their latency; nginx measured the same way in the same run.
#
#   bench/idle_bench.sh [BUILD_DIR]      (default: build; needs nginx, wrk, holdfastd and bench/idle_clients built)
#
# For each contender (holdfastd, nginx; HOLDFASTD_BEFORE adds a second holdfastd, e.g. main's): wrk on
# CONNECTIONS keep-alive connections, then idle_clients opens IDLE connections, one answered request on
# each, and holds them idle; VmRSS is read before and after (holdfastd: the process; nginx: its workers),
# and wrk runs again beside the idle connections. Environment: IDLE (10000), DURATION (5s),
# CONNECTIONS (64), THREADS (2), BASE_PORT (18490, and the 4 ports above it). Runs as root or with a hard open-file limit above IDLE.
set -euo pipefail

BUILD_DIR=${1:-build}
IDLE_CLIENTS=$BUILD_DIR/bench/idle_clients
IDLE=${IDLE:-10000}

. "$(dirname "$0")/lib.sh"
proxy_bench_init idle-bench "$BUILD_DIR" 18490
need_programs "$IDLE_CLIENTS"
# Every process started from here inherits it: the idle clients, nginx and holdfastd each hold IDLE sockets.
ulimit -n $((IDLE * 2 + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt "$IDLE" ] || bench_fail "the open-file limit ($(ulimit -n)) is below IDLE=$IDLE"

# Idle connections are kept far longer than the measurement takes.
KEEPALIVE=', "limits": { "client_keepalive_timeout_ms": 600000 }'
start_nginx_upstream "$UPSTREAM_PORT"
start_nginx_proxy "$NGINX_PORT" "$UPSTREAM_PORT" $((IDLE + 1024))
start_holdfastd_proxy holdfast "$HOLDFASTD" "$HOLDFAST_PORT" "$ADMIN_PORT" "$UPSTREAM_PORT" "$KEEPALIVE"
declare -A PORT=([holdfastd]=$HOLDFAST_PORT [nginx]=$NGINX_PORT)
declare -A PIDOF=([holdfastd]=$HOLDFASTD_PID)
CONTENDERS=(holdfastd nginx)
if [ -n "${HOLDFASTD_BEFORE:-}" ]; then
    need_programs "$HOLDFASTD_BEFORE"
    start_holdfastd_proxy before "$HOLDFASTD_BEFORE" "$BEFORE_PORT" "$((BEFORE_PORT + 1))" "$UPSTREAM_PORT" "$KEEPALIVE"
    PORT[before]=$BEFORE_PORT
    PIDOF[before]=$HOLDFASTD_PID
    CONTENDERS+=(before)
fi
print_machine "$HOLDFASTD"
[ -n "${HOLDFASTD_BEFORE:-}" ] && echo "== before: $HOLDFASTD_BEFORE"
for name in "${CONTENDERS[@]}"; do wait_port "${PORT[$name]}"; done

memory_pids() { # NAME: the processes whose memory the idle connections cost
    if [ "$1" = nginx ]; then
        pgrep -P "$NGINX_PROXY_PID" | tr '\n' ' '
    else
        echo "${PIDOF[$1]}"
    fi
}

quiet_port() { # PORT: true once at most CONNECTIONS connections are established to it
    [ "$(ss -Htn state established "( sport = :$1 )" | wc -l)" -le "$CONNECTIONS" ]
}

latency() { # PORT: "p50 p99" in ms over DURATION
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$1/")
    echo "$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")") $(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")") $(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
}

echo "IDLE=$IDLE idle keep-alive connections; wrk -t$THREADS -c$CONNECTIONS -d$DURATION beside them"
printf '  %-9s %10s %10s %9s   %-26s %-26s\n' "" "RSS before" "RSS after" "KB/conn" "without idle: p50/p99 ms" "with idle: p50/p99 ms (req/s)"
for name in "${CONTENDERS[@]}"; do
    port=${PORT[$name]}
    wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "http://127.0.0.1:$port/" >/dev/null # warm the pools
    read -r p50 p99 rps < <(latency "$port")
    # shellcheck disable=SC2046 # a list of pids
    before=$(vmrss_kb $(memory_pids "$name"))
    "$IDLE_CLIENTS" "$port" "$IDLE" >"$WORK/idle-$name.out" 2>&1 &
    idle_pid=$!
    # Up to 3 minutes: a server that polls every connection on each turn slows down as they open.
    wait_until 3600 grep -q '^open' "$WORK/idle-$name.out" ||
        bench_fail "$name: the idle connections did not open: $(cat "$WORK/idle-$name.out")"
    # shellcheck disable=SC2046
    after=$(vmrss_kb $(memory_pids "$name"))
    read -r ip50 ip99 irps < <(latency "$port")
    kill "$idle_pid"
    wait "$idle_pid" || true
    closed=$(awk '/^closed/ { print $2 }' "$WORK/idle-$name.out")
    [ "${closed:-0}" = 0 ] || echo "  ($name closed $closed of the idle connections meanwhile)"
    printf '  %-9s %7s KB %7s KB %9s   %-26s %-26s\n' "$name" "$before" "$after" \
        "$(awk -v a="$after" -v b="$before" -v n="$IDLE" 'BEGIN { printf "%.2f", (a - b) / n }')" \
        "$p50 / $p99 ($rps)" "$ip50 / $ip99 ($irps)"
    # The closed connections leave the server before the next contender runs.
    wait_until 400 quiet_port "$port" || true
done
