#!/usr/bin/env bash
# Throughput and p99 latency of holdfastd against nginx as a reverse proxy, and of the upstream direct.
#
#   bench/proxy_bench.sh [BUILD_DIR]      (default: build; needs nginx, wrk, and holdfastd built)
#
# An nginx upstream answers "return 200"; nginx (2 workers, upstream keepalive) and
# `holdfastd --standalone` (2 workers) proxy to it. wrk drives each with 64 keep-alive connections,
# in interleaved rounds so that drift in the machine hits every contender alike. Environment:
# ROUNDS (3), DURATION (5s), CONNECTIONS (64), THREADS (2).
set -euo pipefail

BUILD_DIR=${1:-build}
HOLDFASTD=${HOLDFASTD:-$BUILD_DIR/service/holdfastd}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
UPSTREAM_PORT=${UPSTREAM_PORT:-18480}
NGINX_PORT=${NGINX_PORT:-18481}
HOLDFAST_PORT=${HOLDFAST_PORT:-18482}
ADMIN_PORT=${ADMIN_PORT:-18483}

. "$(dirname "$0")/lib.sh"
bench_init proxy-bench
need_tools nginx wrk
need_programs "$HOLDFASTD"

nginx_conf() { # name port workers body
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $3;
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/$1/body;
    proxy_temp_path $WORK/$1/proxy;
    fastcgi_temp_path $WORK/$1/fastcgi;
    uwsgi_temp_path $WORK/$1/uwsgi;
    scgi_temp_path $WORK/$1/scgi;
    keepalive_requests 100000;
    $4
}
CONF
}

nginx_conf upstream "$UPSTREAM_PORT" 1 "server { listen 127.0.0.1:$UPSTREAM_PORT; location / { return 200 'ok'; } }"
nginx_conf proxy "$NGINX_PORT" 2 "upstream backend { server 127.0.0.1:$UPSTREAM_PORT; keepalive 320; }
    server { listen 127.0.0.1:$NGINX_PORT;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection '';
                     proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
                     proxy_set_header X-Real-IP \$remote_addr; } }"

nginx -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" & PIDS+=($!)
nginx -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" & PIDS+=($!)

mkdir -p "$WORK/holdfast"
cat > "$WORK/holdfast/bootstrap.json" <<JSON
{ "listen": [ { "address": "127.0.0.1", "port": $HOLDFAST_PORT } ], "workers": 2,
  "data_dir": "$WORK/holdfast", "admin": { "address": "127.0.0.1", "port": $ADMIN_PORT } }
JSON
cat > "$WORK/holdfast/config.json" <<JSON
{ "routes": { "1": { "uri": "/*", "upstream_id": "1" } },
  "upstreams": { "1": { "type": "roundrobin", "nodes": { "127.0.0.1:$UPSTREAM_PORT": 1 },
                        "keepalive_pool": { "size": 320 } } } }
JSON
QT_LOGGING_RULES="*.info=false" "$HOLDFASTD" --config "$WORK/holdfast/bootstrap.json" \
    --standalone "$WORK/holdfast/config.json" >"$WORK/holdfast/log" 2>&1 & PIDS+=($!)

answers() { curl -s -o /dev/null "http://127.0.0.1:$1/"; }
wait_port() {
    wait_until 200 answers "$1" && return 0
    cat "$WORK"/*/log "$WORK"/*/error.log 2>/dev/null >&2
    bench_fail "nothing answers on port $1"
}
for port in "$UPSTREAM_PORT" "$NGINX_PORT" "$HOLDFAST_PORT"; do wait_port "$port"; done
[ "$(curl -s "http://127.0.0.1:$HOLDFAST_PORT/")" = ok ] || { echo "proxy_bench: holdfastd does not proxy" >&2; exit 1; }

declare -A RPS P99
to_ms() { # wrk latency ("812.00us", "1.20ms", "2.01s") in ms
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
run() { # name port
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$2/")
    local rps p99
    rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    RPS[$1]="${RPS[$1]:-} $rps"
    P99[$1]="${P99[$1]:-} $p99"
    printf '  %-9s %12s req/s   p99 %8s ms\n' "$1" "$rps" "$p99"
}

wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "http://127.0.0.1:$HOLDFAST_PORT/" >/dev/null # warm the pools
wrk -t"$THREADS" -c"$CONNECTIONS" -d1s "http://127.0.0.1:$NGINX_PORT/" >/dev/null
for round in $(seq "$ROUNDS"); do
    echo "round $round"
    run direct "$UPSTREAM_PORT"
    run nginx "$NGINX_PORT"
    run holdfastd "$HOLDFAST_PORT"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "median of $ROUNDS rounds (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, keep-alive):"
for name in direct nginx holdfastd; do
    printf '  %-9s %12s req/s   p99 %8s ms\n' "$name" "$(median <<<"${RPS[$name]}")" "$(median <<<"${P99[$name]}")"
done
awk -v h="$(median <<<"${RPS[holdfastd]}")" -v n="$(median <<<"${RPS[nginx]}")" \
    'BEGIN { printf "  holdfastd/nginx throughput ratio: %.2f\n", h / n }'
