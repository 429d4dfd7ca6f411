"""The base of the rule editor's action forms.

Each form edits one action in its file form (docs/rules.md): ``value()``
reads it, ``set_value()`` fills the form in, and ``changed`` says the
user typed. Forms check nothing themselves: the editor checks the draft
the way the engine will (``rule_text.rule_problem``) and says what is
wrong.

Signals:
    changed(): a field changed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QSpinBox, QWidget


class ActionForm(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)

    def value(self) -> dict[str, Any]:
        raise NotImplementedError

    def set_value(self, action: dict[str, Any]) -> None:
        raise NotImplementedError

    def line(self, placeholder: str = "") -> QLineEdit:
        box = QLineEdit()
        box.setPlaceholderText(placeholder)
        box.textChanged.connect(self.changed)
        return box

    def phases(self, *phases: str) -> QComboBox:
        box = QComboBox()
        for phase in phases:
            box.addItem(phase.capitalize() if phase != "both" else "Request and response", phase)
        box.currentIndexChanged.connect(self.changed)
        return box

    def number(self, low: int, high: int, suffix: str) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setSuffix(suffix)
        box.valueChanged.connect(self.changed)
        return box


def pick(box: QComboBox, data: object) -> None:
    index = box.findData(data)
    box.setCurrentIndex(max(index, 0))
