#!/usr/bin/env bash
# CI: build the Debian package, install it, check the installed app, remove it.
#
#   packaging/ci_package.sh
#
# Runs as root (dpkg), after `make test` has created .venv. Steps: build the
# .deb with build_deb.sh into a scratch folder; remove any inspector package
# already installed; `dpkg -i` it, letting apt bring in missing Depends;
# check that every library the installed files link resolves and belongs
# to a declared dependency; run /usr/bin/inspector --version, --headless
# and, offscreen, --selftest with a screenshot; `dpkg -r` it and check that
# nothing is left behind. The scratch folder and the package are removed on
# exit, whatever happened, so it can run any number of times.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
SELFTEST_TIMEOUT=${SELFTEST_TIMEOUT:-180}
export DEBIAN_FRONTEND=noninteractive

passed=0
say() { printf 'ci_package: %s\n' "$*"; }
pass() { passed=$((passed + 1)); say "$*"; }
die() {
    printf 'ci_package: FAILED: %s\n' "$*" >&2
    printf 'ci_package: %d passed, 1 failed\n' "$passed"
    exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: it installs and removes a Debian package"
command -v dpkg >/dev/null || die "not a Debian system"

mkdir -p "$ROOT/build"
work=$(mktemp -d "$ROOT/build/ci-package.XXXXXX")
headless_pid=
installed_by_us=0
cleanup() {
    local status=$?
    if [ -n "$headless_pid" ]; then kill "$headless_pid" 2> /dev/null || true; fi
    if [ "$installed_by_us" = 1 ] && dpkg-query -W -f='${Status}' inspector 2>/dev/null | grep -q installed; then
        dpkg -r inspector > /dev/null 2>&1 || true
    fi
    rm -rf "$work"
    rmdir "$ROOT/build" 2> /dev/null || true
    exit "$status"
}
trap cleanup EXIT

# 1. Build
t0=$(date +%s)
PYTHON=$PYTHON BUILD_DIR="$work/build" DIST_DIR="$work/dist" "$ROOT/packaging/build_deb.sh"
deb=$(ls "$work"/dist/inspector_*.deb)
build_seconds=$(( $(date +%s) - t0 ))
version=$(dpkg-deb -f "$deb" Version)
pass "built $(basename "$deb") in ${build_seconds} s"

# 2. Install (from a clean slate)
if dpkg-query -W -f='${Status}' inspector 2>/dev/null | grep -q installed; then
    say "removing the inspector package already installed"
    dpkg -r inspector > /dev/null 2>&1
fi
installed_by_us=1
say "dpkg -i $(basename "$deb")"
if ! dpkg -i "$deb" > "$work/dpkg.log" 2>&1; then
    say "dpkg left dependencies to install; apt-get install -f"
    if ! apt-get install -f -y -q > "$work/apt.log" 2>&1; then
        say "retrying after apt-get update"
        apt-get update -q > /dev/null
        apt-get install -f -y -q > "$work/apt.log" 2>&1 || { cat "$work/dpkg.log" "$work/apt.log" >&2; die "cannot install the Depends"; }
    fi
fi
dpkg-query -W -f='${Status}' inspector | grep -q "install ok installed" \
    || { cat "$work/dpkg.log" "$work/apt.log" >&2 2>/dev/null; die "the package is not installed"; }
[ -L /usr/bin/inspector ] && [ -x /opt/inspector/inspector ] || die "/usr/bin/inspector or /opt/inspector missing"
for f in /usr/share/applications/inspector.desktop /usr/share/icons/hicolor/scalable/apps/inspector.svg \
    /usr/share/icons/hicolor/48x48/apps/inspector.png /usr/share/icons/hicolor/512x512/apps/inspector.png; do
    [ -f "$f" ] || die "$f not installed"
done
pass "installed: /usr/bin/inspector, /opt/inspector, the .desktop entry and the icons"

# 3. Every library resolves, and each comes from a declared dependency.
python3 "$ROOT/packaging/check_deps.py" --strict \
    --depends "$(dpkg-query -W -f='${Depends}' inspector)" /opt/inspector > "$work/deps.log" \
    || { cat "$work/deps.log"; die "dependency check"; }
pass "every linked library resolves and comes from a declared dependency"

# 4. The installed app, run from elsewhere with a scratch home, no venv in sight.
cd /
# TMPDIR too: --selftest makes its scratch config folder (with a CA) there.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" TMPDIR="$work/tmp"
mkdir -p "$HOME" "$TMPDIR"
unset VIRTUAL_ENV PYTHONPATH PYTHONHOME
# CI may run with no locale at all; Qt then warns that it switched to UTF-8.
[ -n "${LANG:-}${LC_ALL:-}" ] || export LANG=C.UTF-8

got=$(/usr/bin/inspector --version)
[ "$got" = "inspector $version" ] || die "--version printed '$got'"
pass "--version: $got"

/usr/bin/inspector --headless --listen 127.0.0.1:0 > "$work/headless.log" 2>&1 &
headless_pid=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$work/headless.log" && break
    kill -0 "$headless_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q '^listening on 127.0.0.1:' "$work/headless.log" || { cat "$work/headless.log"; die "--headless did not listen"; }
kill -TERM "$headless_pid"
headless_status=0
wait "$headless_pid" || headless_status=$?
headless_pid=
[ "$headless_status" = 0 ] || { cat "$work/headless.log"; die "--headless exited $headless_status on SIGTERM"; }
pass "--headless: $(head -1 "$work/headless.log"), stopped cleanly by SIGTERM"

t1=$(date +%s)
selftest_status=0
QT_QPA_PLATFORM=offscreen timeout "$SELFTEST_TIMEOUT" /usr/bin/inspector --selftest \
    --screenshot "$work/selftest.png" > "$work/selftest.log" 2>&1 || selftest_status=$?
cat "$work/selftest.log"
[ "$selftest_status" = 0 ] || die "--selftest exited $selftest_status"
grep -q '^selftest ok' "$work/selftest.log" || die "--selftest did not say 'selftest ok'"
[ -s "$work/selftest.png" ] || die "--selftest wrote no screenshot"
pass "--selftest passed in $(( $(date +%s) - t1 )) s"

# 5. Remove, and nothing may be left. (dpkg warns that it keeps /opt when
#    other things live there; that is expected.)
dpkg -r inspector > "$work/dpkg-r.log" 2>&1 || { cat "$work/dpkg-r.log"; die "dpkg -r"; }
installed_by_us=0
[ ! -e /usr/bin/inspector ] && [ ! -e /opt/inspector ] && [ ! -e /usr/share/applications/inspector.desktop ] \
    || die "files left behind after dpkg -r"
pass "removed; nothing left behind"
# The closing line in the plain form CI reads: N passed, N failed.
printf 'ci_package: %d passed, 0 failed\n' "$passed"
