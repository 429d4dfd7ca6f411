"""The platform backends' exact commands and registry calls, with fakes:
KDE's kwriteconfig and D-Bus signal, macOS's networksetup per service,
Windows' registry values and refresh."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from inspector.core.sysproxy import ProxyTarget
from inspector.sysproxy.backends import (
    UNSET,
    KdeBackend,
    MacBackend,
    SystemProxyError,
    WindowsBackend,
)
from inspector.sysproxy.manager import SystemProxy

TARGET = ProxyTarget("127.0.0.1", 8080)


class FakeKde:
    def __init__(self) -> None:
        self.config: dict[str, str] = {"ProxyType": "0"}
        self.calls: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> str:
        command = list(command)
        self.calls.append(command)
        if command[0] == "dbus-send":
            raise SystemProxyError("dbus-send failed: no session bus")
        key = command[command.index("--key") + 1]
        if command[0].startswith("kreadconfig"):
            return self.config.get(key, command[-1]) + "\n"
        if command[-1] == "--delete":
            self.config.pop(key, None)
        else:
            self.config[key] = command[-1]
        return ""


def test_kde_sets_and_restores_kioslaverc(tmp_path: Path) -> None:
    fake = FakeKde()
    manager = SystemProxy(tmp_path, KdeBackend(fake, version="5"))
    manager.enable(TARGET)
    assert fake.config == {
        "ProxyType": "1",
        "httpProxy": "http://127.0.0.1 8080",
        "httpsProxy": "http://127.0.0.1 8080",
        "NoProxyFor": "localhost,127.0.0.1,::1",
    }
    where = ["--file", "kioslaverc", "--group", "Proxy Settings", "--key"]
    assert ["kreadconfig5", *where, "httpProxy", "--default", UNSET] in fake.calls
    assert ["kwriteconfig5", *where, "ProxyType", "1"] in fake.calls
    assert fake.calls[-1][:2] == ["dbus-send", "--type=signal"]
    assert manager.restore().restored
    # Keys that were absent are deleted again, not left empty.
    assert fake.config == {"ProxyType": "0"}
    assert ["kwriteconfig5", *where, "httpProxy", "--delete"] in fake.calls


class FakeNetworksetup:
    def __init__(self) -> None:
        self.proxies = {
            ("Wi-Fi", "web"): ["No", "", "0"],
            ("Wi-Fi", "secureweb"): ["Yes", "corp", "3128"],
        }
        self.bypass: dict[str, list[str]] = {"Wi-Fi": ["*.local"]}
        self.calls: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> str:
        command = list(command)
        self.calls.append(command)
        op, args = command[1], command[2:]
        if op == "-listallnetworkservices":
            return (
                "An asterisk (*) denotes that a network service is disabled.\nWi-Fi\n*Thunderbolt\n"
            )
        for kind in ("secureweb", "web"):
            if op == f"-get{kind}proxy":
                on, server, port = self.proxies[(args[0], kind)]
                return (
                    f"Enabled: {on}\nServer: {server}\nPort: {port}\nAuthenticated Proxy Enabled: 0"
                )
            if op == f"-set{kind}proxy":
                self.proxies[(args[0], kind)] = ["Yes", args[1], args[2]]
                return ""
            if op == f"-set{kind}proxystate":
                self.proxies[(args[0], kind)][0] = "Yes" if args[1] == "on" else "No"
                return ""
        if op == "-getproxybypassdomains":
            domains = self.bypass.get(args[0], [])
            if not domains:
                return f"There aren't any bypass domains set on {args[0]}.\n"
            return "".join(f"{d}\n" for d in domains)
        if op == "-setproxybypassdomains":
            self.bypass[args[0]] = [] if args[1:] == ["Empty"] else args[1:]
            return ""
        raise AssertionError(command)


def test_macos_sets_every_enabled_service_and_restores(tmp_path: Path) -> None:
    fake = FakeNetworksetup()
    before = {k: list(v) for k, v in fake.proxies.items()}
    manager = SystemProxy(tmp_path, MacBackend(fake))
    manager.enable(TARGET)
    assert fake.proxies == {
        ("Wi-Fi", "web"): ["Yes", "127.0.0.1", "8080"],
        ("Wi-Fi", "secureweb"): ["Yes", "127.0.0.1", "8080"],
    }
    assert fake.bypass == {"Wi-Fi": ["localhost", "127.0.0.1", "::1"]}
    assert not any("Thunderbolt" in call for call in fake.calls)
    assert manager.restore().restored
    assert fake.proxies[("Wi-Fi", "secureweb")] == before[("Wi-Fi", "secureweb")]
    assert fake.proxies[("Wi-Fi", "web")][0] == "No"
    assert fake.bypass == {"Wi-Fi": ["*.local"]}


def test_macos_left_alone_when_the_user_changed_it(tmp_path: Path) -> None:
    fake = FakeNetworksetup()
    manager = SystemProxy(tmp_path, MacBackend(fake))
    manager.enable(TARGET)
    fake.proxies[("Wi-Fi", "web")] = ["No", "127.0.0.1", "8080"]
    outcome = manager.restore()
    assert not outcome.restored and "Wi-Fi/web" in outcome.message
    assert fake.proxies[("Wi-Fi", "secureweb")] == ["Yes", "127.0.0.1", "8080"]
    assert not manager.active


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[str, tuple[str, bool]] = {"ProxyEnable": ("0", True)}
        self.refreshed = 0

    def get(self, name: str) -> str | None:
        item = self.values.get(name)
        return None if item is None else item[0]

    def set(self, name: str, value: str, dword: bool) -> None:
        self.values[name] = (value, dword)

    def delete(self, name: str) -> None:
        self.values.pop(name, None)

    def refresh(self) -> None:
        self.refreshed += 1


def test_windows_sets_wininet_values_and_restores(tmp_path: Path) -> None:
    registry = FakeRegistry()
    manager = SystemProxy(tmp_path, WindowsBackend(registry))
    manager.enable(TARGET)
    assert registry.values == {
        "ProxyEnable": ("1", True),
        "ProxyServer": ("http=127.0.0.1:8080;https=127.0.0.1:8080", False),
        "ProxyOverride": ("localhost;127.0.0.1;::1;<local>", False),
    }
    assert registry.refreshed == 1
    assert manager.restore().restored
    assert registry.values == {"ProxyEnable": ("0", True)}
    assert registry.refreshed == 2


def test_a_failed_write_puts_back_what_was_there(tmp_path: Path) -> None:
    fake = FakeKde()

    def failing(command: Sequence[str]) -> str:
        if command[0] == "kwriteconfig5" and "httpsProxy" in command and "--delete" not in command:
            raise SystemProxyError("kwriteconfig5 failed: read-only file")
        return fake(command)

    manager = SystemProxy(tmp_path, KdeBackend(failing, version="5"))
    with pytest.raises(SystemProxyError, match="read-only"):
        manager.enable(TARGET)
    assert fake.config == {"ProxyType": "0"}
    assert not manager.active
