"""The flow table's columns: which are shown (the header's context menu),
how a column's text is cut when it does not fit, and the header's state
to remember between runs.

The table elides in the middle, which keeps both ends of a path or a host;
a content type cut in the middle (``applic…json``) loses the part that
says what it is, so it is cut at its end instead.

Columns the table has but does not show at first: ``HIDDEN``.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QModelIndex, QPersistentModelIndex, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from inspector.gui.flow_cells import HEADERS, Column

HIDDEN = frozenset({Column.VERSION, Column.CLIENT_ADDR, Column.SERVER_ADDR})
"""Shown only when chosen."""
ELIDE_RIGHT = (Column.TYPE,)


class ElideRight(QStyledItemDelegate):
    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


class ColumnChooser:
    def __init__(self, table: QTableView) -> None:
        self.table = table
        self.header = table.horizontalHeader()
        self.header.setSectionsMovable(True)
        self.header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.header.customContextMenuRequested.connect(self._menu)
        self._delegate = ElideRight(table)
        for column in ELIDE_RIGHT:
            table.setItemDelegateForColumn(column, self._delegate)
        for column in HIDDEN:
            self.header.setSectionHidden(column, True)
        self._defaults = self.header.saveState()

    def shown(self) -> list[Column]:
        return [c for c in Column if not self.header.isSectionHidden(c)]

    def set_shown(self, column: Column, shown: bool) -> None:
        if not shown and self.shown() == [column]:
            return  # the last column stays
        self.header.setSectionHidden(column, not shown)
        if shown and self.header.sectionSize(column) < 30:
            self.header.resizeSection(column, 90)

    def fill(self, menu: QMenu) -> None:
        """Add a checkable entry per column, and Reset Columns, to ``menu``."""
        for column in Column:
            action = QAction(HEADERS[column], menu)
            action.setCheckable(True)
            action.setChecked(not self.header.isSectionHidden(column))
            action.toggled.connect(lambda on, c=column: self.set_shown(c, on))
            menu.addAction(action)
        menu.addSeparator()
        reset = QAction("Reset Columns", menu)
        reset.triggered.connect(self.reset)
        menu.addAction(reset)

    def _menu(self, pos: QPoint) -> None:
        menu = QMenu(self.table)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addSection("Columns")
        self.fill(menu)
        menu.popup(self.header.mapToGlobal(pos))

    def reset(self) -> None:
        self.header.restoreState(self._defaults)

    def save(self) -> bytes:
        return bytes(self.header.saveState().data())

    def restore(self, state: bytes) -> bool:
        """Restore a saved header; False (and the defaults kept) when it
        does not fit this table (saved before a column was added)."""
        return bool(state) and self.header.restoreState(QByteArray(state))
