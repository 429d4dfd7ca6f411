"""The settings dialog: validation, the HTTPS section, and what comes back."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from inspector.core.settings import Settings
from inspector.gui.settings_dialog import INSECURE_WARNING, SettingsDialog


@pytest.fixture
def dialog(qtbot: QtBot) -> SettingsDialog:
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    return dialog


def test_defaults_are_shown(dialog: SettingsDialog) -> None:
    assert dialog.intercept_tls.isChecked()
    assert dialog.ignore_hosts.text() == ""
    assert dialog.ignore_hosts.placeholderText() == "*.apple.com, localhost, example.com:8443"
    assert dialog.verify_upstream.isChecked()
    assert dialog.insecure_warning.isHidden()
    assert dialog.error.isHidden()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("example.com/path", "'/' is not allowed"),
        ("a.com, b..com", "empty label"),
        ("host:99999", "bad port '99999'"),
    ],
)
def test_invalid_ignore_hosts_block_ok(dialog: SettingsDialog, text: str, fragment: str) -> None:
    dialog.ignore_hosts.setText(text)
    assert fragment in dialog.ignore_hosts.toolTip()
    dialog.accept()
    assert dialog.result_settings is None
    assert dialog.result() == SettingsDialog.DialogCode.Rejected
    assert not dialog.error.isHidden()
    assert dialog.error.text().startswith("Ignore hosts: invalid host pattern")
    assert fragment in dialog.error.text()


def test_fixing_ignore_hosts_clears_the_field_marker(dialog: SettingsDialog) -> None:
    dialog.ignore_hosts.setText("bad/host")
    assert dialog.ignore_hosts.property("invalid")
    assert "border" in dialog.ignore_hosts.styleSheet()
    dialog.ignore_hosts.setText("good.host")
    assert not dialog.ignore_hosts.property("invalid")
    assert dialog.ignore_hosts.toolTip() == ""
    assert dialog.ignore_hosts.styleSheet() == ""


def test_https_settings_round_trip(qtbot: QtBot) -> None:
    original = Settings()
    original.proxy.intercept_tls = False
    original.proxy.ignore_hosts = "localhost"
    original.proxy.insecure_upstream = True
    dialog = SettingsDialog(original)
    qtbot.addWidget(dialog)
    assert not dialog.intercept_tls.isChecked()
    assert not dialog.ignore_hosts.isEnabled()
    assert not dialog.verify_upstream.isChecked()
    assert not dialog.insecure_warning.isHidden()

    dialog.intercept_tls.setChecked(True)
    assert dialog.ignore_hosts.isEnabled()
    dialog.ignore_hosts.setText("  *.apple.com, localhost  example.com:8443 ")
    dialog.verify_upstream.setChecked(True)
    dialog.flush.setValue(50)
    dialog.accept()

    result = dialog.result_settings
    assert result is not None
    assert result.proxy.intercept_tls is True
    assert result.proxy.ignore_hosts == "*.apple.com, localhost  example.com:8443"
    assert result.proxy.insecure_upstream is False
    assert result.relay.flush_interval_ms == 50
    assert result is not original
    assert original.proxy.intercept_tls is False and original.proxy.insecure_upstream is True


def test_unchecking_verification_warns_and_is_kept(dialog: SettingsDialog) -> None:
    dialog.verify_upstream.setChecked(False)
    assert not dialog.insecure_warning.isHidden()
    assert dialog.insecure_warning.text() == INSECURE_WARNING
    assert "anyone on the network path can impersonate servers" in INSECURE_WARNING.replace(
        "\n", " "
    )
    dialog.intercept_tls.setChecked(False)
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.proxy.insecure_upstream is True
    assert dialog.result_settings.proxy.intercept_tls is False
    dialog.verify_upstream.setChecked(True)
    assert dialog.insecure_warning.isHidden()


def test_listen_address_checks_still_apply(dialog: SettingsDialog) -> None:
    dialog.host.setText("0.0.0.0")
    dialog.accept()
    assert dialog.result_settings is None
    assert "Allow other machines to connect" in dialog.error.text()
    dialog.allow_remote.setChecked(True)
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.proxy.allow_remote


def test_message_from_the_caller_is_shown(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(), "Port 8080 is already in use")
    qtbot.addWidget(dialog)
    assert not dialog.error.isHidden()
    assert dialog.error.text() == "Port 8080 is already in use"


def test_flow_cap_round_trips(qtbot: QtBot) -> None:
    original = Settings()
    assert original.proxy.max_flows == 200_000
    original.proxy.max_flows = 50_000
    dialog = SettingsDialog(original)
    qtbot.addWidget(dialog)
    assert dialog.max_flows.value() == 50_000
    dialog.max_flows.setValue(5_000)
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.proxy.max_flows == 5_000
