#!/bin/sh
# Install the unpacked desktop bundle for the current user (no root, no Python needed):
#   ./install.sh            copies this folder to ~/.local/opt/wedsync-app, links
#                           ~/.local/bin/wedsync-app, adds the menu entry and the icon
#   ./install.sh --remove   undoes it (your profiles in ~/.local/share/wedsync stay)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/wedsync-app
if [ "${1:-}" = "--remove" ]; then
  rm -rf "$opt" "$HOME/.local/bin/wedsync-app" "$data/applications/wedsync.desktop"
  find "$data/icons/hicolor" -name wedsync.png -delete 2>/dev/null || true
  echo "removed"; exit 0
fi
if [ "$here" != "$opt" ]; then
  rm -rf "$opt" && mkdir -p "$(dirname "$opt")" && cp -a "$here" "$opt"
fi
mkdir -p "$HOME/.local/bin" "$data/applications"
ln -sf "$opt/wedsync-app" "$HOME/.local/bin/wedsync-app"
cp -R "$opt/icons/hicolor" "$data/icons/" 2>/dev/null || { mkdir -p "$data/icons"; cp -R "$opt/icons/hicolor" "$data/icons/"; }
sed "s|^Exec=wedsync-app|Exec=$opt/wedsync-app|" "$opt/wedsync.desktop" > "$data/applications/wedsync.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed: $opt (menu entry: WedSync Marketing)"
