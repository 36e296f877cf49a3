#!/usr/bin/env bash
# Cross-builds Holdfast for Windows x64 with MinGW-w64 against the Qt that build-qt.sh made: holdfastd.exe,
# holdfast-console.exe, holdfastctl.exe (when the tree has it) and the suites that run under Wine; stages
# the programs with the Qt DLLs, plugins and MinGW runtime in <build>/stage and builds the MSI.
# Usage: scripts/windows/build.sh [BUILD_DIR] [cmake args...]     (default BUILD_DIR: build-windows)
#   e.g. scripts/windows/build.sh build-windows -DHOLDFAST_BUILD_CONSOLE=OFF   (gateway only)
# Environment: HOLDFAST_QT_PREFIX (default: the cache build-qt.sh prints), JOBS (default 2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build-windows}"
shift || true
jobs="${JOBS:-2}"

qt="${HOLDFAST_QT_PREFIX:-$("$here/build-qt.sh" --print-prefix)}"
if [[ ! -x "$qt/bin/qt-cmake" || ! -f "$qt/.complete" ]]; then
    echo "build.sh: no Qt for MinGW in $qt: run scripts/windows/build-qt.sh first (about 25 min on 2 cores)" >&2
    exit 1
fi

extra=()
if command -v ccache >/dev/null 2>&1; then
    extra+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# qt-cmake chains Qt's toolchain file to ours; name ours here so a moved checkout still finds it.
"$qt/bin/qt-cmake" -S "$root" -B "$build" -G Ninja \
    -DQT_CHAINLOAD_TOOLCHAIN_FILE="$here/mingw-w64-x86_64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DHOLDFAST_WERROR=ON \
    "${extra[@]}" "$@" >/dev/null

# The console and holdfastctl when this tree and configuration have them (-DHOLDFAST_BUILD_CONSOLE=OFF
# makes a gateway-only build and MSI, which needs only Qt Core and Network).
targets=(holdfastd)
known="$(ninja -C "$build" -t targets all 2>/dev/null)"
for target in holdfast-console holdfastctl; do
    grep -q "^$target:" <<<"$known" && targets+=("$target")
done
# The suites check.sh runs under Wine: the store (MoveFileExW, FlushFileBuffers, the fallback to
# config.prev.json) and the rest of common/.
# (-DHOLDFAST_BUILD_TESTS=OFF leaves them out.)
for target in tst_configstore store_writer tst_canonicaljson tst_configsnapshot tst_configvalidator tst_jsondiff tst_protowire; do
    grep -q "^$target:" <<<"$known" && targets+=("$target")
done
nice -n 5 cmake --build "$build" --parallel "$jobs" --target "${targets[@]}"
cmake --build "$build" --target msi
echo "Windows build in $build: programs staged in $build/stage, MSI $(ls "$build"/holdfast-*-x64.msi)"
