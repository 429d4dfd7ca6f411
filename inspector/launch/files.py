"""Where launched clients keep their files: a directory per launch under
``launched/`` in the configuration directory (a browser's fresh profile
and its log, removed once it exits), and the CA files the environment
points at, under ``launch/``.

Every launch directory holds the pid of the process watching its client;
a directory whose watcher is gone (killed, or the machine went down) is a
leftover, removed at the next launch.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from inspector.core import node_proxy
from inspector.core.launch_env import BUNDLE_FILE, SYSTEM_BUNDLES, bundle_text

LAUNCHED = "launched"
CA_FILES = "launch"
PID_FILE = "watcher.pid"
CA_FILE = "inspector-ca.pem"
UNCLAIMED_AGE = 60.0
"""Seconds after which a launch directory that never got a watcher's pid
(its launch failed before) counts as a leftover."""


def launched_dir(confdir: Path) -> Path:
    return confdir / LAUNCHED


def new_launch_dir(confdir: Path, name: str) -> Path:
    """A fresh, private directory for one launch of client ``name``."""
    parent = launched_dir(confdir)
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone's; not a leftover of ours to judge
    except OSError:
        return False
    return True


def sweep(confdir: Path, is_alive: Callable[[int], bool] = alive) -> list[Path]:
    """Remove the launch directories whose watcher is gone; the removed."""
    removed: list[Path] = []
    try:
        entries = list(launched_dir(confdir).iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.is_dir() or entry.is_symlink():
            continue
        try:
            pid = int((entry / PID_FILE).read_text().strip() or 0)
        except (OSError, ValueError):
            try:
                young = now - entry.stat().st_mtime < UNCLAIMED_AGE
            except OSError:
                continue
            if young:
                continue  # a launch being set up right now
            pid = 0
        if pid and is_alive(pid):
            continue
        remove(entry)
        if not entry.exists():
            removed.append(entry)
    return removed


def remove(directory: Path, attempts: int = 5) -> None:
    """Remove ``directory``; a browser's helpers may still be writing to
    it for a moment after the browser exits, so try a few times."""
    for attempt in range(attempts):
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            return
        time.sleep(0.2 * (attempt + 1))


def system_bundle(exists: Callable[[str], bool] = os.path.isfile) -> str | None:
    """The system's CAs as one PEM file, if this system keeps one."""
    paths = ssl.get_default_verify_paths()
    for path in (paths.cafile, paths.openssl_cafile, *SYSTEM_BUNDLES):
        if path and exists(path):
            return path
    return None


def certifi_bundle() -> str | None:
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())


def write_ca_files(confdir: Path, ca_pem: str) -> tuple[Path, Path, str]:
    """Inspector's CA alone and the bundle (the system's CAs plus
    Inspector's), written where the environment can point at them for as
    long as it is used; and a note when the system's CAs are not in it."""
    directory = confdir / CA_FILES
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    note = ""
    source = system_bundle()
    if source is None:
        source = certifi_bundle()
        if source is not None:
            note = f"no system CA bundle found; using certifi's ({source}) with Inspector's CA"
        else:
            note = "no system CA bundle found; the bundle holds Inspector's CA alone"
    system = ""
    if source is not None:
        try:
            system = Path(source).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            note = f"cannot read the system CA bundle {source}: {exc.strerror}"
    ca_path = directory / CA_FILE
    bundle_path = directory / BUNDLE_FILE
    _write(ca_path, ca_pem.strip() + "\n")
    _write(bundle_path, bundle_text(system, ca_pem))
    return ca_path, bundle_path, note


def write_node_script(confdir: Path) -> Path:
    """The script older Node versions load to use the proxy
    (``core.node_proxy``), written where the environment points at it."""
    directory = confdir / CA_FILES
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / node_proxy.FILE
    _write(path, node_proxy.SCRIPT)
    return path


def _write(path: Path, text: str) -> None:
    """Replace ``path`` whole: a shell reading it meanwhile sees the old
    file or the new one, never half of one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    with contextlib.suppress(OSError):
        temporary.chmod(0o644)
    os.replace(temporary, path)
