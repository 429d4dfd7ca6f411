"""The Rules panel's list: one row per rule of the engine (its enable box
and name, match, what its actions do, hits), the reason in red under a
rule the engine cannot use, and rows dragged to a new place.

A dragged row is not moved by Qt: the tree asks for the move (``moved``)
and shows the engine's list when it comes back, so what is shown is
always the engine's order.

Signals:
    moved(int, int): move the rule with this id to this place.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from inspector.gui.breakpoint_rules import hits_text
from inspector.gui.rule_text import rule_summary

NAME, MATCH, ACTIONS, HITS = 0, 1, 2, 3
RULE_ID_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1
ERROR_COLOR = QColor(215, 58, 73)
EVERY_FLOW = "(every flow)"
MATCH_WIDTH = 280
"""The Match column's widest first fit (the user may widen it)."""
ERROR_WIDTH = 64
"""Characters in a line of a rule's error (the row grows to hold it)."""


class RuleTree(QTreeWidget):
    moved = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fitted = False
        self.setColumnCount(4)
        self.setHeaderLabels(["Rule", "Match", "Actions", "Hits"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        header = self.header()
        header.setStretchLastSection(False)
        for column, mode in (
            (NAME, QHeaderView.ResizeMode.Interactive),
            (MATCH, QHeaderView.ResizeMode.Interactive),
            (ACTIONS, QHeaderView.ResizeMode.Stretch),
            (HITS, QHeaderView.ResizeMode.ResizeToContents),
        ):
            header.setSectionResizeMode(column, mode)
        self.setColumnWidth(NAME, 150)
        self.setColumnWidth(MATCH, 170)

    # Showing

    def show_rules(self, rules: list[dict[str, Any]], selected: int | None) -> None:
        """The engine's list, rule ``selected`` (an id) selected again."""
        self.clear()
        for rule in rules:
            item = rule_item(rule)
            self.addTopLevelItem(item)
            add_error(item, str(rule.get("error") or ""))
            if rule.get("id") == selected:
                self.setCurrentItem(item)
        if rules and not self._fitted:
            # The first rules shown set the widths once; the user's stay.
            self._fitted = True
            for column, widest in ((NAME, 200), (MATCH, MATCH_WIDTH)):
                self.resizeColumnToContents(column)
                self.setColumnWidth(column, min(self.columnWidth(column), widest))

    def items(self) -> list[QTreeWidgetItem]:
        """The rules' rows (not the error lines under them)."""
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item for item in items if item is not None]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """What each row shows: name, match, actions, hits."""
        return [
            (item.text(NAME), item.text(MATCH), item.text(ACTIONS), item.text(HITS))
            for item in self.items()
        ]

    def errors(self) -> list[str]:
        """The errors shown in red under the rules that cannot work."""
        found = []
        for item in self.items():
            children = (item.child(c) for c in range(item.childCount()))
            found += [child.toolTip(NAME) for child in children if child is not None]
        return found

    # Dragging

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


def rule_item(rule: Mapping[str, Any]) -> QTreeWidgetItem:
    """A rule's row: its enable box and name, match, actions, hits."""
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


def add_error(item: QTreeWidgetItem, error: str) -> None:
    """Why the rule cannot work, in red: its row, and a line under it."""
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
