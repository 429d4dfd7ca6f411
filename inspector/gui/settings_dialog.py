"""The settings dialog: listen address and port, relay flush interval and
capacity, body capture limit.

The dialog only edits a copy of the settings; the caller applies and
persists them. Validation happens here, so what comes back is usable; a
port already in use is found by the caller when it restarts the proxy, and
the dialog reopens with that message.
"""

from __future__ import annotations

import copy
import ipaddress

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.settings import Settings

MiB = 1024 * 1024


class SettingsDialog(QDialog):
    def __init__(
        self, settings: Settings, message: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Inspector Settings")
        self.result_settings: Settings | None = None
        self._original = settings

        self.error = QLabel(message)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d73a49; font-weight: bold;")
        self.error.setVisible(bool(message))

        self.host = QLineEdit(settings.proxy.listen_host)
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(settings.proxy.listen_port)
        self.port.setToolTip("0 picks a free port")
        self.allow_remote = QCheckBox("Allow other machines to connect")
        self.allow_remote.setChecked(settings.proxy.allow_remote)
        self.body_limit = QSpinBox()
        self.body_limit.setRange(0, 1024)
        self.body_limit.setSuffix(" MiB")
        self.body_limit.setValue(settings.proxy.body_capture_limit // MiB)
        self.flush = QSpinBox()
        self.flush.setRange(5, 1000)
        self.flush.setSuffix(" ms")
        self.flush.setValue(settings.relay.flush_interval_ms)
        self.capacity = QSpinBox()
        self.capacity.setRange(100, 10_000_000)
        self.capacity.setSingleStep(1000)
        self.capacity.setValue(settings.relay.capacity)

        form = QFormLayout()
        form.addRow("Listen address:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("", self.allow_remote)
        form.addRow("Keep bodies up to:", self.body_limit)
        form.addRow("Display refresh:", self.flush)
        form.addRow("Relay capacity (flows):", self.capacity)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def accept(self) -> None:
        problem = self.validate()
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        settings = copy.deepcopy(self._original)
        settings.proxy.listen_host = self.host.text().strip()
        settings.proxy.listen_port = self.port.value()
        settings.proxy.allow_remote = self.allow_remote.isChecked()
        settings.proxy.body_capture_limit = self.body_limit.value() * MiB
        settings.relay.flush_interval_ms = self.flush.value()
        settings.relay.capacity = self.capacity.value()
        self.result_settings = settings
        super().accept()

    def validate(self) -> str:
        host = self.host.text().strip()
        if not host:
            return "Enter a listen address, such as 127.0.0.1."
        if host != "localhost":
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                return f"'{host}' is not an IP address (or localhost)."
            if not address.is_loopback and not self.allow_remote.isChecked():
                return (
                    f"{host} can be reached from other machines: tick "
                    "'Allow other machines to connect' to use it."
                )
        return ""
