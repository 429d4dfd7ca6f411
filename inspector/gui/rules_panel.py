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

Signals:
    notice(str): something to tell the user in passing (a refused change).
"""

from __future__ import annotations

import textwrap
from collections.abc import Awaitable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.gui.breakpoint_rules import hits_text
from inspector.gui.rule_book import RuleBook
from inspector.gui.rule_editor import RuleEditor
from inspector.gui.rule_text import rule_summary
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

NAME, MATCH, ACTIONS, HITS = 0, 1, 2, 3
RULE_ID_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1
ERROR_COLOR = QColor(215, 58, 73)
EVERY_FLOW = "(every flow)"
MATCH_WIDTH = 280
"""The Match column's widest first fit (the user may widen it)."""
ERROR_WIDTH = 64
"""Characters in a line of a rule's error (the row grows to hold it)."""
EMPTY = (
    "No rules. Add one to map a host elsewhere, answer from a file or a mock, rewrite"
    " headers or bodies, block or slow flows down; or right-click a flow: New Rule."
)


class RuleTree(QTreeWidget):
    """The rules' list; a row dragged elsewhere asks for the move and
    waits for the engine's list (Qt does not move the row itself).

    Signals:
        moved(int, int): move the rule with this id to this place.
    """

    moved = Signal(int, int)

    def dropEvent(self, event: QDropEvent) -> None:
        source = self.currentItem()
        if event.source() is not self or source is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        target = self.itemAt(event.position().toPoint())
        below = self.dropIndicatorPosition() == QAbstractItemView.DropIndicatorPosition.BelowItem
        self.drop(source, target, below)

    def drop(self, source: QTreeWidgetItem, target: QTreeWidgetItem | None, below: bool) -> None:
        """``source``'s rule dropped on ``target`` (None: past the last
        row), before it or, with ``below``, after it."""
        source = source.parent() or source
        start = self.indexOfTopLevelItem(source)
        if target is None:
            index = self.topLevelItemCount() - 1
        else:
            top = target.parent() or target
            index = self.indexOfTopLevelItem(top) + (1 if below or top is not target else 0)
            if index > start:
                index -= 1
        rule_id = source.data(NAME, RULE_ID_ROLE)
        if rule_id is not None and index != start:
            self.moved.emit(int(rule_id), index)


class RulesPanel(QWidget):
    notice = Signal(str)

    def __init__(self, book: RuleBook, tasks: GuiTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.tasks = tasks
        self.editor: RuleEditor | None = None
        self._fitted = False

        tree = self.tree = RuleTree()
        tree.setColumnCount(4)
        tree.setHeaderLabels(["Rule", "Match", "Actions", "Hits"])
        tree.setRootIsDecorated(False)
        tree.setUniformRowHeights(False)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tree.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        tree.setDefaultDropAction(Qt.DropAction.MoveAction)
        header = tree.header()
        header.setStretchLastSection(False)
        for column, mode in (
            (NAME, QHeaderView.ResizeMode.Interactive),
            (MATCH, QHeaderView.ResizeMode.Interactive),
            (ACTIONS, QHeaderView.ResizeMode.Stretch),
            (HITS, QHeaderView.ResizeMode.ResizeToContents),
        ):
            header.setSectionResizeMode(column, mode)
        tree.setColumnWidth(NAME, 150)
        tree.setColumnWidth(MATCH, 170)
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
        tree = self.tree
        tree.blockSignals(True)
        tree.clear()
        for rule in rules:
            item = self._item(rule)
            tree.addTopLevelItem(item)
            self._add_error(item, str(rule.get("error") or ""))
            if rule.get("id") == selected:
                tree.setCurrentItem(item)
        tree.blockSignals(False)
        self.empty_label.setVisible(not rules)
        self._update_buttons()
        if rules and not self._fitted:
            # The first rules shown set the widths once; the user's stay.
            self._fitted = True
            for column, widest in ((NAME, 200), (MATCH, MATCH_WIDTH)):
                tree.resizeColumnToContents(column)
                tree.setColumnWidth(column, min(tree.columnWidth(column), widest))

    def _item(self, rule: Mapping[str, Any]) -> QTreeWidgetItem:
        match = str(rule.get("match") or "") or EVERY_FLOW
        summary = rule_summary(rule)
        item = QTreeWidgetItem([str(rule.get("name") or ""), match, summary, hits_text(rule)])
        item.setData(NAME, RULE_ID_ROLE, int(rule["id"]))
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemIsDragEnabled
        )
        on = Qt.CheckState.Checked if rule.get("enabled") else Qt.CheckState.Unchecked
        item.setCheckState(NAME, on)
        item.setToolTip(NAME, "Untick to keep the rule without applying it")
        item.setToolTip(MATCH, match)
        item.setToolTip(ACTIONS, summary.replace("; ", "\n"))
        item.setTextAlignment(HITS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def _add_error(self, item: QTreeWidgetItem, error: str) -> None:
        if not error:
            return
        for column in (NAME, MATCH, ACTIONS):
            item.setForeground(column, ERROR_COLOR)
        item.setToolTip(NAME, error)
        child = QTreeWidgetItem(["⚠ " + "\n   ".join(textwrap.wrap(error, ERROR_WIDTH))])
        child.setForeground(NAME, ERROR_COLOR)
        child.setFlags(Qt.ItemFlag.ItemIsEnabled)
        child.setToolTip(NAME, error)
        item.addChild(child)
        child.setFirstColumnSpanned(True)
        item.setExpanded(True)

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """What each row shows: name, match, actions, hits."""
        return [
            (item.text(NAME), item.text(MATCH), item.text(ACTIONS), item.text(HITS))
            for item in self._items()
        ]

    def errors(self) -> list[str]:
        """The errors shown in red under the rules that cannot work."""
        found = []
        for item in self._items():
            children = (item.child(c) for c in range(item.childCount()))
            found += [child.toolTip(NAME) for child in children if child is not None]
        return found

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
