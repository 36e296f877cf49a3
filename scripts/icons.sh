#!/usr/bin/env bash
# Renders every icons/*.svg to icons/png/<size>/<name>.png and icons/holdfast.ico (the PNGs and the ICO are
# committed: the build, the .deb and the MSI take them as they are). Run it after changing an SVG.
# Needs rsvg-convert (librsvg2-bin) and ImageMagick's convert (imagemagick); install-deps.sh installs both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/icons"
sizes=(16 22 24 32 48 64 128 256)
for svg in *.svg; do
    name=${svg%.svg}
    for size in "${sizes[@]}"; do
        mkdir -p "png/$size"
        rsvg-convert --width "$size" --height "$size" --keep-aspect-ratio "$svg" --output "png/$size/$name.png"
    done
done
# The application icon for Windows (exe resource, MSI, shortcuts): every size an ICO usually carries.
convert png/16/holdfast.png png/24/holdfast.png png/32/holdfast.png png/48/holdfast.png png/64/holdfast.png \
    png/128/holdfast.png png/256/holdfast.png holdfast.ico
# Drop metadata that changes at every run (dates), so unchanged icons make no diff.
if command -v optipng >/dev/null 2>&1; then optipng -quiet -strip all png/*/*.png; fi
echo "icons: $(ls png/*/*.png | wc -l) PNGs and holdfast.ico"
