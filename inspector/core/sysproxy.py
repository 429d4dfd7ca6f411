"""The system proxy, planned: what to set so the desktop sends its traffic
to Inspector, what to put back afterwards, and whether putting it back is
still ours to do. Pure functions of plain values; running the commands is
``inspector/sysproxy``'s.

Every backend's settings are a ``Snapshot``: setting name to value, in the
very text the platform's tool prints and takes back (``'manual'`` for a
GSettings string, ``1`` for a KDE ProxyType), ``None`` for a setting that
is not set at all. Enabling reads the current values of the settings the
plan touches (``saved``), records them with the plan (``written``) in a
state file, then writes the plan. Restoring compares what is there now
with ``written``: only when every setting still holds what Inspector wrote
does it put ``saved`` back; if the user changed any of them since, the
proxy configuration is theirs and is left alone (all or nothing, because a
half-restored proxy configuration is worse than either).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.core.flow import authority

Snapshot = dict[str, str | None]

STATE_FILE = "system-proxy.json"
"""In the configuration directory: written before anything is changed."""

BYPASS = ("localhost", "127.0.0.1", "::1")
"""Hosts the desktop reaches directly while Inspector is its proxy."""


@dataclass(frozen=True, slots=True)
class ProxyTarget:
    """Where the desktop should send its traffic: Inspector's address."""

    host: str
    port: int

    @classmethod
    def for_listener(cls, host: str, port: int) -> ProxyTarget:
        """A wildcard listen address is reached on loopback."""
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        return cls(host, port)

    @property
    def authority(self) -> str:
        return authority(self.host, self.port)


# GNOME (and the desktops that share its settings): GSettings.

GNOME = "org.gnome.system.proxy"
GNOME_BYPASS = ("localhost", "127.0.0.0/8", "::1")
"""GNOME's own default ignore list (it takes address ranges)."""


def gnome_plan(target: ProxyTarget) -> Snapshot:
    """``schema key`` -> GVariant text, as ``gsettings get`` prints it."""
    host = _gvariant_string(target.host)
    return {
        f"{GNOME} mode": "'manual'",
        f"{GNOME}.http host": host,
        f"{GNOME}.http port": str(target.port),
        f"{GNOME}.https host": host,
        f"{GNOME}.https port": str(target.port),
        f"{GNOME} ignore-hosts": "[" + ", ".join(_gvariant_string(h) for h in GNOME_BYPASS) + "]",
    }


def _gvariant_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# KDE Plasma: kioslaverc, group "Proxy Settings".

KDE_GROUP = "Proxy Settings"


def kde_plan(target: ProxyTarget) -> Snapshot:
    """kioslaverc keys; ProxyType 1 is "use manually specified settings",
    and KDE writes a proxy as ``http://host port`` (a space, no colon)."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    address = f"http://{host} {target.port}"
    return {
        "ProxyType": "1",
        "httpProxy": address,
        "httpsProxy": address,
        "NoProxyFor": ",".join(BYPASS),
    }


# macOS: networksetup, for each enabled network service.

MAC_KINDS = ("web", "secureweb")
"""networksetup's names for the HTTP and HTTPS proxies."""


def mac_services(listing: str) -> list[str]:
    """Enabled services from ``networksetup -listallnetworkservices``: its
    first line is a note, a disabled service starts with ``*``."""
    lines = [line.strip() for line in listing.splitlines()[1:]]
    return [line for line in lines if line and not line.startswith("*")]


def mac_proxy_value(output: str) -> str:
    """``on|off SERVER PORT`` from ``networksetup -getwebproxy`` output."""
    fields: dict[str, str] = {}
    for line in output.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    state = "on" if fields.get("enabled", "").lower() == "yes" else "off"
    return f"{state} {fields.get('server', '')} {fields.get('port', '0')}"


def mac_bypass_value(output: str) -> str:
    """Domains from ``-getproxybypassdomains``, one space between; empty
    for its "There aren't any bypass domains set" sentence."""
    if "aren't any" in output:
        return ""
    return " ".join(line.strip() for line in output.splitlines() if line.strip())


def mac_plan(services: list[str], target: ProxyTarget) -> Snapshot:
    """``SERVICE/web``, ``SERVICE/secureweb`` (``on SERVER PORT``) and
    ``SERVICE/bypass`` for every enabled service."""
    plan: Snapshot = {}
    for service in services:
        for kind in MAC_KINDS:
            plan[f"{service}/{kind}"] = f"on {target.host} {target.port}"
        plan[f"{service}/bypass"] = " ".join(BYPASS)
    return plan


def mac_commands(values: Snapshot) -> list[list[str]]:
    """The networksetup calls that make ``values`` so."""
    commands: list[list[str]] = []
    for name, value in values.items():
        service, _, kind = name.rpartition("/")
        if kind == "bypass":
            domains = (value or "").split() or ["Empty"]
            commands.append(["networksetup", "-setproxybypassdomains", service, *domains])
            continue
        state, server, port = _three(value or "off  0")
        if server:
            commands.append(["networksetup", f"-set{kind}proxy", service, server, port])
        commands.append(["networksetup", f"-set{kind}proxystate", service, state])
    return commands


def _three(value: str) -> tuple[str, str, str]:
    parts = value.split(" ")
    while len(parts) < 3:
        parts.append("")
    return parts[0], " ".join(parts[1:-1]).strip(), parts[-1] or "0"


# Windows: WinINet's per-user settings in the registry.

WINDOWS_KEY = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
WINDOWS_DWORD = frozenset({"ProxyEnable"})
"""Values stored as REG_DWORD; the others are REG_SZ."""


def windows_plan(target: ProxyTarget) -> Snapshot:
    """``ProxyEnable``, ``ProxyServer`` and ``ProxyOverride`` under
    HKCU\\``WINDOWS_KEY``; ``<local>`` bypasses names without a dot."""
    address = target.authority
    return {
        "ProxyEnable": "1",
        "ProxyServer": f"http={address};https={address}",
        "ProxyOverride": ";".join((*BYPASS, "<local>")),
    }


# Restoring.


@dataclass(frozen=True, slots=True)
class Restore:
    values: Snapshot = field(default_factory=dict)
    """What to write back (empty when nothing is to be done)."""
    changed: tuple[str, ...] = ()
    """Settings the user changed since Inspector wrote them: when any,
    nothing is restored."""


def restore_plan(saved: Snapshot, written: Snapshot, current: Snapshot) -> Restore:
    """What to put back, given what Inspector wrote and what is there now."""
    changed = tuple(name for name, value in written.items() if current.get(name) != value)
    if changed:
        return Restore({}, changed)
    return Restore({name: saved.get(name) for name in written})


# The state file.


@dataclass(frozen=True, slots=True)
class SavedState:
    backend: str
    pid: int
    """The process that set the proxy (a watchdog waits for it to end)."""
    target: str
    saved: Snapshot
    written: Snapshot


def state_to_json(state: SavedState) -> str:
    return json.dumps(
        {
            "version": 1,
            "backend": state.backend,
            "pid": state.pid,
            "target": state.target,
            "saved": state.saved,
            "written": state.written,
        },
        indent=2,
    )


def state_from_json(text: str) -> SavedState:
    """ValueError when ``text`` is not a state file this version wrote."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError("not a version 1 state file")
    backend, pid, target = data.get("backend"), data.get("pid"), data.get("target")
    if not isinstance(backend, str) or type(pid) is not int or not isinstance(target, str):
        raise ValueError("malformed state file")
    return SavedState(
        backend, pid, target, _snapshot(data.get("saved")), _snapshot(data.get("written"))
    )


def _snapshot(value: Any) -> Snapshot:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        raise ValueError("malformed settings in the state file")
    return dict(value)


# Which backend.


def choose_backend(
    platform: str, env: Mapping[str, str], have: Callable[[str], bool]
) -> str | None:
    """``gnome``, ``kde``, ``macos``, ``windows``, or None when this desktop
    has no proxy setting Inspector knows how to change. ``have`` says
    whether a command is on the PATH."""
    if platform == "darwin":
        return "macos" if have("networksetup") else None
    if platform == "win32":
        return "windows"
    desktop = env.get("XDG_CURRENT_DESKTOP", "").upper().split(":")
    if "KDE" in desktop and (have("kwriteconfig6") or have("kwriteconfig5")):
        return "kde"
    if have("gsettings"):
        return "gnome"
    return None
