"""The settings dialog's WebSocket group: the defaults shown, and the
three limits back in the settings, in MiB where they are sizes."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from inspector.core.settings import MiB, Settings
from inspector.gui.settings_dialog import SettingsDialog


def test_defaults_are_shown(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.ws_max_messages.value() == 10_000
    assert dialog.ws_flow_bytes.value() == 8 and dialog.ws_flow_bytes.suffix() == " MiB"
    assert dialog.ws_memory.value() == 256 and dialog.ws_memory.suffix() == " MiB"


def test_websocket_limits_round_trip(qtbot: QtBot) -> None:
    original = Settings()
    original.proxy.ws_max_messages = 2_500
    original.proxy.ws_max_flow_bytes = 3 * MiB
    original.proxy.ws_memory_limit = 1024 * MiB
    dialog = SettingsDialog(original)
    qtbot.addWidget(dialog)
    assert dialog.ws_max_messages.value() == 2_500
    assert dialog.ws_flow_bytes.value() == 3
    assert dialog.ws_memory.value() == 1024

    dialog.ws_max_messages.setValue(50_000)
    dialog.ws_flow_bytes.setValue(16)
    dialog.ws_memory.setValue(64)
    dialog.accept()
    result = dialog.result_settings
    assert result is not None
    assert result.proxy.ws_max_messages == 50_000
    assert result.proxy.ws_max_flow_bytes == 16 * MiB
    assert result.proxy.ws_memory_limit == 64 * MiB
    assert original.proxy.ws_max_messages == 2_500  # the caller's copy untouched


def test_values_outside_the_ranges_are_brought_in(qtbot: QtBot) -> None:
    original = Settings()
    original.proxy.ws_max_messages = 1
    original.proxy.ws_max_flow_bytes = 1000  # under a MiB
    original.proxy.ws_memory_limit = 1 * MiB
    dialog = SettingsDialog(original)
    qtbot.addWidget(dialog)
    assert dialog.ws_max_messages.value() == 100
    assert dialog.ws_flow_bytes.value() == 1
    assert dialog.ws_memory.value() == 16
