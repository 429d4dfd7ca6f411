"""The GNOME backend for real, against GSettings' keyfile backend in a
temporary XDG_CONFIG_HOME (never the desktop's own settings): set and
restore, restore after the window is killed (by the next start, and by the
watchdog), and a setting the user changed meanwhile left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector.core.sysproxy import STATE_FILE, ProxyTarget
from inspector.sysproxy.backends import GnomeBackend
from inspector.sysproxy.manager import SystemProxy


def _schema_missing() -> str | None:
    try:
        listed = subprocess.run(
            ["gsettings", "list-schemas"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "gsettings is not installed (libglib2.0-bin)"
    if "org.gnome.system.proxy" not in listed.split():
        return "the org.gnome.system.proxy schema is missing (gsettings-desktop-schemas)"
    return None


pytestmark = pytest.mark.skipif(_schema_missing() is not None, reason=str(_schema_missing()))

KEYS = (
    "org.gnome.system.proxy mode",
    "org.gnome.system.proxy.http host",
    "org.gnome.system.proxy.http port",
    "org.gnome.system.proxy.https host",
    "org.gnome.system.proxy.https port",
    "org.gnome.system.proxy ignore-hosts",
)


@pytest.fixture
def desktop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private GSettings store with a proxy of the user's own."""
    monkeypatch.setenv("GSETTINGS_BACKEND", "keyfile")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    _set("org.gnome.system.proxy mode", "'manual'")
    _set("org.gnome.system.proxy.http host", "'corp-proxy'")
    _set("org.gnome.system.proxy.http port", "3128")
    return tmp_path / "xdg" / "glib-2.0" / "settings" / "keyfile"


def _get(name: str) -> str:
    done = subprocess.run(["gsettings", "get", *name.split()], capture_output=True, text=True)
    return done.stdout.strip()


def _set(name: str, value: str) -> None:
    subprocess.run(["gsettings", "set", *name.split(), value], check=True)


def _all() -> dict[str, str]:
    return {name: _get(name) for name in KEYS}


def test_set_and_restore(desktop: Path, tmp_path: Path) -> None:
    before = _all()
    assert before["org.gnome.system.proxy.http host"] == "'corp-proxy'"
    manager = SystemProxy(tmp_path / "conf", GnomeBackend())
    manager.enable(ProxyTarget("127.0.0.1", 18080))
    assert (tmp_path / "conf" / STATE_FILE).is_file()
    assert _all() == {
        "org.gnome.system.proxy mode": "'manual'",
        "org.gnome.system.proxy.http host": "'127.0.0.1'",
        "org.gnome.system.proxy.http port": "18080",
        "org.gnome.system.proxy.https host": "'127.0.0.1'",
        "org.gnome.system.proxy.https port": "18080",
        "org.gnome.system.proxy ignore-hosts": "['localhost', '127.0.0.0/8', '::1']",
    }
    assert "18080" in desktop.read_text()
    outcome = manager.restore()
    assert outcome.restored
    assert _all() == before
    assert not manager.active
    # Nothing left to do: a second restore is a no-op.
    assert manager.restore().message == ""


def test_left_alone_when_the_user_changed_it(
    desktop: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = SystemProxy(tmp_path / "conf", GnomeBackend())
    manager.enable(ProxyTarget("127.0.0.1", 18080))
    _set("org.gnome.system.proxy mode", "'none'")
    outcome = manager.restore()
    assert not outcome.restored
    assert "org.gnome.system.proxy mode" in outcome.message
    assert "left as it is" in caplog.text
    assert _get("org.gnome.system.proxy mode") == "'none'"
    assert _get("org.gnome.system.proxy.http host") == "'127.0.0.1'"
    assert not manager.active


WINDOW = """
import sys, time
from pathlib import Path
from inspector.core.sysproxy import ProxyTarget
from inspector.sysproxy.backends import GnomeBackend
from inspector.sysproxy.manager import SystemProxy

manager = SystemProxy(Path(sys.argv[1]), GnomeBackend())
manager.enable(ProxyTarget("127.0.0.1", 18080))
if sys.argv[2] == "watchdog":
    manager.spawn_watchdog()
print("set", flush=True)
time.sleep(60)
"""


def _killed_window(confdir: Path, watchdog: bool) -> None:
    """A process that sets the proxy, then dies by SIGKILL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WINDOW, str(confdir), "watchdog" if watchdog else "-"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "set\n"
        assert _get("org.gnome.system.proxy.http port") == "18080"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_the_next_start_restores_after_a_crash(desktop: Path, tmp_path: Path) -> None:
    before = _all()
    confdir = tmp_path / "conf"
    _killed_window(confdir, watchdog=False)
    assert _get("org.gnome.system.proxy.http port") == "18080"
    outcome = SystemProxy(confdir, GnomeBackend()).recover()
    assert outcome is not None and outcome.restored
    assert _all() == before


def test_the_watchdog_restores_after_a_kill(desktop: Path, tmp_path: Path) -> None:
    before = _all()
    confdir = tmp_path / "conf"
    _killed_window(confdir, watchdog=True)
    deadline = time.monotonic() + 15
    while (confdir / STATE_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (confdir / STATE_FILE).exists()
    assert _all() == before
    # Nothing is left for the next start.
    assert SystemProxy(confdir, GnomeBackend()).recover() is None


def test_a_running_window_is_not_recovered_from(desktop: Path, tmp_path: Path) -> None:
    confdir = tmp_path / "conf"
    window = SystemProxy(confdir, GnomeBackend(), pid=os.getppid())
    window.enable(ProxyTarget("127.0.0.1", 18080))
    assert SystemProxy(confdir, GnomeBackend()).recover() is None
    assert _get("org.gnome.system.proxy.http port") == "18080"
    assert window.restore().restored
