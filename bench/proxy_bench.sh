#!/usr/bin/env bash
# Throughput and p99 latency of holdfastd against nginx as a reverse proxy, and of the upstream direct.
#
#   bench/proxy_bench.sh [BUILD_DIR]      (default: build; needs nginx, wrk, and holdfastd built)
#
# An nginx upstream answers "return 200"; nginx (2 workers, upstream keepalive) and
# `holdfastd --standalone` (2 workers) proxy to it. wrk drives each with 64 keep-alive connections,
# in interleaved rounds so that drift in the machine hits every contender alike. Environment:
# ROUNDS (3), DURATION (5s), CONNECTIONS (64), THREADS (2), BASE_PORT (18480, and the 4 ports above it);
# HOLDFASTD (the build's); HOLDFASTD_BEFORE (a second holdfastd, e.g. main's, measured in the same
# rounds: before/after figures from one run). Each row also gives the proxy's CPU time per request (its
# processes' user + system time over the run / requests), a figure that moves less than req/s on a
# shared machine.
set -euo pipefail

BUILD_DIR=${1:-build}
ROUNDS=${ROUNDS:-3}

. "$(dirname "$0")/lib.sh"
proxy_bench_init proxy-bench "$BUILD_DIR" 18480

start_nginx_upstream "$UPSTREAM_PORT"
start_nginx_proxy "$NGINX_PORT" "$UPSTREAM_PORT"
start_holdfastd_proxy holdfast "$HOLDFASTD" "$HOLDFAST_PORT" "$ADMIN_PORT" "$UPSTREAM_PORT"
HOLDFAST_PID=$HOLDFASTD_PID
CONTENDERS=(direct nginx holdfastd)
declare -A PORT=([direct]=$UPSTREAM_PORT [nginx]=$NGINX_PORT [holdfastd]=$HOLDFAST_PORT)
if [ -n "${HOLDFASTD_BEFORE:-}" ]; then
    need_programs "$HOLDFASTD_BEFORE"
    start_holdfastd_proxy before "$HOLDFASTD_BEFORE" "$BEFORE_PORT" "$((BEFORE_PORT + 1))" "$UPSTREAM_PORT"
    BEFORE_PID=$HOLDFASTD_PID
    CONTENDERS+=(before)
    PORT[before]=$BEFORE_PORT
fi
print_machine "$HOLDFASTD"
[ -n "${HOLDFASTD_BEFORE:-}" ] && echo "== before: $HOLDFASTD_BEFORE"

for name in "${CONTENDERS[@]}"; do wait_port "${PORT[$name]}"; done
for name in "${CONTENDERS[@]}"; do
    [ "$(curl -s "http://127.0.0.1:${PORT[$name]}/")" = ok ] || bench_fail "$name does not proxy"
done

# The processes whose CPU time a contender's requests cost (the proxy only: the upstream's is shared).
declare -A CPU_PIDS=([holdfastd]=$HOLDFAST_PID)
[ -n "${BEFORE_PID:-}" ] && CPU_PIDS[before]=$BEFORE_PID
cpu_pids() { # name
    case $1 in
    direct) pgrep -P "$NGINX_UPSTREAM_PID" | tr '\n' ' ' ;;
    nginx) pgrep -P "$NGINX_PROXY_PID" | tr '\n' ' ' ;;
    *) echo "${CPU_PIDS[$1]}" ;;
    esac
}

declare -A RPS P99 CPU
run() { # name port
    local out pids ticks
    pids=$(cpu_pids "$1")
    # shellcheck disable=SC2086 # a list of pids
    ticks=$(cpu_ticks $pids)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$2/")
    local rps p99 requests cpu
    rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    # shellcheck disable=SC2086
    cpu=$(awk -v t="$(( $(cpu_ticks $pids) - ticks ))" -v n="$requests" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    RPS[$1]="${RPS[$1]:-} $rps"
    P99[$1]="${P99[$1]:-} $p99"
    CPU[$1]="${CPU[$1]:-} $cpu"
    printf '  %-9s %12s req/s   p99 %8s ms   %6s us CPU/request\n' "$1" "$rps" "$p99" "$cpu"
}

for name in "${CONTENDERS[@]}"; do # warm the pools
    wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "http://127.0.0.1:${PORT[$name]}/" >/dev/null
done
for round in $(seq "$ROUNDS"); do
    echo "round $round"
    for name in "${CONTENDERS[@]}"; do run "$name" "${PORT[$name]}"; done
done

echo
echo "median of $ROUNDS rounds (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, keep-alive):"
for name in "${CONTENDERS[@]}"; do
    printf '  %-9s %12s req/s   p99 %8s ms   %6s us CPU/request\n' "$name" "$(median <<<"${RPS[$name]}")" \
        "$(median <<<"${P99[$name]}")" "$(median <<<"${CPU[$name]}")"
done
awk -v h="$(median <<<"${RPS[holdfastd]}")" -v n="$(median <<<"${RPS[nginx]}")" \
    'BEGIN { printf "  holdfastd/nginx throughput ratio: %.2f\n", h / n }'
if [ -n "${HOLDFASTD_BEFORE:-}" ]; then
    awk -v h="$(median <<<"${RPS[before]}")" -v n="$(median <<<"${RPS[nginx]}")" \
        'BEGIN { printf "  before/nginx throughput ratio:    %.2f\n", h / n }'
fi
