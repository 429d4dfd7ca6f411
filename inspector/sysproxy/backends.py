"""Reading and writing the desktop's proxy settings: one backend per
platform, each turning a ``Snapshot`` (``core/sysproxy.py``) into the
platform's commands or registry calls and back.

Commands go through a ``Runner`` and the Windows registry through a
``Registry``, both injectable, so tests check the exact plan with fakes
and the GNOME backend runs for real against GSettings' keyfile backend.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from inspector.core.sysproxy import (
    KDE_GROUP,
    MAC_KINDS,
    WINDOWS_DWORD,
    WINDOWS_KEY,
    ProxyTarget,
    Snapshot,
    gnome_plan,
    kde_plan,
    mac_bypass_value,
    mac_commands,
    mac_plan,
    mac_proxy_value,
    mac_services,
    windows_plan,
)

Runner = Callable[[Sequence[str]], str]
"""Runs a command and returns its standard output; SystemProxyError when
it cannot be run or fails."""

COMMAND_TIMEOUT = 10.0


class SystemProxyError(Exception):
    """A proxy setting could not be read or written (one line)."""


def run_command(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SystemProxyError(f"cannot run {command[0]}: {exc}") from None
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise SystemProxyError(f"{command[0]} failed: {why[0]}")
    return done.stdout


class Backend(Protocol):
    name: str

    def plan(self, target: ProxyTarget) -> Snapshot: ...
    def read(self, names: Sequence[str]) -> Snapshot: ...
    def write(self, values: Snapshot) -> None: ...


class GnomeBackend:
    """GSettings (``org.gnome.system.proxy``), through ``gsettings``."""

    name = "gnome"

    def __init__(self, run: Runner = run_command) -> None:
        self._run = run

    def plan(self, target: ProxyTarget) -> Snapshot:
        return gnome_plan(target)

    def read(self, names: Sequence[str]) -> Snapshot:
        return {name: self._run(["gsettings", "get", *name.split(" ")]).strip() for name in names}

    def write(self, values: Snapshot) -> None:
        # The mode last: hosts and ports are in place when it turns manual.
        for name in sorted(values, key=lambda n: n.endswith(" mode")):
            value = values[name]
            schema, key = name.split(" ")
            if value is None:
                self._run(["gsettings", "reset", schema, key])
            else:
                self._run(["gsettings", "set", schema, key, value])


UNSET = "\x00inspector-unset"
"""kreadconfig's default for a key that is absent (told apart from empty)."""


class KdeBackend:
    """Plasma's kioslaverc through kwriteconfig6 (or 5), then a D-Bus
    signal so running KIO workers read it again."""

    name = "kde"

    def __init__(self, run: Runner = run_command, version: str | None = None) -> None:
        self._run = run
        self._version = version or ("6" if shutil.which("kwriteconfig6") else "5")

    def plan(self, target: ProxyTarget) -> Snapshot:
        return kde_plan(target)

    def _where(self, key: str) -> list[str]:
        return ["--file", "kioslaverc", "--group", KDE_GROUP, "--key", key]

    def read(self, names: Sequence[str]) -> Snapshot:
        values: Snapshot = {}
        for key in names:
            command = [f"kreadconfig{self._version}", *self._where(key), "--default", UNSET]
            value = self._run(command).rstrip("\n")
            values[key] = None if value == UNSET else value
        return values

    def write(self, values: Snapshot) -> None:
        tool = f"kwriteconfig{self._version}"
        for key, value in values.items():
            if value is None:
                self._run([tool, *self._where(key), "--delete"])
            else:
                self._run([tool, *self._where(key), value])
        # Without a session bus, new applications still read the file.
        with contextlib.suppress(SystemProxyError):
            self._run(
                [
                    "dbus-send",
                    "--type=signal",
                    "/KIO/Scheduler",
                    "org.kde.KIO.Scheduler.reparseSlaveConfiguration",
                    "string:",
                ]
            )


class MacBackend:
    """networksetup, for every enabled network service."""

    name = "macos"

    def __init__(self, run: Runner = run_command) -> None:
        self._run = run

    def plan(self, target: ProxyTarget) -> Snapshot:
        services = mac_services(self._run(["networksetup", "-listallnetworkservices"]))
        if not services:
            raise SystemProxyError("networksetup lists no enabled network service")
        return mac_plan(services, target)

    def read(self, names: Sequence[str]) -> Snapshot:
        values: Snapshot = {}
        for name in names:
            service, _, kind = name.rpartition("/")
            if kind in MAC_KINDS:
                output = self._run(["networksetup", f"-get{kind}proxy", service])
                values[name] = mac_proxy_value(output)
            else:
                output = self._run(["networksetup", "-getproxybypassdomains", service])
                values[name] = mac_bypass_value(output)
        return values

    def write(self, values: Snapshot) -> None:
        for command in mac_commands(values):
            self._run(command)


class Registry(Protocol):
    """The per-user ``Internet Settings`` key, as WindowsBackend uses it."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str, dword: bool) -> None: ...
    def delete(self, name: str) -> None: ...
    def refresh(self) -> None: ...


class WindowsBackend:
    """WinINet's registry values, then InternetSetOption so running
    applications see the change without a restart."""

    name = "windows"

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry if registry is not None else WinRegistry()

    def plan(self, target: ProxyTarget) -> Snapshot:
        return windows_plan(target)

    def read(self, names: Sequence[str]) -> Snapshot:
        return {name: self._registry.get(name) for name in names}

    def write(self, values: Snapshot) -> None:
        for name, value in values.items():
            if value is None:
                self._registry.delete(name)
            else:
                self._registry.set(name, value, name in WINDOWS_DWORD)
        self._registry.refresh()


class WinRegistry:
    """HKEY_CURRENT_USER\\``WINDOWS_KEY`` through ``winreg`` (Windows only)."""

    INTERNET_OPTION_SETTINGS_CHANGED = 39
    INTERNET_OPTION_REFRESH = 37

    def get(self, name: str) -> str | None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_KEY) as key:
                value, _kind = winreg.QueryValueEx(key, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, name: str, value: str, dword: bool) -> None:
        winreg = _winreg()

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, WINDOWS_KEY) as key:
            if dword:
                winreg.SetValueEx(key, name, 0, winreg.REG_DWORD, int(value))
            else:
                winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, WINDOWS_KEY, 0, winreg.KEY_SET_VALUE
            ) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass

    def refresh(self) -> None:
        import ctypes

        wininet = ctypes.windll.wininet  # type: ignore[attr-defined,unused-ignore]
        wininet.InternetSetOptionW(None, self.INTERNET_OPTION_SETTINGS_CHANGED, None, 0)
        wininet.InternetSetOptionW(None, self.INTERNET_OPTION_REFRESH, None, 0)


def _winreg() -> Any:
    """``winreg``, typed loosely: it exists on Windows alone."""
    return importlib.import_module("winreg")


def backend_named(name: str, run: Runner = run_command) -> Backend:
    """The backend a state file names (SystemProxyError if unknown)."""
    if name == "gnome":
        return GnomeBackend(run)
    if name == "kde":
        return KdeBackend(run)
    if name == "macos":
        return MacBackend(run)
    if name == "windows":
        if sys.platform != "win32":
            raise SystemProxyError("the Windows proxy settings exist only on Windows")
        return WindowsBackend()
    raise SystemProxyError(f"unknown system proxy backend {name!r}")
