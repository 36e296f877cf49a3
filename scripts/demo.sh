#!/usr/bin/env bash
# Installs what is missing, builds, and runs holdfastd in the foreground on the shipped demo
# configuration (demo/routes.json) in front of two nginx demo upstream nodes. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"

run="$root/build/demo"
mkdir -p "$run/tmp" "$run/data"
chmod 700 "$run/data"
nginx -p "$run" -c "$root/demo/upstream-nginx.conf"
cleanup() { [[ -f "$run/nginx.pid" ]] && kill "$(cat "$run/nginx.pid")" 2>/dev/null || true; }
trap cleanup EXIT

cat <<TXT
holdfastd is starting on http://127.0.0.1:9080 (admin API on 127.0.0.1:9180). Try:
  curl -i http://127.0.0.1:9080/hello
  curl -i http://127.0.0.1:9080/api/anything
  curl -H "Authorization: Bearer \$(cat $run/data/admin.token)" http://127.0.0.1:9180/v1/status
Edit $root/demo/routes.json while it runs; Ctrl-C stops the demo.
TXT
"$root/build/service/holdfastd" --standalone "$root/demo/routes.json" --config "$root/demo/holdfastd.json" \
    --data-dir "$run/data" &
gateway=$!
trap 'kill -TERM $gateway 2>/dev/null || true; wait $gateway || true; cleanup' INT TERM EXIT
wait $gateway
