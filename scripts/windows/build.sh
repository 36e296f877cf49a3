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
# Bridge for trees whose HTTP parser is still Debian's libhttp-parser (a Linux-only binary package):
# build it for Windows from Debian's source of the same version. Trees on llhttp build it from
# node-llhttp's C sources in CMake and need nothing here.
if grep -q 'HTTP_PARSER_LIBRARY' "$root/service/CMakeLists.txt" 2>/dev/null; then
    version="$(dpkg-query -W -f='${source:Version}' libhttp-parser-dev)"
    parser="$(dirname "$qt")/http-parser-mingw-${version//[:+~]/_}"
    if [[ ! -f "$parser/lib/libhttp_parser.a" ]]; then
        mkdir -p "$parser/src" "$parser/include" "$parser/lib"
        (cd "$parser/src" && apt-get source -qq "http-parser=$version" >/dev/null 2>&1)
        source_dir="$(find "$parser/src" -maxdepth 1 -type d -name 'http-parser-*' | head -n1)"
        x86_64-w64-mingw32-gcc-posix -O2 -DHTTP_PARSER_STRICT=0 -c "$source_dir/http_parser.c" -o "$parser/src/http_parser.o"
        x86_64-w64-mingw32-ar rcs "$parser/lib/libhttp_parser.a" "$parser/src/http_parser.o"
        cp "$source_dir/http_parser.h" "$parser/include/"
    fi
    extra+=(-DHTTP_PARSER_INCLUDE_DIR="$parser/include" -DHTTP_PARSER_LIBRARY="$parser/lib/libhttp_parser.a")
fi
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
for target in tst_configstore store_writer tst_canonicaljson tst_configsnapshot tst_configvalidator tst_jsondiff; do
    grep -q "^$target:" <<<"$known" && targets+=("$target")
done
nice -n 5 cmake --build "$build" --parallel "$jobs" --target "${targets[@]}"
cmake --build "$build" --target msi
echo "Windows build in $build: programs staged in $build/stage, MSI $(ls "$build"/holdfast-*-x64.msi)"
