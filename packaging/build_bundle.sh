#!/usr/bin/env bash
# Build the desktop bundle: OUT/wedsync-app/ (one folder), then pack it as
# OUT/wedsync-app-<version>-linux-<arch>.tar.gz. Needs the app and package extras:
#   pip install -e '.[app,package]' && bash packaging/build_bundle.sh [OUT [WORK]]
# OUT defaults to dist, WORK (PyInstaller's scratch space and the icons) to build.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=$(realpath -m "${1:-dist}")
work=$(realpath -m "${2:-build}")
app="$dist/wedsync-app"
rm -rf "$work/icons" "$app"
QT_QPA_PLATFORM=offscreen python packaging/make_icon.py "$work/icons" >/dev/null
pyinstaller --noconfirm --log-level WARN --distpath "$dist" --workpath "$work/pyinstaller" \
  packaging/wedsync-app.spec
# at the folder's top, beside the program: the menu entry, the icons and the installer
cp packaging/desktop/wedsync.desktop "$work/icons/wedsync.png" "$app/"
mkdir -p "$app/icons" && cp -R "$work/icons/hicolor" "$app/icons/"
install -m 0755 packaging/desktop/install.sh "$app/install.sh"
version=$("$app/wedsync-app" --version | awk '{print $2}')
archive="$dist/wedsync-app-${version}-linux-$(uname -m).tar.gz"
tar -C "$dist" -czf "$archive" wedsync-app
echo "bundle: $app ($(du -sh "$app" | cut -f1)), archive: $archive ($(du -sh "$archive" | cut -f1))"
