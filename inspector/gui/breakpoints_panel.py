"""The breakpoints panel: the engine's breakpoint rules, switched on and
off, added and removed.

The list is the engine's, as the window's ``RuleBook`` last read it
(again whenever its rules change, whoever changed them: this panel, the
Rules panel, or ``inspector ctl break add`` from a shell, and whenever a
flow is held: a hit); the panel shows its breakpoint rules and leaves the
others to the Rules panel. Each row shows the expression, where it
breaks, its hits and what is left of an "only the next N" limit; a rule
the engine cannot use shows why, in red, under it. The book, not this
panel, keeps the rules in the settings and gives them to a new engine.

Signals:
    notice(str): something to tell the user in passing (a refused rule).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
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

from inspector.gui.breakpoint_dialog import BreakpointDialog
from inspector.gui.breakpoint_rules import ON_LABELS, hits_text, is_breakpoint, on_of
from inspector.gui.engine_link import EngineLink
from inspector.gui.rule_book import RuleBook
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

MATCH, ON, HITS = 0, 1, 2
RULE_ID_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1
ERROR_COLOR = QColor(215, 58, 73)
EVERY_FLOW = "(every flow)"


def rule_label(rule: Mapping[str, Any]) -> str:
    """The expression, after the rule's name when it was given one."""
    match = str(rule.get("match") or "") or EVERY_FLOW
    name = str(rule.get("name") or "")
    default = f"Breakpoint {rule.get('id')}"
    return f"{name}: {match}" if name and name != default else match


class BreakpointsPanel(QWidget):
    notice = Signal(str)

    def __init__(
        self,
        link: EngineLink,
        tasks: GuiTasks,
        filter_text: Callable[[], str],
        book: RuleBook,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.link = link
        self.tasks = tasks
        self.book = book
        self._filter_text = filter_text
        self.rules: list[dict[str, Any]] = []
        """The engine's rules, as it last listed them."""
        self._dialog: BreakpointDialog | None = None

        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Breakpoint", "On", "Hits"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(MATCH, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ON, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(HITS, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.empty_label = QLabel(
            "No breakpoints. Add one, or right-click a flow: Break on this host."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid);")

        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add a breakpoint: a filter expression the flows it holds match")
        self.add_button.clicked.connect(lambda: self.open_add_dialog())
        self.from_filter_button = QPushButton("From Filter")
        self.from_filter_button.setToolTip("Add a breakpoint on what the filter box shows")
        self.from_filter_button.clicked.connect(self.add_from_filter)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.from_filter_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)
        book.listed.connect(self.show_rules)

    # The engine's list

    def refresh(self) -> None:
        """Read the rules again."""
        self.book.refresh()

    def show_rules(self, rules: list[dict[str, Any]]) -> None:
        """Show the engine's list (its breakpoints)."""
        self.rules = rules
        selected = set(self.selected_ids())
        tree = self.tree
        tree.blockSignals(True)
        tree.clear()
        for rule in rules:
            if is_breakpoint(rule):
                item = self._item(rule)
                tree.addTopLevelItem(item)
                item.setSelected(int(rule["id"]) in selected)
                self._add_error(item, str(rule.get("error") or ""))
        tree.blockSignals(False)
        self.empty_label.setVisible(tree.topLevelItemCount() == 0)
        self._selection_changed()

    def _item(self, rule: Mapping[str, Any]) -> QTreeWidgetItem:
        item = QTreeWidgetItem([rule_label(rule), ON_LABELS.get(on_of(rule), ""), hits_text(rule)])
        item.setData(MATCH, RULE_ID_ROLE, int(rule["id"]))
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(
            MATCH, Qt.CheckState.Checked if rule.get("enabled") else Qt.CheckState.Unchecked
        )
        item.setToolTip(MATCH, "Untick to keep the breakpoint without holding flows")
        item.setTextAlignment(HITS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    def _add_error(self, item: QTreeWidgetItem, error: str) -> None:
        if not error:
            return
        item.setForeground(MATCH, ERROR_COLOR)
        item.setToolTip(MATCH, error)
        child = QTreeWidgetItem([f"⚠ {error}"])
        child.setForeground(MATCH, ERROR_COLOR)
        child.setFlags(Qt.ItemFlag.ItemIsEnabled)
        child.setToolTip(MATCH, error)
        item.addChild(child)
        child.setFirstColumnSpanned(True)
        item.setExpanded(True)

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def errors(self) -> list[str]:
        """The red lines shown under the rules that cannot work."""
        found = []
        for item in self._items():
            children = (item.child(c) for c in range(item.childCount()))
            found += [child.text(MATCH) for child in children if child is not None]
        return found

    def labels(self) -> list[str]:
        """The breakpoints as listed."""
        return [item.text(MATCH) for item in self._items()]

    # Changes

    def open_add_dialog(self, match: str = "", on: str = "") -> BreakpointDialog:
        """The Add Breakpoint dialog, with ``match`` filled in (not modal)."""
        if self._dialog is not None:
            self._dialog.close()
        dialog = BreakpointDialog(match, self)
        if on:
            dialog.set_on(on)
        dialog.rule_chosen.connect(self.add)
        dialog.finished.connect(lambda _r: self._closed(dialog))
        self._dialog = dialog
        dialog.show()
        return dialog

    def _closed(self, dialog: BreakpointDialog) -> None:
        if self._dialog is dialog:
            self._dialog = None
        dialog.deleteLater()

    def add_from_filter(self) -> None:
        self.open_add_dialog(self._filter_text().strip())

    def add(self, rule: dict[str, Any]) -> None:
        self.tasks.spawn(self._add(rule), "Adding a breakpoint")

    async def _add(self, rule: dict[str, Any]) -> None:
        try:
            result = await self.link.request("add_rule", rule=rule)
        except (ChannelClosed, EngineError) as exc:
            self.notice.emit(f"Breakpoint not added: {exc}")
            return
        if result.get("error"):
            self.notice.emit(f"Breakpoint added but off: {result['error']}")

    def selected_ids(self) -> list[int]:
        return [int(item.data(MATCH, RULE_ID_ROLE)) for item in self.tree.selectedItems()]

    def _selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.selected_ids()))

    def remove_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.tasks.spawn(self._remove(ids), "Removing breakpoints")

    async def _remove(self, ids: list[int]) -> None:
        for rule_id in ids:
            # One already gone (removed from a shell meanwhile) is no loss.
            with contextlib.suppress(EngineError):
                await self.link.request("remove_rule", id=rule_id)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        rule_id = item.data(MATCH, RULE_ID_ROLE)
        if column != MATCH or rule_id is None:
            return
        enabled = item.checkState(MATCH) == Qt.CheckState.Checked
        self.tasks.spawn(self._enable(int(rule_id), enabled), "Switching a breakpoint")

    async def _enable(self, rule_id: int, enabled: bool) -> None:
        try:
            await self.link.request("update_rule", id=rule_id, enabled=enabled)
        except (ChannelClosed, EngineError) as exc:
            self.notice.emit(f"Breakpoint not changed: {exc}")
            self.refresh()
