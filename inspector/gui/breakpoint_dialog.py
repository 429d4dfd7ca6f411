"""The dialog that adds a breakpoint: an expression checked as it is
typed, where to break (request, response or both), and optionally only
the next so many flows.

The expression is checked by the engine's own rule (``core/rules.py``):
a malformed filter shows its error and position, and a response term in a
request breakpoint says to break on the response instead. Add stays off
until the rule can work.

Signals:
    rule_chosen(object): the new rule, in its file form.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.rules import BOTH, REQUEST, RESPONSE
from inspector.gui.breakpoint_rules import breakpoint_rule, problem

ERROR_STYLE = "color: #d73a49;"
HINT_STYLE = "color: palette(mid);"
EVERY_FLOW = "An empty expression breaks on every flow."


class BreakpointDialog(QDialog):
    rule_chosen = Signal(object)

    def __init__(self, match: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Breakpoint")
        self.setMinimumWidth(520)
        self.match_box = QLineEdit(match)
        self.match_box.setPlaceholderText("host:api method:POST")
        self.match_box.setClearButtonEnabled(True)
        self.name_box = QLineEdit()
        self.name_box.setPlaceholderText("optional")
        self.on_box = QComboBox()
        for on, label in (
            (REQUEST, "Request (before it is sent)"),
            (RESPONSE, "Response (before the client gets it)"),
            (BOTH, "Request and response"),
        ):
            self.on_box.addItem(label, on)
        self.limit_check = QCheckBox("Only the next")
        self.limit_box = QSpinBox()
        self.limit_box.setRange(1, 1_000_000)
        self.limit_box.setValue(1)
        self.limit_box.setSuffix(" flows")
        self.limit_box.setEnabled(False)
        self.limit_check.toggled.connect(self.limit_box.setEnabled)
        limit_row = QHBoxLayout()
        limit_row.addWidget(self.limit_check)
        limit_row.addWidget(self.limit_box)
        limit_row.addStretch(1)
        self.message = QLabel()
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Match", self.match_box)
        form.addRow("", self.message)
        form.addRow("Break on", self.on_box)
        form.addRow("Name", self.name_box)
        form.addRow("", limit_row)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add_button.setText("Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

        self.match_box.textChanged.connect(self._check)
        self.on_box.currentIndexChanged.connect(self._check)
        self._check()

    @property
    def on(self) -> str:
        return str(self.on_box.currentData())

    def set_on(self, on: str) -> None:
        self.on_box.setCurrentIndex(max(self.on_box.findData(on), 0))

    def _check(self) -> None:
        text = self.match_box.text().strip()
        error = problem(text, self.on)
        if error:
            self.message.setText(error)
            self.message.setStyleSheet(ERROR_STYLE)
        else:
            self.message.setText("" if text else EVERY_FLOW)
            self.message.setStyleSheet(HINT_STYLE)
        self.add_button.setEnabled(not error)

    def rule(self) -> dict[str, Any]:
        times = self.limit_box.value() if self.limit_check.isChecked() else None
        return breakpoint_rule(
            self.match_box.text().strip(), self.on, times, self.name_box.text().strip()
        )

    def accept(self) -> None:
        if not self.add_button.isEnabled():
            return
        self.rule_chosen.emit(self.rule())
        super().accept()
