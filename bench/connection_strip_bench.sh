#!/usr/bin/env bash
# Cost per request of a head with 2,000 fields that are all listed in Connection (issue 9): the proxy must
# strip them in time linear in the head.
#
#   bench/connection_strip_bench.sh [BUILD_DIR]    (HOLDFASTD=... to measure another binary; REQUESTS=200)
set -euo pipefail
BUILD_DIR=${1:-build}
HOLDFASTD=${HOLDFASTD:-$BUILD_DIR/service/holdfastd}
UPSTREAM=${UPSTREAM:-$BUILD_DIR/tests/support/holdfast_test_upstream}
REQUESTS=${REQUESTS:-200}
PORT=${PORT:-18492}
ADMIN_PORT=${ADMIN_PORT:-18493}
. "$(dirname "$0")/lib.sh"
bench_init strip-bench
need_programs "$HOLDFASTD" "$UPSTREAM"

"$UPSTREAM" --port 0 > "$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_until 100 grep -q READY "$WORK/upstream.log" || bench_fail "the upstream did not start"
UPSTREAM_PORT=$(sed -n 's/.*READY \([0-9]*\).*/\1/p' "$WORK/upstream.log")
cat > "$WORK/routes.json" <<JSON
{"routes":{"1":{"uri":"/*","upstream_id":"1"}},"upstreams":{"1":{"nodes":{"127.0.0.1:$UPSTREAM_PORT":1}}}}
JSON
cat > "$WORK/holdfastd.json" <<JSON
{"listen":[{"address":"127.0.0.1","port":$PORT}],"workers":1,"data_dir":"$WORK/data",
 "admin":{"address":"127.0.0.1","port":$ADMIN_PORT},"limits":{"max_header_bytes":131072}}
JSON
"$HOLDFASTD" --config "$WORK/holdfastd.json" --standalone "$WORK/routes.json" > "$WORK/gateway.log" 2>&1 &
PIDS+=($!)
python3 - "$PORT" "$REQUESTS" <<'PY'
import socket, sys, time
port, requests = int(sys.argv[1]), int(sys.argv[2])
for _ in range(200):
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
names = ["X-H%d" % i for i in range(2000)]
head = ("GET /h HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, " + ", ".join(names) + "\r\n" +
        "".join("%s: v\r\n" % n for n in names) + "\r\n").encode()
def one():
    s.sendall(head)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    headers, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in headers.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += s.recv(65536)
    assert headers.startswith(b"HTTP/1.1 200"), headers[:100]
    assert b"x-h1" not in body, "a listed field reached the upstream"
time.sleep(0.5)
for _ in range(5):
    one()
start = time.perf_counter()
for _ in range(requests):
    one()
elapsed = time.perf_counter() - start
print("%d requests, 2000 fields listed in Connection: %.2f ms per request" % (requests, elapsed * 1000 / requests))
PY
