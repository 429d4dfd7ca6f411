"""The Rules panel: every rule of the engine, breakpoints included, in
the order they apply; switched on and off, reordered, added, edited,
duplicated and removed.

The list shown is the engine's (``RuleBook``), never a copy edited here:
each change is a request (``add_rule``, ``update_rule``,
``remove_rule``), and the list is shown again when the engine says its
rules changed. Each row shows the rule's name, its match, what its
actions do and its hits; a rule the engine cannot use shows why, in red,
under it. Rows are reordered by dragging them or with Move Up and Move
Down (``update_rule`` with its new ``index``).

The list itself is ``rule_tree.RuleTree``.

Signals:
    notice(str): something to tell the user in passing (a refused change).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.gui.rule_book import RuleBook
from inspector.gui.rule_editor import RuleEditor
from inspector.gui.rule_tree import NAME, RULE_ID_ROLE, RuleTree
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

EMPTY = (
    "No rules. Add one to map a host elsewhere, answer from a file or a mock, rewrite"
    " headers or bodies, block or slow flows down; or right-click a flow: New Rule."
)


class RulesPanel(QWidget):
    notice = Signal(str)

    def __init__(self, book: RuleBook, tasks: GuiTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.tasks = tasks
        self.editor: RuleEditor | None = None

        tree = self.tree = RuleTree()
        tree.itemChanged.connect(self._item_changed)
        tree.itemSelectionChanged.connect(self._update_buttons)
        tree.itemDoubleClicked.connect(lambda _item, _column: self.edit_selected())
        tree.moved.connect(self.move_rule)
        self.empty_label = QLabel(EMPTY)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid);")

        self.add_button = self._button("Add…", "Add a rule", lambda: self.open_editor())
        self.edit_button = self._button("Edit…", "Edit the selected rule", self.edit_selected)
        self.duplicate_button = self._button(
            "Duplicate", "Add a copy of the selected rule after it", self.duplicate_selected
        )
        self.remove_button = self._button(
            "Remove", "Remove the selected rule", self.remove_selected
        )
        self.up_button = self._button("Move Up", "Apply this rule earlier", lambda: self._step(-1))
        self.down_button = self._button("Move Down", "Apply this rule later", lambda: self._step(1))
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (
            self.add_button,
            self.edit_button,
            self.duplicate_button,
            self.remove_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(tree, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)
        book.listed.connect(self.show_rules)
        self.show_rules(book.rules)

    def _button(self, text: str, tip: str, slot: Any) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # Showing the engine's list

    def show_rules(self, rules: list[dict[str, Any]]) -> None:
        selected = self.selected_id()
        self.tree.blockSignals(True)
        self.tree.show_rules(rules, selected)
        self.tree.blockSignals(False)
        self.empty_label.setVisible(not rules)
        self._update_buttons()

    def rows(self) -> list[tuple[str, str, str, str]]:
        """What each row shows: name, match, actions, hits."""
        return self.tree.rows()

    def errors(self) -> list[str]:
        """The errors shown in red under the rules that cannot work."""
        return self.tree.errors()

    def selected_id(self) -> int | None:
        item = self.tree.currentItem()
        if item is None or not item.isSelected():
            return None
        rule_id = (item.parent() or item).data(NAME, RULE_ID_ROLE)
        return int(rule_id) if rule_id is not None else None

    def select(self, row: int) -> None:
        item = self.tree.topLevelItem(row)
        if item is not None:
            self.tree.setCurrentItem(item)

    def _rule(self, rule_id: int | None) -> dict[str, Any] | None:
        return next((r for r in self.book.rules if r.get("id") == rule_id), None)

    def _update_buttons(self) -> None:
        rule_id = self.selected_id()
        ids = [r.get("id") for r in self.book.rules]
        place = ids.index(rule_id) if rule_id in ids else -1
        for button in (self.edit_button, self.duplicate_button, self.remove_button):
            button.setEnabled(place >= 0)
        self.up_button.setEnabled(place > 0)
        self.down_button.setEnabled(0 <= place < len(ids) - 1)

    # Changes

    def _run(self, work: Awaitable[str], what: str) -> None:
        async def go() -> None:
            try:
                error = await work
            except (ChannelClosed, EngineError) as exc:
                self.notice.emit(f"{what}: {exc}")
                self.book.refresh()
                return
            if error:
                self.notice.emit(f"The rule is kept but off: {error}")

        self.tasks.spawn(go(), what)

    def open_editor(
        self, rule: dict[str, Any] | None = None, rule_id: int | None = None, title: str = ""
    ) -> RuleEditor:
        """The rule editor (not modal): a new rule, or rule ``rule_id``'s
        new form on OK."""
        if self.editor is not None:
            self.editor.close()
        editor = RuleEditor(rule, self, title)
        editor.rule_chosen.connect(lambda chosen: self._chosen(chosen, rule_id))
        editor.finished.connect(lambda _r: self._closed(editor))
        self.editor = editor
        editor.show()
        return editor

    def _chosen(self, rule: dict[str, Any], rule_id: int | None) -> None:
        if rule_id is None or self._rule(rule_id) is None:
            self._run(self.book.add(rule), "Rule not added")
        else:
            self._run(self.book.update(rule_id, rule=rule), "Rule not changed")

    def _closed(self, editor: RuleEditor) -> None:
        if self.editor is editor:
            self.editor = None
        editor.deleteLater()

    def edit_selected(self) -> None:
        rule = self._rule(self.selected_id())
        if rule is not None:
            self.open_editor(dict(rule), int(rule["id"]))

    def duplicate_selected(self) -> None:
        rule = self._rule(self.selected_id())
        if rule is None:
            return
        twin: dict[str, Any] = {
            key: rule[key] for key in ("match", "enabled", "times", "actions") if key in rule
        }
        twin["name"] = f"{rule.get('name') or 'Rule'} (copy)"
        place = self.book.rules.index(rule) + 1

        async def go() -> str:
            result = await self.book.link.request("add_rule", rule=twin)
            await self.book.update(int(result["id"]), index=place)
            return str(result.get("error") or "")

        self._run(go(), "Rule not duplicated")

    def remove_selected(self) -> None:
        rule_id = self.selected_id()
        if rule_id is not None:
            self._run(self._remove(rule_id), "Rule not removed")

    async def _remove(self, rule_id: int) -> str:
        await self.book.remove(rule_id)
        return ""

    def move_rule(self, rule_id: int, index: int) -> None:
        self._run(self.book.update(rule_id, index=index), "Rule not moved")

    def _step(self, step: int) -> None:
        rule_id = self.selected_id()
        ids = [r.get("id") for r in self.book.rules]
        if rule_id is not None and rule_id in ids:
            place = ids.index(rule_id) + step
            if 0 <= place < len(ids):
                self.move_rule(rule_id, place)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        rule_id = item.data(NAME, RULE_ID_ROLE)
        if column != NAME or rule_id is None:
            return
        enabled = item.checkState(NAME) == Qt.CheckState.Checked
        self._run(self.book.update(int(rule_id), enabled=enabled), "Rule not switched")
