"""The Sessions group of the settings dialog."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from inspector.core.settings import MiB, Settings
from inspector.gui.settings_dialog import SettingsDialog


def test_session_settings_round_trip(qtbot: QtBot) -> None:
    original = Settings()
    dialog = SettingsDialog(original)
    qtbot.addWidget(dialog)
    assert dialog.record_session.isChecked()
    assert dialog.session_size.value() == 2048 and dialog.session_days.value() == 7
    dialog.record_session.setChecked(False)
    dialog.session_size.setValue(512)
    dialog.session_days.setValue(30)
    dialog.accept()
    result = dialog.result_settings
    assert result is not None
    assert not result.proxy.record_session
    assert result.proxy.session_max_bytes == 512 * MiB
    assert result.proxy.session_keep_days == 30
