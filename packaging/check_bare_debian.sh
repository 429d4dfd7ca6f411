#!/usr/bin/env bash
# Installs a built .deb into a bare Debian (debootstrap --variant=minbase, no
# X, no fonts, no Python) and runs it there: the proof that the package's
# Depends are enough on a machine that has nothing else.
#
#   packaging/check_bare_debian.sh dist/inspector_0.1.0_amd64.deb [SUITE]
#
# SUITE defaults to the build machine's own release (bookworm here). Needs
# root, debootstrap (apt-get install debootstrap) and the Debian mirror;
# takes about a minute. Installs with `dpkg -i` and `apt-get install -f
# --no-install-recommends` (the strictest case), checks that no bundled
# library is left unresolved, runs --version, --headless and --selftest
# offscreen, then `dpkg -r`. The chroot is deleted afterwards. Not part of
# CI (ci_package.sh checks the same on the CI machine itself); run it when
# packaging/linux/depends or the Qt plugins kept change.
set -euo pipefail

deb=$(readlink -f "${1:?usage: check_bare_debian.sh PACKAGE.deb [SUITE]}")
suite=${2:-$(. /etc/os-release && echo "${VERSION_CODENAME:?}")}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

die() { printf 'check_bare_debian: FAILED: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "apt-get install debootstrap first"
[ -f "$deb" ] || die "$deb not found"

root=$(mktemp -d /tmp/inspector-bare.XXXXXX)
chmod 755 "$root"  # apt drops to the _apt user inside
cleanup() {
    local status=$?
    # Unmount before deleting, or rm would reach into the host's /dev.
    for mnt in "$root/dev" "$root/proc"; do
        mountpoint -q "$mnt" && umount "$mnt"
    done
    if ! grep -q " $root/" /proc/mounts; then
        rm -rf "$root"
    else
        echo "check_bare_debian: $root still has mounts; not deleted" >&2
    fi
    exit "$status"
}
trap cleanup EXIT

echo "check_bare_debian: debootstrap $suite (minbase) into $root"
debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$root.log" 2>&1 || { cat "$root.log"; die "debootstrap"; }
rm -f "$root.log"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/root/"

chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive DEB="/root/$(basename "$deb")" /bin/bash -euo pipefail -c '
apt-get update -q > /dev/null
dpkg -i "$DEB" > /dev/null 2>&1 || apt-get install -f -y -q --no-install-recommends > /tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
dpkg-query -W -f="\${Status}\n" inspector | grep -q "install ok installed"
echo "check_bare_debian: installed with $(grep -c "^Setting up" /tmp/apt.log 2>/dev/null || true) packages pulled in"
unresolved=$(find /opt/inspector -type f \( -name "*.so*" -o -name inspector \) -exec sh -c \
    "LD_LIBRARY_PATH=/opt/inspector/_internal ldd \"\$1\" 2>/dev/null | grep \"not found\" | sed \"s|^|\$1: |\"" _ {} \; | sort -u)
[ -z "$unresolved" ] || { echo "$unresolved"; exit 1; }
echo "check_bare_debian: every bundled library resolves"
cd /
/usr/bin/inspector --version
/usr/bin/inspector --headless --listen 127.0.0.1:0 > /tmp/headless.log 2>&1 & pid=$!
sleep 3; kill -TERM $pid; wait $pid
grep "^listening on" /tmp/headless.log
QT_QPA_PLATFORM=offscreen timeout 120 /usr/bin/inspector --selftest --screenshot /root/selftest.png
test -s /root/selftest.png
dpkg -r inspector > /dev/null
test ! -e /usr/bin/inspector
'
echo "check_bare_debian: ok on a bare $suite"
