#!/usr/bin/env bash
# Builds Inspector's PyInstaller bundle and a Debian package from it:
#
#   packaging/build_deb.sh            -> dist/inspector_<version>_<arch>.deb
#
# The package installs the bundle to /opt/inspector, links /usr/bin/inspector
# to it, and puts the .desktop entry in /usr/share/applications and the icons
# in /usr/share/icons/hicolor. Its Depends come from packaging/linux/depends,
# checked against the bundle by packaging/check_deps.py.
#
# Environment:
#   PYTHON     the venv's python with Inspector installed (default .venv/bin/python)
#   BUILD_DIR  scratch folder (default build/package)
#   DIST_DIR   where the .deb goes (default dist)
#   DEB_COMPRESS  dpkg-deb compression (default xz: ~40 s here, 31 MB;
#              zstd: under a second, 42 MB, needs dpkg 1.21.18+)
# PyInstaller is installed into that venv from packaging/requirements.txt
# when the pinned version is missing. Needs dpkg-deb (Debian, Ubuntu).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/package}
DIST_DIR=${DIST_DIR:-$ROOT/dist}
DEB_COMPRESS=${DEB_COMPRESS:-xz}
PACKAGE=inspector
PREFIX=/opt/inspector

say() { printf 'build_deb: %s\n' "$*"; }
die() { printf 'build_deb: error: %s\n' "$*" >&2; exit 1; }

[ -x "$PYTHON" ] || die "$PYTHON not found; run 'make test' (or 'make run') first to create the venv"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found; build the .deb on Debian or Ubuntu"
start=$(date +%s)

# PyInstaller, pinned (packaging/requirements.txt)
pinned=$(sed -n 's/^pyinstaller==\([^ ]*\).*/\1/p' "$ROOT/packaging/requirements.txt")
if ! "$PYTHON" - "$pinned" <<'EOF' 2>/dev/null; then
import sys, PyInstaller
sys.exit(PyInstaller.__version__ != sys.argv[1])
EOF
    say "installing PyInstaller $pinned into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    mkdir -p "$BUILD_DIR"
    "$PYTHON" -m pip install -q --disable-pip-version-check -r "$ROOT/packaging/requirements.txt" \
        > "$BUILD_DIR/pip.log" 2>&1 || { cat "$BUILD_DIR/pip.log" >&2; die "cannot install PyInstaller"; }
fi

# Name, version and architecture: from the package itself and from dpkg.
pyversion=$("$PYTHON" - "$ROOT" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import inspector
print(inspector.__version__)
EOF
)
# PEP 440 pre-releases sort before the release in Debian only with a tilde:
# 1.0.0rc1 -> 1.0.0~rc1, 1.0.0.dev3 -> 1.0.0~dev3.
version=$(printf '%s' "$pyversion" | sed -E 's/\.?(a|b|rc|dev)([0-9]*)/~\1\2/g')
arch=$(dpkg --print-architecture)
deb="$DIST_DIR/${PACKAGE}_${version}_${arch}.deb"
say "building $PACKAGE $version for $arch"

# 1. The bundle
rm -rf "$BUILD_DIR/bundle" "$BUILD_DIR/work" "$BUILD_DIR/deb"
mkdir -p "$BUILD_DIR" "$DIST_DIR"
bundle_start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$BUILD_DIR/bundle" --workpath "$BUILD_DIR/work" \
    "$ROOT/packaging/inspector.spec" > "$BUILD_DIR/pyinstaller.log" 2>&1 \
    || { cat "$BUILD_DIR/pyinstaller.log" >&2; die "PyInstaller failed"; }
bundle="$BUILD_DIR/bundle/$PACKAGE"
say "bundle built in $(( $(date +%s) - bundle_start )) s: $(du -sh "$bundle" | cut -f1) in $bundle"

# PyInstaller exits 0 even when it could not analyse one of our modules (a
# syntax error mid-edit): it then leaves the module, and Qt with it, out.
if grep -q "invalid module named inspector" "$BUILD_DIR/work/$PACKAGE/warn-$PACKAGE.txt" 2>/dev/null; then
    grep "invalid module named inspector" "$BUILD_DIR/work/$PACKAGE/warn-$PACKAGE.txt" >&2
    die "PyInstaller could not analyse part of the package (see above)"
fi
compgen -G "$bundle/_internal/PySide6/QtWidgets.*" > /dev/null || die "the bundle has no QtWidgets"
got=$(cd / && "$bundle/$PACKAGE" --version)
[ "$got" = "inspector $pyversion" ] || die "the bundle says '$got' for --version, not 'inspector $pyversion'"

# 2. Its system libraries must all be declared. Libraries not installed on
#    this machine cannot be checked here (CI checks the installed package).
python3 "$ROOT/packaging/check_deps.py" "$bundle" || die "packaging/linux/depends is incomplete"

# 3. The package tree
tree="$BUILD_DIR/deb"
mkdir -p "$tree/DEBIAN" "$tree$PREFIX" "$tree/usr/bin" "$tree/usr/share/applications" \
    "$tree/usr/share/doc/$PACKAGE" "$tree/usr/share/icons/hicolor/scalable/apps"
cp -a "$bundle/." "$tree$PREFIX/"
ln -s "$PREFIX/$PACKAGE" "$tree/usr/bin/$PACKAGE"
install -m 644 "$ROOT/resources/inspector.desktop" "$tree/usr/share/applications/$PACKAGE.desktop"
install -m 644 "$ROOT/resources/inspector.svg" "$tree/usr/share/icons/hicolor/scalable/apps/$PACKAGE.svg"
for png in "$ROOT"/resources/icons/inspector-*.png; do
    size=$(basename "$png" .png); size=${size#inspector-}
    install -D -m 644 "$png" "$tree/usr/share/icons/hicolor/${size}x${size}/apps/$PACKAGE.png"
done
cat > "$tree/usr/share/doc/$PACKAGE/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Inspector

Files: *
License: MIT
Comment: /opt/inspector bundles Python, Qt (PySide6, LGPLv3), ICU and the
 Python packages Inspector uses, each under its own license.
EOF
# Debian wants files 644 and folders 755, owned by root (--root-owner-group).
find "$tree" -type d -exec chmod 755 {} +
find "$tree" -type f ! -perm -u+x -exec chmod 644 {} +
find "$tree" -type f -perm -u+x -exec chmod 755 {} +

depends=$(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' \
    "$ROOT/packaging/linux/depends" | paste -sd, - | sed 's/,/, /g')
installed_size=$(du -sk --apparent-size "$tree" | cut -f1)
cat > "$tree/DEBIAN/control" <<EOF
Package: $PACKAGE
Version: $version
Architecture: $arch
Maintainer: Inspector developers <inspector@localhost>
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Description: HTTP/HTTPS debugging proxy with a desktop window
 Inspector shows every request and response that passes through it, live,
 including HTTPS (CONNECT with TLS interception by a CA made on this
 machine). Its proxy engine runs apart from the window, so the proxy never
 stalls because the window is busy. Run "inspector" for the window or
 "inspector --headless" for the terminal.
EOF
# The hicolor icon theme and desktop-file-utils have dpkg triggers on the
# folders we install into, so no maintainer scripts are needed.

rm -f "$deb"
dpkg-deb --root-owner-group -Z"$DEB_COMPRESS" --build "$tree" "$deb" > /dev/null
say "wrote $deb ($(du -h "$deb" | cut -f1); installed size $(( installed_size / 1024 )) MiB) in $(( $(date +%s) - start )) s"
