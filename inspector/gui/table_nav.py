"""Keeping the flow list's selection where a user expects it.

- Home and Ctrl+Home select the first flow, End and Ctrl+End the last (a
  row-selecting table otherwise moves to the row's first cell and selects
  nothing new).
- After Delete the row that took the deleted one's place is selected, so
  Delete pressed again goes on deleting, and the detail pane shows it.
- When rows go without the selection changing hands (a filter hides the
  selected flow, the model is reset, rows are deleted elsewhere), Qt says
  nothing about the selection; here the table says what is selected now,
  so the detail pane never shows a flow the list no longer does.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, Qt
from PySide6.QtGui import QKeyEvent

from inspector.gui.flow_table import FlowTable

FIRST_KEYS = (Qt.Key.Key_Home,)
LAST_KEYS = (Qt.Key.Key_End,)


class TableNavigation(QObject):
    def __init__(self, table: FlowTable) -> None:
        super().__init__(table)
        self.table = table
        self.shown_id: int | None = None
        table.installEventFilter(self)
        table.flow_selected.connect(self._selected)
        model = table.model()
        model.modelReset.connect(self._recheck)
        model.rowsRemoved.connect(self._recheck)
        model.layoutChanged.connect(self._recheck)
        table.delete_requested.connect(self._deleting)

    def select_row(self, row: int) -> None:
        model = self.table.model()
        if not 0 <= row < model.rowCount():
            return
        index = model.index(row, 0)
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier):
                if event.key() in FIRST_KEYS:
                    self.select_row(0)
                    return True
                if event.key() in LAST_KEYS:
                    self.select_row(self.table.model().rowCount() - 1)
                    return True
        return False

    def _selected(self, flow_id: object) -> None:
        self.shown_id = flow_id if isinstance(flow_id, int) else None

    def _deleting(self, rows: list[int]) -> None:
        # Connected after the window's own slot, so the rows are gone: the
        # first deleted row's place now holds the next flow.
        count = self.table.model().rowCount()
        if rows and count:
            self.select_row(min(min(rows), count - 1))

    def _recheck(self) -> None:
        current = self.table.current_flow_id()
        if current != self.shown_id:
            self.table.flow_selected.emit(current)
