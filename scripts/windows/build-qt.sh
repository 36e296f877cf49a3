#!/usr/bin/env bash
# Builds Qt (qtbase: Core, Gui, Widgets, Network, Test) for Windows x64 with MinGW-w64 from Debian's own
# qt6-base source, the same version as the host Qt, and caches the install outside the checkout.
# Prints the install prefix (pass it to scripts/windows/build.sh) as the last line.
# Usage: scripts/windows/build-qt.sh [--print-prefix]
#   --print-prefix  only print where the cache for this script and Qt version is (built or not)
# Environment: HOLDFAST_QT_CACHE (default /var/cache/holdfast), JOBS (default 2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchain="$here/mingw-w64-x86_64.cmake"
cache_root="${HOLDFAST_QT_CACHE:-/var/cache/holdfast}"
jobs="${JOBS:-2}"

# The host Qt's source version: moc/rcc/uic come from the host and must match the target Qt.
qt_version="$(dpkg-query -W -f='${source:Version}' qt6-base-dev 2>/dev/null || true)"
if [[ -z "$qt_version" ]]; then
    echo "build-qt.sh: qt6-base-dev is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
# Keyed by this script and the toolchain file, so a changed recipe never reuses a stale build.
recipe_hash="$(cat "$0" "$toolchain" | sha256sum | cut -c1-12)"
prefix="$cache_root/qt-mingw-${qt_version//[:+~]/_}-$recipe_hash"

if [[ "${1:-}" == "--print-prefix" ]]; then
    echo "$prefix"
    exit 0
fi
if [[ -x "$prefix/bin/qt-cmake" && -f "$prefix/.complete" ]]; then
    echo "Qt for MinGW already built: $prefix"
    echo "$prefix"
    exit 0
fi

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

work="$cache_root/work-${qt_version//[:+~]/_}"
mkdir -p "$work" 2>/dev/null || { $sudo mkdir -p "$work" && $sudo chown "$(id -u):$(id -g)" "$cache_root" "$work"; }

# Debian's source package, fetched with apt: a deb-src entry for the release this machine runs.
src="$(find "$work" -maxdepth 1 -type d -name 'qt6-base-*' | head -n1)"
if [[ -z "$src" ]]; then
    if ! apt-get source --print-uris qt6-base >/dev/null 2>&1; then
        codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
        printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$codename" "$codename" | $sudo tee /etc/apt/sources.list.d/holdfast-deb-src.sources >/dev/null
        $sudo apt-get update -qq
    fi
    (cd "$work" && apt-get source -qq "qt6-base=$qt_version")
    src="$(find "$work" -maxdepth 1 -type d -name 'qt6-base-*' | head -n1)"
fi
echo "Qt source: $src"

build="$work/build-$recipe_hash"
started=$(date +%s)
# Debian's source drops wintab.h, hence no tablet events; the Windows platform plugin of 6.4 needs
# OpenGL (built as dynamic OpenGL, nothing to link); TLS comes from Schannel, not OpenSSL.
cmake -G Ninja -S "$src" -B "$build" \
    -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DQT_HOST_PATH=/usr \
    -DQT_HOST_PATH_CMAKE_DIR=/usr/lib/x86_64-linux-gnu/cmake \
    -DQT_BUILD_EXAMPLES=OFF -DQT_BUILD_TESTS=OFF \
    -DFEATURE_sql=OFF -DFEATURE_dbus=OFF \
    -DFEATURE_tabletevent=OFF \
    -DINPUT_openssl=no
nice -n 19 cmake --build "$build" --parallel "$jobs"
cmake --install "$build"
touch "$prefix/.complete"
echo "Qt for MinGW built in $(( ($(date +%s) - started) / 60 )) min: $prefix"
echo "$prefix"
