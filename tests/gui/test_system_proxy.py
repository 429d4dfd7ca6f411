"""The "Use as System Proxy" switch with an in-memory backend: it follows
the engine's address, puts back what was there when switched off and at
quit, settles off when the desktop refuses, and recovers after a window
that died with it on. And the settings dialog's upstream proxy, its
password masked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from inspector.core.settings import Settings
from inspector.core.sysproxy import ProxyTarget, Snapshot
from inspector.gui.settings_dialog import SettingsDialog
from inspector.gui.system_proxy import SystemProxyToggle
from inspector.sysproxy.backends import SystemProxyError
from inspector.sysproxy.manager import SystemProxy


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.values: Snapshot = {"host": "corp", "port": "3128", "mode": "manual"}
        self.refuse = False

    def plan(self, target: ProxyTarget) -> Snapshot:
        return {"host": target.host, "port": str(target.port), "mode": "manual"}

    def read(self, names: Sequence[str]) -> Snapshot:
        return {name: self.values.get(name) for name in names}

    def write(self, values: Snapshot) -> None:
        if self.refuse:
            raise SystemProxyError("gsettings failed: not writable")
        self.values.update(values)


class NoWatchdog(SystemProxy):
    def spawn_watchdog(self) -> None:  # type: ignore[override]
        return None


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


@pytest.fixture
def toggle(qtbot: QtBot, tmp_path: Path, backend: MemoryBackend) -> SystemProxyToggle:
    toggle = SystemProxyToggle(NoWatchdog(tmp_path, backend))
    return toggle


def test_follows_the_engine_and_restores(
    qtbot: QtBot, toggle: SystemProxyToggle, backend: MemoryBackend
) -> None:
    toggle.set_listening(True, "127.0.0.1:18080")
    with qtbot.waitSignal(toggle.changed) as on:
        toggle.set_wanted(True)
    assert on.args == [True]
    assert backend.values == {"host": "127.0.0.1", "port": "18080", "mode": "manual"}
    # A new port (the settings changed) is written again.
    with qtbot.waitSignal(toggle.changed):
        toggle.set_listening(True, "[::]:18081")
    assert backend.values["host"] == "::1" and backend.values["port"] == "18081"
    with qtbot.waitSignal(toggle.changed) as off:
        toggle.action.setChecked(False)
    assert off.args == [False]
    assert backend.values == {"host": "corp", "port": "3128", "mode": "manual"}
    assert not toggle.manager.active


def test_waits_for_the_address_and_restores_at_quit(
    qtbot: QtBot, toggle: SystemProxyToggle, backend: MemoryBackend
) -> None:
    toggle.set_wanted(True)
    assert backend.values["host"] == "corp"  # not listening yet: nothing to point at
    with qtbot.waitSignal(toggle.changed):
        toggle.set_listening(True, "127.0.0.1:18080")
    assert backend.values["port"] == "18080"
    toggle.shutdown()
    assert backend.values == {"host": "corp", "port": "3128", "mode": "manual"}


def test_a_refusal_settles_off_and_says_why(
    qtbot: QtBot, toggle: SystemProxyToggle, backend: MemoryBackend
) -> None:
    backend.refuse = True
    toggle.set_listening(True, "127.0.0.1:18080")
    with qtbot.waitSignal(toggle.message) as said, qtbot.waitSignal(toggle.changed) as settled:
        toggle.set_wanted(True)
    assert said.args[0] == "Cannot set the system proxy: gsettings failed: not writable"
    assert settled.args == [False]
    assert not toggle.action.isChecked()


def test_recovers_after_a_dead_window(qtbot: QtBot, tmp_path: Path, backend: MemoryBackend) -> None:
    dead = NoWatchdog(tmp_path, backend, pid=2**22 + 12345)
    dead.enable(ProxyTarget("127.0.0.1", 18080))
    toggle = SystemProxyToggle(NoWatchdog(tmp_path, backend))
    with qtbot.waitSignal(toggle.message) as said:
        toggle.recover()
    assert said.args[0].startswith("After the last run: the system proxy is restored")
    assert backend.values == {"host": "corp", "port": "3128", "mode": "manual"}


def test_without_a_backend_the_switch_is_disabled(tmp_path: Path, qtbot: QtBot) -> None:
    toggle = SystemProxyToggle(SystemProxy(tmp_path, None))
    assert not toggle.action.isEnabled()
    toggle.set_wanted(True)
    assert not toggle.action.isChecked()


def test_settings_dialog_masks_the_upstream_password(qtbot: QtBot) -> None:
    settings = Settings()
    settings.proxy.upstream_proxy = "http://bob:hunter%402@proxy.corp:3128"
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.upstream_address.text() == "http://proxy.corp:3128"
    assert dialog.upstream_user.text() == "bob"
    assert dialog.upstream_password.echoMode() is QLineEdit.EchoMode.Password
    shown = [w.displayText() for w in dialog.findChildren(QLineEdit)]
    assert not any("hunter" in text for text in shown)
    dialog.upstream_bypass.setText("*.corp")
    dialog.system_proxy.setChecked(True)
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.proxy.upstream_proxy == "http://bob:hunter%402@proxy.corp:3128"
    assert dialog.result_settings.proxy.upstream_bypass == "*.corp"
    assert dialog.result_settings.gui.system_proxy


def test_settings_dialog_refuses_a_bad_upstream_proxy(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.upstream_address.setText("socks5://proxy:1080")
    dialog.accept()
    assert dialog.result_settings is None
    assert "only http:// proxies" in dialog.error.text()
    dialog.upstream_address.setText("")
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.proxy.upstream_proxy is None
