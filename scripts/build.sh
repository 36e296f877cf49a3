#!/usr/bin/env bash
# Configures and builds Holdfast into a build directory. Usage: scripts/build.sh [BUILD_DIR] [cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOLDFAST_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
