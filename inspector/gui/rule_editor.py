"""The rule editor: a rule's name, its match expression, "only the next
N flows", and its ordered list of actions, each edited in a form of its
type (``rule_action_forms``).

Everything is checked as it is typed, by the engine's own code: each
action's shape (``action_from_json``) and whether it can work (a regular
expression that does not compile, a file that is not there), then the
whole draft (``compile_rule``: a match that does not parse, a response
term in a rule acting on the request). OK stays off, with the message
shown, until the rule can work; an action in error is marked in red in
the list.

Signals:
    rule_chosen(object): the rule in its file form, on OK.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.rule_actions import RuleError, action_from_json, problem
from inspector.gui.rule_action_forms import FORMS
from inspector.gui.rule_form_base import ActionForm
from inspector.gui.rule_text import ACTION_LABELS, action_summary, default_action, rule_problem

ERROR_STYLE = "color: #d73a49;"
HINT_STYLE = "color: palette(mid);"
ERROR_COLOR = QColor(215, 58, 73)
EVERY_FLOW = "An empty match applies the rule to every flow."


def action_error(action: dict[str, Any]) -> str:
    """Why one action would be refused or cannot work; "" when fine."""
    try:
        return problem(action_from_json(action))
    except RuleError as exc:
        return str(exc)


class RuleEditor(QDialog):
    rule_chosen = Signal(object)

    def __init__(
        self,
        rule: dict[str, Any] | None = None,
        parent: QWidget | None = None,
        title: str = "",
    ) -> None:
        super().__init__(parent)
        rule = copy.deepcopy(rule) if rule is not None else {}
        self.setWindowTitle(title or ("Edit Rule" if rule.get("name") else "New Rule"))
        self.setMinimumSize(640, 560)
        self.enabled = bool(rule.get("enabled", True))
        self.rule_actions: list[dict[str, Any]] = list(rule.get("actions") or [])
        self.form_widget: ActionForm | None = None

        self.name_box = QLineEdit(str(rule.get("name") or ""))
        self.name_box.setPlaceholderText("Staging API")
        self.match_box = QLineEdit(str(rule.get("match") or ""))
        self.match_box.setPlaceholderText("host:api.example.com path:/v1")
        self.match_box.setClearButtonEnabled(True)
        self.limit_check = QCheckBox("Only the next")
        self.limit_box = QSpinBox()
        self.limit_box.setRange(1, 1_000_000)
        self.limit_box.valueChanged.connect(
            lambda n: self.limit_box.setSuffix(" flow" if n == 1 else " flows")
        )
        times = rule.get("times")
        self.limit_check.setChecked(isinstance(times, int))
        self.limit_box.setValue(times if isinstance(times, int) else 1)
        self.limit_box.setSuffix(" flow" if self.limit_box.value() == 1 else " flows")
        self.limit_box.setEnabled(self.limit_check.isChecked())
        self.limit_check.toggled.connect(self.limit_box.setEnabled)
        limit_row = QHBoxLayout()
        limit_row.addWidget(self.limit_check)
        limit_row.addWidget(self.limit_box)
        limit_row.addStretch(1)
        form = QFormLayout()
        form.addRow("Name", self.name_box)
        form.addRow("Match", self.match_box)
        form.addRow("", limit_row)

        self.action_list = QListWidget()
        self.action_list.setMaximumHeight(120)
        self.action_list.currentRowChanged.connect(self._show_action)
        self.add_button = QPushButton("Add Action")
        add_menu = QMenu(self.add_button)
        for kind, label in ACTION_LABELS.items():
            add_menu.addAction(label, self._adder(kind))
        self.add_button.setMenu(add_menu)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_action)
        self.up_button = QPushButton("Move Up")
        self.up_button.clicked.connect(lambda: self.move_action(-1))
        self.down_button = QPushButton("Move Down")
        self.down_button.clicked.connect(lambda: self.move_action(1))
        action_buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            action_buttons.addWidget(button)
        action_buttons.addStretch(1)
        self.action_box = QGroupBox("Action")
        self.action_layout = QVBoxLayout(self.action_box)
        self.action_layout.addStretch(1)
        actions = QGroupBox("Actions, applied in order")
        actions_layout = QVBoxLayout(actions)
        actions_layout.addWidget(self.action_list)
        actions_layout.addLayout(action_buttons)
        self.action_list.setMinimumHeight(72)
        actions_layout.addWidget(self.action_box, 1)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(actions, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        for box in (self.name_box, self.match_box):
            box.textChanged.connect(self.check)
        self.limit_check.toggled.connect(self.check)
        self.limit_box.valueChanged.connect(self.check)
        self._fill_list(0)
        self.match_box.setFocus()

    # The actions

    def _fill_list(self, current: int) -> None:
        self.action_list.blockSignals(True)
        self.action_list.clear()
        for _ in self.rule_actions:
            self.action_list.addItem(QListWidgetItem())
        self.action_list.blockSignals(False)
        self._label_actions()
        if self.rule_actions:
            self.action_list.setCurrentRow(max(0, min(current, len(self.rule_actions) - 1)))
        else:
            self._show_action(-1)

    def _label_actions(self) -> None:
        for row, action in enumerate(self.rule_actions):
            item = self.action_list.item(row)
            error = action_error(action)
            item.setText(f"{row + 1}. {action_summary(action)}")
            item.setForeground(ERROR_COLOR if error else self.palette().text().color())
            item.setToolTip(error)

    def _show_action(self, row: int) -> None:
        if self.form_widget is not None:
            self.action_layout.removeWidget(self.form_widget)
            self.form_widget.deleteLater()
            self.form_widget = None
        if not 0 <= row < len(self.rule_actions):
            self.action_box.setTitle("Action")
            self.action_box.setEnabled(False)
            self._update_buttons()
            self.check()
            return
        action = self.rule_actions[row]
        kind = str(action.get("type"))
        self.action_box.setEnabled(True)
        self.action_box.setTitle(f"{row + 1}. {ACTION_LABELS.get(kind, kind)}")
        form = FORMS[kind]()
        form.set_value(action)
        form.changed.connect(self._form_changed)
        self.action_layout.insertWidget(0, form)
        self.form_widget = form
        self._update_buttons()
        self.check()

    def _form_changed(self) -> None:
        row = self.action_list.currentRow()
        if self.form_widget is not None and 0 <= row < len(self.rule_actions):
            self.rule_actions[row] = self.form_widget.value()
            self._label_actions()
            self.check()

    def _update_buttons(self) -> None:
        row = self.action_list.currentRow()
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < len(self.rule_actions) - 1)

    def _adder(self, kind: str) -> Callable[[], object]:
        return lambda: self.add_action(kind)

    def add_action(self, kind: str) -> ActionForm | None:
        """Append a new action of ``kind`` and show its form."""
        self.rule_actions.append(default_action(kind))
        self._fill_list(len(self.rule_actions) - 1)
        return self.form_widget

    def remove_action(self) -> None:
        row = self.action_list.currentRow()
        if 0 <= row < len(self.rule_actions):
            del self.rule_actions[row]
            self._fill_list(row)

    def move_action(self, step: int) -> None:
        row = self.action_list.currentRow()
        to = row + step
        if 0 <= row < len(self.rule_actions) and 0 <= to < len(self.rule_actions):
            self.rule_actions[row], self.rule_actions[to] = (
                self.rule_actions[to],
                self.rule_actions[row],
            )
            self._fill_list(to)

    # The rule

    def rule(self) -> dict[str, Any]:
        """The draft in its file form."""
        return {
            "name": self.name_box.text().strip(),
            "match": self.match_box.text().strip(),
            "enabled": self.enabled,
            "times": self.limit_box.value() if self.limit_check.isChecked() else None,
            "actions": [dict(action) for action in self.rule_actions],
        }

    def problem(self) -> str:
        """Why the draft cannot work, as the engine would say; "" if it can."""
        if not self.rule_actions:
            return "Add an action: what the rule does to the flows it matches."
        for number, action in enumerate(self.rule_actions, start=1):
            error = action_error(action)
            if error:
                return f"Action {number}: {error}"
        return rule_problem(self.rule())

    def check(self) -> None:
        error = self.problem()
        if error:
            self.message.setText(f"⚠ {error}")
            self.message.setStyleSheet(ERROR_STYLE)
        else:
            self.message.setText("" if self.match_box.text().strip() else EVERY_FLOW)
            self.message.setStyleSheet(HINT_STYLE)
        self.ok_button.setEnabled(not error)

    def accept(self) -> None:
        if self.problem():
            return
        self.rule_chosen.emit(self.rule())
        super().accept()
