#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every suite; then builds again with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs every suite once more. Exit 0 only if all pass.
# HOLDFAST_SKIP_SANITIZERS=1 leaves out the second pass (for a quick local run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
start=$(date +%s)

"$root/scripts/install-deps.sh"

echo "== build (RelWithDebInfo, -Werror)"
"$root/scripts/build.sh" "$root/build"
echo "== test"
ctest --test-dir "$root/build" --output-on-failure -j"$jobs" --timeout 600

if [[ "${HOLDFAST_SKIP_SANITIZERS:-0}" != 1 ]]; then
    echo "== build (ASan + UBSan)"
    "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DHOLDFAST_SANITIZE=ON -DHOLDFAST_BUILD_CONSOLE=OFF \
        -DHOLDFAST_BUILD_BENCH=OFF
    echo "== test under sanitizers"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs" --timeout 900 -LE "windows|package"
fi
echo "== all suites passed in $(( $(date +%s) - start )) s"
