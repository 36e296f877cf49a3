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
    assign_ports "$BASE_PORT" ETCD_PORT PEER_PORT UPSTREAM_PORT PROXY_PORT ADMIN_PORT
    need_tools etcd curl
    need_programs "$HOLDFASTD" "$PROBE" "$GENCONFIG" "$UPSTREAM"
    export SYNC_PROBE_LOG="$WORK/holdfastd.log"
}

proxy_bench_init() { # NAME BUILD_DIR DEFAULT_BASE_PORT: bench_init, wrk's settings and the ports of the proxy benchmarks
    bench_init "$1"
    HOLDFASTD=${HOLDFASTD:-$2/service/holdfastd}
    DURATION=${DURATION:-5s}
    CONNECTIONS=${CONNECTIONS:-64}
    THREADS=${THREADS:-2}
    BASE_PORT=${BASE_PORT:-$3}
    assign_ports "$BASE_PORT" UPSTREAM_PORT NGINX_PORT HOLDFAST_PORT ADMIN_PORT BEFORE_PORT
    need_tools nginx wrk
    need_programs "$HOLDFASTD"
}

assign_ports() { # BASE NAME...: the first NAME is set to BASE, the next to BASE + 1, and so on
    local port=$1 name
    shift
    for name in "$@"; do
        printf -v "$name" '%s' "$port"
        port=$((port + 1))
    done
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

# --- the proxy benchmarks (proxy_bench.sh, idle_bench.sh) ---

nginx_conf() { # NAME WORKERS BODY [WORKER_CONNECTIONS]: $WORK/NAME/nginx.conf, a foreground nginx
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $2;
worker_rlimit_nofile $((${4:-4096} * 2 + 64));
pid $WORK/$1/nginx.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections ${4:-4096}; }
http {
    access_log off;
    client_body_temp_path $WORK/$1/body;
    proxy_temp_path $WORK/$1/proxy;
    fastcgi_temp_path $WORK/$1/fastcgi;
    uwsgi_temp_path $WORK/$1/uwsgi;
    scgi_temp_path $WORK/$1/scgi;
    keepalive_requests 100000;
    $3
}
CONF
}

start_nginx_upstream() { # PORT: an nginx answering "ok" to everything, one worker
    nginx_conf upstream 1 "server { listen 127.0.0.1:$1; location / { return 200 'ok'; } }"
    nginx -p "$WORK/upstream" -c "$WORK/upstream/nginx.conf" & PIDS+=($!)
    NGINX_UPSTREAM_PID=$!
}

start_nginx_proxy() { # PORT UPSTREAM_PORT [WORKER_CONNECTIONS]: nginx (2 workers) proxying to the upstream, keep-alive both ways
    nginx_conf proxy 2 "upstream backend { server 127.0.0.1:$2; keepalive 320; }
    server { listen 127.0.0.1:$1 backlog=4096; keepalive_timeout 300s;
        location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection '';
                     proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
                     proxy_set_header X-Real-IP \$remote_addr; } }" "${3:-4096}"
    nginx -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf" & PIDS+=($!)
    NGINX_PROXY_PID=$!
}

start_holdfastd_proxy() { # NAME BINARY PORT ADMIN_PORT UPSTREAM_PORT [BOOTSTRAP_EXTRA]: holdfastd --standalone, 2 workers; pid in HOLDFASTD_PID
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/bootstrap.json" <<JSON
{ "listen": [ { "address": "127.0.0.1", "port": $3 } ], "workers": 2,
  "data_dir": "$WORK/$1", "admin": { "address": "127.0.0.1", "port": $4 }${6:-} }
JSON
    cat > "$WORK/$1/config.json" <<JSON
{ "routes": { "1": { "uri": "/*", "upstream_id": "1" } },
  "upstreams": { "1": { "type": "roundrobin", "nodes": { "127.0.0.1:$5": 1 },
                        "keepalive_pool": { "size": 320 } } } }
JSON
    QT_LOGGING_RULES="*.info=false" "$2" --config "$WORK/$1/bootstrap.json" \
        --standalone "$WORK/$1/config.json" >"$WORK/$1/log" 2>&1 & PIDS+=($!)
    HOLDFASTD_PID=$!
}

answers() { curl -s -o /dev/null "http://127.0.0.1:$1/"; }

wait_port() { # PORT: until an HTTP server answers there
    wait_until 200 answers "$1" && return 0
    cat "$WORK"/*/log "$WORK"/*/error.log 2>/dev/null >&2
    bench_fail "nothing answers on port $1"
}

to_ms() { # wrk latency ("812.00us", "1.20ms", "2.01s") in ms
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

proc_sum() { # FILE AWK_PROGRAM PID...: the sum over the PIDs of what AWK_PROGRAM prints for /proc/PID/FILE
    local file=$1 program=$2 total=0 pid value
    shift 2
    for pid in "$@"; do
        value=$(awk "$program" "/proc/$pid/$file" 2>/dev/null || echo 0)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

vmrss_kb() { proc_sum status '/^VmRSS:/ { print $2 }' "$@"; } # PID...: their resident set sizes, KB

cpu_ticks() { proc_sum stat '{ sub(/.*\) /, ""); print $12 + $13 }' "$@"; } # PID...: user + system CPU, ticks

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
