"""The settings dialog: listen address and port, the system proxy switch,
HTTPS interception (on or off, hosts to pass through, upstream
verification), the upstream proxy (its password masked), relay flush
interval and capacity, body capture limit, and what is kept of WebSocket
messages.

The dialog only edits a copy of the settings; the caller applies and
persists them. Validation happens here, so what comes back is usable; a
port already in use is found by the caller when it restarts the proxy, and
the dialog reopens with that message.
"""

from __future__ import annotations

import copy
import ipaddress
from urllib.parse import quote

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.hostmatch import HostPatternError, HostPatterns
from inspector.core.settings import Settings
from inspector.core.upstream_proxy import (
    UpstreamProxyError,
    mask,
    parse_bypass,
    parse_upstream_proxy,
)
from inspector.gui.ca_dialog import danger_color

MiB = 1024 * 1024
INSECURE_WARNING = (
    "⚠ Upstream certificates will not be checked: anyone on the\n"
    "network path can impersonate servers."
)
"""Broken by hand: a word-wrapped label in a form layout gets its height
wrong when it appears after the dialog was laid out, and is clipped."""


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
        self.error.setVisible(bool(message))

        self.host = QLineEdit(settings.proxy.listen_host)
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(settings.proxy.listen_port)
        self.port.setToolTip("0 picks a free port")
        self.allow_remote = QCheckBox("Allow other machines to connect")
        self.allow_remote.setChecked(settings.proxy.allow_remote)
        self.system_proxy = QCheckBox("Use as the system proxy while Inspector runs")
        self.system_proxy.setToolTip(
            "Points this desktop's proxy setting at Inspector; what was there is put back on quit"
        )
        self.system_proxy.setChecked(settings.gui.system_proxy)
        self.body_limit = QSpinBox()
        self.body_limit.setRange(0, 1024)
        self.body_limit.setSuffix(" MiB")
        self.body_limit.setValue(settings.proxy.body_capture_limit // MiB)
        self.body_memory = QSpinBox()
        self.body_memory.setRange(16, 65536)
        self.body_memory.setSingleStep(256)
        self.body_memory.setSuffix(" MiB")
        self.body_memory.setToolTip(
            "Captured bodies kept across all flows; beyond this the oldest are dropped"
        )
        self.body_memory.setValue(max(settings.proxy.body_memory_limit // MiB, 16))
        self.max_flows = QSpinBox()
        self.max_flows.setRange(1000, 10_000_000)
        self.max_flows.setSingleStep(10_000)
        self.max_flows.setGroupSeparatorShown(True)
        self.max_flows.setToolTip(
            "Flows kept in the session; beyond this the oldest are dropped (and counted)"
        )
        self.max_flows.setValue(min(max(settings.proxy.max_flows, 1000), 10_000_000))
        self.flush = QSpinBox()
        self.flush.setRange(5, 1000)
        self.flush.setSuffix(" ms")
        self.flush.setValue(settings.relay.flush_interval_ms)
        self.capacity = QSpinBox()
        self.capacity.setRange(100, 10_000_000)
        self.capacity.setSingleStep(1000)
        self.capacity.setGroupSeparatorShown(True)
        self.capacity.setValue(settings.relay.capacity)

        self.ws_max_messages = QSpinBox()
        self.ws_max_messages.setRange(100, 10_000_000)
        self.ws_max_messages.setSingleStep(1000)
        self.ws_max_messages.setGroupSeparatorShown(True)
        self.ws_max_messages.setToolTip(
            "Messages kept per WebSocket; beyond this the oldest are dropped (and counted)"
        )
        self.ws_max_messages.setValue(min(max(settings.proxy.ws_max_messages, 100), 10_000_000))
        self.ws_flow_bytes = QSpinBox()
        self.ws_flow_bytes.setRange(1, 4096)
        self.ws_flow_bytes.setSuffix(" MiB")
        self.ws_flow_bytes.setToolTip(
            "Message data kept per WebSocket; beyond this the oldest messages are dropped"
        )
        self.ws_flow_bytes.setValue(max(settings.proxy.ws_max_flow_bytes // MiB, 1))
        self.ws_memory = QSpinBox()
        self.ws_memory.setRange(16, 65536)
        self.ws_memory.setSingleStep(64)
        self.ws_memory.setSuffix(" MiB")
        self.ws_memory.setToolTip(
            "Message data kept across all WebSockets; beyond this the oldest messages"
            " lose their data (their size, time and direction stay)"
        )
        self.ws_memory.setValue(max(settings.proxy.ws_memory_limit // MiB, 16))

        self.record_session = QCheckBox("Record every flow to a session file on disk")
        self.record_session.setToolTip(
            "The capture survives a quit or a crash and can be reopened, saved or exported;"
            " session files hold decrypted traffic, credentials included (applies at the next"
            " start)"
        )
        self.record_session.setChecked(settings.proxy.record_session)
        self.session_size = QSpinBox()
        self.session_size.setRange(64, 1024 * 1024)
        self.session_size.setSingleStep(256)
        self.session_size.setSuffix(" MiB")
        self.session_size.setGroupSeparatorShown(True)
        self.session_size.setToolTip("Past this size the oldest flows leave the session file")
        self.session_size.setValue(
            min(max(settings.proxy.session_max_bytes // MiB, 64), 1024 * 1024)
        )
        self.session_days = QSpinBox()
        self.session_days.setRange(1, 3650)
        self.session_days.setSuffix(" days")
        self.session_days.setToolTip("Recorded sessions older than this are deleted at start")
        self.session_days.setValue(min(max(settings.proxy.session_keep_days, 1), 3650))

        self.intercept_tls = QCheckBox("Intercept HTTPS (decrypt TLS with Inspector's CA)")
        self.intercept_tls.setChecked(settings.proxy.intercept_tls)
        self.ignore_hosts = QLineEdit(settings.proxy.ignore_hosts)
        self.ignore_hosts.setPlaceholderText("*.apple.com, localhost, example.com:8443")
        self.ignore_hosts.setClearButtonEnabled(True)
        ignore_hint = _hint(
            "Passed through undecrypted, e.g. apps that pin certificates.\n"
            "*.example.com matches subdomains; list example.com too."
        )
        self.upstream_address = QLineEdit()
        self.upstream_address.setPlaceholderText("http://proxy.example:3128 (none when empty)")
        self.upstream_address.setClearButtonEnabled(True)
        self.upstream_user = QLineEdit()
        self.upstream_password = QLineEdit()
        self.upstream_password.setEchoMode(QLineEdit.EchoMode.Password)
        self._fill_upstream(settings.proxy.upstream_proxy)
        self.upstream_bypass = QLineEdit(settings.proxy.upstream_bypass)
        self.upstream_bypass.setToolTip(
            "Hosts reached directly, as in Ignore hosts; empty sends everything through the"
            " upstream proxy"
        )
        self.verify_upstream = QCheckBox("Verify upstream certificates")
        self.verify_upstream.setChecked(not settings.proxy.insecure_upstream)
        self.insecure_warning = QLabel(INSECURE_WARNING)

        proxy = QFormLayout()
        proxy.addRow("Listen address:", self.host)
        proxy.addRow("Port:", self.port)
        proxy.addRow("", self.allow_remote)
        proxy.addRow("", self.system_proxy)
        proxy.addRow("Keep bodies up to:", self.body_limit)
        proxy.addRow("Bodies in memory, in all:", self.body_memory)
        proxy.addRow("Flows kept, at most:", self.max_flows)
        https = QFormLayout()
        https.addRow("", self.intercept_tls)
        https.addRow("Ignore hosts:", self.ignore_hosts)
        https.addRow("", ignore_hint)
        https.addRow("", self.verify_upstream)
        https.addRow("", self.insecure_warning)
        self._https = https
        upstream = QFormLayout()
        upstream.addRow("Upstream proxy:", self.upstream_address)
        upstream.addRow("User:", self.upstream_user)
        upstream.addRow("Password:", self.upstream_password)
        upstream.addRow("Go direct to:", self.upstream_bypass)
        display = QFormLayout()
        display.addRow("Display refresh:", self.flush)
        display.addRow("Relay capacity (flows):", self.capacity)
        websocket = QFormLayout()
        websocket.addRow("Messages kept, per socket:", self.ws_max_messages)
        websocket.addRow("Message data, per socket:", self.ws_flow_bytes)
        websocket.addRow("Message data, in all:", self.ws_memory)
        sessions = QFormLayout()
        sessions.addRow("", self.record_session)
        sessions.addRow("Session file, at most:", self.session_size)
        sessions.addRow("Keep sessions for:", self.session_days)
        forms = (proxy, https, upstream, websocket, sessions, display)
        _align_labels(forms)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(self.error)
        # Two columns: the connection on the left, what is kept on the right,
        # so the dialog fits a laptop screen.
        columns = QHBoxLayout()
        columns.setSpacing(12)
        left, right = QVBoxLayout(), QVBoxLayout()
        titles = ("Proxy", "HTTPS", "Upstream proxy", "WebSocket", "Sessions", "Display")
        for title, form in zip(titles, forms, strict=True):
            box = QGroupBox(title)
            box.setLayout(form)
            (left if title in ("Proxy", "HTTPS") else right).addWidget(box)
        for column in (left, right):
            column.addStretch(1)
            columns.addLayout(column, 1)
        layout.addLayout(columns)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.intercept_tls.toggled.connect(self._update_https)
        self.verify_upstream.toggled.connect(self._update_https)
        self.ignore_hosts.textChanged.connect(self._check_ignore_hosts)
        self._update_https()
        self._check_ignore_hosts()
        self._restyle()

    def accept(self) -> None:
        problem = self.validate()
        if problem:
            self.error.setText(problem)
            self.error.show()
            self._grow_to_fit()
            return
        settings = copy.deepcopy(self._original)
        settings.proxy.listen_host = self.host.text().strip()
        settings.proxy.listen_port = self.port.value()
        settings.proxy.allow_remote = self.allow_remote.isChecked()
        settings.proxy.body_capture_limit = self.body_limit.value() * MiB
        settings.proxy.body_memory_limit = self.body_memory.value() * MiB
        settings.proxy.max_flows = self.max_flows.value()
        settings.proxy.ws_max_messages = self.ws_max_messages.value()
        settings.proxy.ws_max_flow_bytes = self.ws_flow_bytes.value() * MiB
        settings.proxy.ws_memory_limit = self.ws_memory.value() * MiB
        settings.proxy.record_session = self.record_session.isChecked()
        settings.proxy.session_max_bytes = self.session_size.value() * MiB
        settings.proxy.session_keep_days = self.session_days.value()
        settings.proxy.intercept_tls = self.intercept_tls.isChecked()
        settings.proxy.ignore_hosts = self.ignore_hosts.text().strip()
        settings.proxy.insecure_upstream = not self.verify_upstream.isChecked()
        settings.proxy.upstream_proxy = self.upstream_url()
        settings.proxy.upstream_bypass = self.upstream_bypass.text().strip()
        settings.gui.system_proxy = self.system_proxy.isChecked()
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
        return self._ignore_hosts_problem() or self._upstream_problem()

    def upstream_url(self) -> str | None:
        """The upstream proxy as set (credentials from their own fields),
        None when none; UpstreamProxyError when the address is bad."""
        address = self.upstream_address.text().strip()
        if not address:
            return None
        proxy = parse_upstream_proxy(address)
        user = self.upstream_user.text() or proxy.username
        password = self.upstream_password.text() or proxy.password or ""
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        return f"http://{credentials}{proxy.authority}"

    def _fill_upstream(self, value: str | None) -> None:
        if not value:
            return
        try:
            proxy = parse_upstream_proxy(value)
        except UpstreamProxyError:
            self.upstream_address.setText(mask(value))
            return
        self.upstream_address.setText(f"http://{proxy.authority}")
        self.upstream_user.setText(proxy.username or "")
        self.upstream_password.setText(proxy.password or "")

    def _upstream_problem(self) -> str:
        try:
            self.upstream_url()
            parse_bypass(self.upstream_bypass.text())
        except UpstreamProxyError as exc:
            return f"{str(exc)[0].upper()}{str(exc)[1:]}."
        return ""

    def changeEvent(self, event: QEvent) -> None:
        built = hasattr(self, "insecure_warning")
        if built and event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._restyle()
        super().changeEvent(event)

    def _ignore_hosts_problem(self) -> str:
        try:
            HostPatterns.parse(self.ignore_hosts.text())
        except HostPatternError as exc:
            return f"Ignore hosts: {exc}."
        return ""

    def _check_ignore_hosts(self) -> None:
        problem = self._ignore_hosts_problem()
        self.ignore_hosts.setProperty("invalid", bool(problem))
        self.ignore_hosts.setToolTip(problem)
        self._restyle()

    def _update_https(self) -> None:
        # Without interception every tunnel passes through: nothing to ignore.
        self.ignore_hosts.setEnabled(self.intercept_tls.isChecked())
        # setRowVisible, unlike hiding the label, also drops the row's spacing.
        self._https.setRowVisible(self.insecure_warning, not self.verify_upstream.isChecked())
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Make room for a message that appeared while the dialog is open. The
        layout's minimum size ignores the wrapped error label's extra lines
        (height-for-width), so Qt alone would squeeze the other rows instead."""
        layout = self.layout()
        if not self.isVisible() or layout is None:
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _restyle(self) -> None:
        danger = danger_color(self.palette())
        self.error.setStyleSheet(f"color: {danger}; font-weight: bold;")
        self.insecure_warning.setStyleSheet(f"color: {danger};")
        invalid = bool(self.ignore_hosts.property("invalid"))
        self.ignore_hosts.setStyleSheet(
            f"QLineEdit {{ border: 2px solid {danger}; }}" if invalid else ""
        )


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _align_labels(forms: tuple[QFormLayout, ...]) -> None:
    """One label column width for every group, so the fields line up."""
    labels: list[QLabel] = []
    for form in forms:
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                labels.append(widget)
    width = max(label.sizeHint().width() for label in labels)
    for label in labels:
        label.setMinimumWidth(width)
