#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Holdfast needs to build, run and test, when they are missing.
# Usage: scripts/install-deps.sh [--bench] [--windows]   (run as root, or with sudo available)
#   --bench    load generators and valgrind for bench/
#   --windows  Wine, wixl and Xvfb for the Windows build and its proof (scripts/windows/); not needed by CI
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config qt6-base-dev qt6-base-dev-tools libqt6test6 node-llhttp ccache libssl-dev
          qt6-websockets-dev
          etcd-server etcd-client nginx-light curl ca-certificates procps iproute2 util-linux python3 dpkg-dev
          g++-mingw-w64-x86-64-posix
          qt6-qpa-plugins librsvg2-bin imagemagick xvfb xdotool x11-utils)
for arg in "$@"; do
    case "$arg" in
        --bench) packages+=(wrk valgrind) ;;
        --windows) packages+=(wine wine64 wixl msitools) ;;
        *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Debian starts services from packages by default; the demo and the tests start their own.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
