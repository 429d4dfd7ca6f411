"""One small form per action type, for the rule editor (the reply's is
in ``rule_reply_form``, their base in ``rule_form_base``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from inspector.gui.rule_form_base import ActionForm, pick
from inspector.gui.rule_reply_form import ReplyForm
from inspector.gui.rule_text import THROTTLE_PRESETS

UNLIMITED = "unlimited"


class MapRemoteForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.to_box = self.line("https://staging.example.com (a path prefix is kept: /v2)")
        self.form.addRow("Send to", self.to_box)

    def value(self) -> dict[str, Any]:
        return {"type": "map_remote", "to": self.to_box.text().strip()}

    def set_value(self, action: dict[str, Any]) -> None:
        self.to_box.setText(str(action.get("to", "")))


class MapLocalForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path_box = self.line("a file, or a directory answered by the URL's path")
        self.file_button = QPushButton("File…")
        self.file_button.clicked.connect(lambda: self._choose(False))
        self.dir_button = QPushButton("Folder…")
        self.dir_button.clicked.connect(lambda: self._choose(True))
        row = QHBoxLayout()
        row.addWidget(self.path_box, 1)
        row.addWidget(self.file_button)
        row.addWidget(self.dir_button)
        self.strip_box = self.line("/static (left off the path before it is looked up)")
        self.form.addRow("Answer from", row)
        self.form.addRow("Strip prefix", self.strip_box)
        self.chooser: Callable[[bool, str], str] = self._ask
        """Asks the user for a file or folder (a test swaps it)."""

    def _ask(self, directory: bool, start: str) -> str:
        if directory:
            return QFileDialog.getExistingDirectory(self, "Answer from this folder", start)
        return QFileDialog.getOpenFileName(self, "Answer with this file", start)[0]

    def _choose(self, directory: bool) -> None:
        current = self.path_box.text().strip()
        start = str(Path(current).parent) if current else str(Path.home())
        chosen = self.chooser(directory, start)
        if chosen:
            self.path_box.setText(chosen)

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = {"type": "map_local", "path": self.path_box.text().strip()}
        strip = self.strip_box.text().strip()
        if strip:
            value["strip"] = strip
        return value

    def set_value(self, action: dict[str, Any]) -> None:
        self.path_box.setText(str(action.get("path", "")))
        self.strip_box.setText(str(action.get("strip", "")))


class SetHeaderForm(ActionForm):
    kind = "set_header"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.on_box = self.phases("request", "response")
        self.name_box = self.line("X-Env")
        self.form.addRow("On the", self.on_box)
        self.form.addRow("Header", self.name_box)
        self.value_box: QLineEdit | None = None
        if self.kind == "set_header":
            self.value_box = self.line("test")
            self.form.addRow("Value", self.value_box)

    def value(self) -> dict[str, Any]:
        value = {"type": self.kind, "on": self.on_box.currentData(), "name": self.name_box.text()}
        if self.value_box is not None:
            value["value"] = self.value_box.text()
        return value

    def set_value(self, action: dict[str, Any]) -> None:
        pick(self.on_box, action.get("on", "request"))
        self.name_box.setText(str(action.get("name", "")))
        if self.value_box is not None:
            self.value_box.setText(str(action.get("value", "")))


class RemoveHeaderForm(SetHeaderForm):
    kind = "remove_header"


class ReplaceBodyForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.on_box = self.phases("response", "request")
        self.pattern_box = self.line('"price": \\d+   (a regular expression)')
        self.with_box = self.line('"price": 0   (\\1 is the first group)')
        self.form.addRow("In the body of the", self.on_box)
        self.form.addRow("Replace", self.pattern_box)
        self.form.addRow("With", self.with_box)

    def value(self) -> dict[str, Any]:
        return {
            "type": "replace_body",
            "on": self.on_box.currentData(),
            "pattern": self.pattern_box.text(),
            "with": self.with_box.text(),
        }

    def set_value(self, action: dict[str, Any]) -> None:
        pick(self.on_box, action.get("on", "response"))
        self.pattern_box.setText(str(action.get("pattern", "")))
        self.with_box.setText(str(action.get("with", "")))


class BlockForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_radio = QRadioButton("Answer with status")
        self.reset_radio = QRadioButton("Reset the connection")
        self.status_box = self.number(200, 999, "")
        self.status_box.setValue(403)
        self.status_radio.setChecked(True)
        self.status_radio.toggled.connect(self.status_box.setEnabled)
        self.status_radio.toggled.connect(self.changed)
        row = QHBoxLayout()
        row.addWidget(self.status_radio)
        row.addWidget(self.status_box)
        row.addStretch(1)
        self.form.addRow(row)
        self.form.addRow(self.reset_radio)

    def value(self) -> dict[str, Any]:
        if self.reset_radio.isChecked():
            return {"type": "block", "reset": True}
        return {"type": "block", "status": self.status_box.value()}

    def set_value(self, action: dict[str, Any]) -> None:
        reset = bool(action.get("reset"))
        (self.reset_radio if reset else self.status_radio).setChecked(True)
        self.status_box.setValue(int(action.get("status", 403)))


class DelayForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ms_box = self.number(0, 600_000, " ms")
        self.ms_box.setSingleStep(100)
        self.form.addRow("Wait before sending", self.ms_box)

    def value(self) -> dict[str, Any]:
        return {"type": "delay", "ms": self.ms_box.value()}

    def set_value(self, action: dict[str, Any]) -> None:
        self.ms_box.setValue(int(action.get("ms", 0)))


class ThrottleForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.down_box, self.up_box = self._rate(), self._rate()
        self.latency_box = self.number(0, 60_000, " ms")
        presets = QHBoxLayout()
        self.preset_buttons: dict[str, QPushButton] = {}
        for name, values in THROTTLE_PRESETS.items():
            button = QPushButton(name)
            button.setToolTip(f"{values[0]:,} down, {values[1]:,} up kbit/s, {values[2]} ms")
            button.clicked.connect(lambda _c=False, v=values: self.preset(*v))
            presets.addWidget(button)
            self.preset_buttons[name] = button
        presets.addStretch(1)
        self.form.addRow("Presets", presets)
        self.form.addRow("Down (to the client)", self.down_box)
        self.form.addRow("Up (to the server)", self.up_box)
        self.form.addRow("Latency", self.latency_box)

    def _rate(self) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0, 10_000_000)
        box.setDecimals(1)
        box.setSuffix(" kbit/s")
        box.setSpecialValueText(UNLIMITED)
        box.valueChanged.connect(self.changed)
        return box

    def preset(self, down: int, up: int, latency: int) -> None:
        self.down_box.setValue(down)
        self.up_box.setValue(up)
        self.latency_box.setValue(latency)

    @staticmethod
    def _kbps(box: QDoubleSpinBox) -> float | int | None:
        value = box.value()
        if not value:
            return None
        return int(value) if value.is_integer() else value

    def value(self) -> dict[str, Any]:
        return {
            "type": "throttle",
            "down_kbps": self._kbps(self.down_box),
            "up_kbps": self._kbps(self.up_box),
            "latency_ms": self.latency_box.value(),
        }

    def set_value(self, action: dict[str, Any]) -> None:
        self.down_box.setValue(float(action.get("down_kbps") or 0))
        self.up_box.setValue(float(action.get("up_kbps") or 0))
        self.latency_box.setValue(int(action.get("latency_ms") or 0))


class BreakpointForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.on_box = self.phases("request", "response", "both")
        self.form.addRow("Hold the flow at its", self.on_box)

    def value(self) -> dict[str, Any]:
        return {"type": "breakpoint", "on": self.on_box.currentData()}

    def set_value(self, action: dict[str, Any]) -> None:
        pick(self.on_box, action.get("on", "request"))


FORMS: dict[str, Callable[[], ActionForm]] = {
    "map_remote": MapRemoteForm,
    "map_local": MapLocalForm,
    "set_header": SetHeaderForm,
    "remove_header": RemoveHeaderForm,
    "replace_body": ReplaceBodyForm,
    "block": BlockForm,
    "reply": ReplyForm,
    "delay": DelayForm,
    "throttle": ThrottleForm,
    "breakpoint": BreakpointForm,
}
"""The form for each action type."""
