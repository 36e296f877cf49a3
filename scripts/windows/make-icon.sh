#!/usr/bin/env bash
# Renders icons/holdfast.svg into the Windows icon icons/holdfast.ico (16 to 256 px). The .ico is
# committed, so builds need neither tool; run this again after changing the SVG.
# Needs rsvg-convert (librsvg2-bin) and ImageMagick's convert (scripts/install-deps.sh --windows).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sizes=(16 24 32 48 64 128 256)
pngs=()
for size in "${sizes[@]}"; do
    rsvg-convert -w "$size" -h "$size" "$root/icons/holdfast.svg" -o "$tmp/$size.png"
    pngs+=("$tmp/$size.png")
done
convert "${pngs[@]}" "$root/icons/holdfast.ico"
echo "icons/holdfast.ico: ${sizes[*]} px"
