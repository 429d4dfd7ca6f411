#!/usr/bin/env bash
# Builds Inspector.app with PyInstaller and wraps it in a compressed .dmg:
#
#   packaging/macos/build_dmg.sh     -> dist/Inspector-<version>-<arch>.dmg
#
# Run on macOS (11 or newer) with the venv made by `make test` or `make run`;
# it cannot run on Linux (hdiutil is macOS's). The app is built for the
# Mac's own architecture (arm64 or x86_64): PyInstaller builds for the
# Python it runs on, so build once on each kind of Mac, or use a
# universal2 Python and wheels and pass --target-arch universal2 in the spec.
#
# Signing and notarization are left to the release machine, which holds the
# Developer ID certificate:
#   codesign --deep --force --options runtime --sign "Developer ID Application: ..." dist/Inspector.app
#   xcrun notarytool submit dist/Inspector-<version>-<arch>.dmg --keychain-profile ... --wait
#   xcrun stapler staple dist/Inspector-<version>-<arch>.dmg
# Unsigned, Gatekeeper asks the user to right-click > Open the first time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/macos}
DIST_DIR=${DIST_DIR:-$ROOT/dist}

die() { printf 'build_dmg: error: %s\n' "$*" >&2; exit 1; }
[ "$(uname -s)" = Darwin ] || die "this builds a macOS disk image; run it on a Mac"
[ -x "$PYTHON" ] || die "$PYTHON not found; run 'make test' first"
command -v hdiutil >/dev/null || die "hdiutil not found"

"$PYTHON" -m pip install -q --disable-pip-version-check -r "$ROOT/packaging/requirements.txt"
version=$("$PYTHON" -c "import sys; sys.path.insert(0, '$ROOT'); import inspector; print(inspector.__version__)")
arch=$(uname -m)

rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR" "$DIST_DIR"
# The spec builds dist/inspector (the folder) and, on macOS, Inspector.app
# around it, with resources/icons/inspector.icns as its icon.
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$BUILD_DIR/dist" --workpath "$BUILD_DIR/work" "$ROOT/packaging/inspector.spec"
app="$BUILD_DIR/dist/Inspector.app"
[ -d "$app" ] || die "PyInstaller made no Inspector.app"

"$app/Contents/MacOS/inspector" --version
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/inspector" --selftest

# The disk image: the app and a link to /Applications to drag it onto.
stage="$BUILD_DIR/dmg"
mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="$DIST_DIR/Inspector-$version-$arch.dmg"
rm -f "$dmg"
hdiutil create -volname "Inspector $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
echo "build_dmg: wrote $dmg"
