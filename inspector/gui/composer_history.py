"""The composer's history: the composed flows of the session, newest first.

Composed flows carry row flag 128 (``FlowRow.is_composed``), in batches as
they are sent and when a session is opened (the session file keeps the
flag), so the history is the window's own rows: it watches each batch for
composed rows and drops what the window no longer has (cleared, deleted).
Its list shows status, method and path (the URL as a tip); choosing an entry asks for that
flow to be loaded.

Signals:
    chosen(int): the flow id of the entry clicked.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from inspector.core.mirror import RowMirror
from inspector.core.rowbatch import RowBatch
from inspector.core.summary import FLAG_COMPOSED, FLAGS, ID

ID_ROLE = Qt.ItemDataRole.UserRole


def composed_ids(batch: RowBatch) -> list[int]:
    """The ids of the composed flows among ``batch``'s rows."""
    return [int(row[ID]) for row in batch.rows if int(row[FLAGS]) & FLAG_COMPOSED]


class ComposedRows:
    """The ids of the composed flows the window has, kept from its batches
    (from the window's start, whether or not the composer is open)."""

    def __init__(self, mirror: RowMirror) -> None:
        self.mirror = mirror
        self.ids: set[int] = set()

    def note_batch(self, batch: RowBatch) -> bool:
        """Take in a batch the window applied; whether the history changed
        (a composed flow came, changed or left)."""
        known = self.ids
        touched = any(int(row[ID]) in known for row in batch.rows)
        fresh = set(composed_ids(batch)) - known
        known |= fresh
        gone = bool(batch.deleted or batch.cleared_through or batch.dropped_through)
        return bool(fresh or touched or (gone and known))

    def newest_first(self) -> list[int]:
        """The composed flows the window still has, newest first."""
        self.ids = {i for i in self.ids if self.mirror.get(i) is not None}
        return sorted(self.ids, reverse=True)


class HistoryList(QListWidget):
    chosen = Signal(int)

    def __init__(self, rows: ComposedRows, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = rows
        self.setAlternatingRowColors(True)
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.itemActivated.connect(self._clicked)
        self.itemClicked.connect(self._clicked)

    def refresh(self) -> None:
        """Show the entries the window still has, newest first, with their
        current status."""
        mirror = self.rows.mirror
        current = self.currentItem()
        selected = current.data(ID_ROLE) if current is not None else None
        self.setUpdatesEnabled(False)
        self.clear()
        for flow_id in self.rows.newest_first():
            row = mirror.get(flow_id)
            if row is None:
                continue
            status = _status(row.status, row.duration)
            item = QListWidgetItem(f"#{flow_id}  {status}  {row.method} {row.path}")
            item.setData(ID_ROLE, flow_id)
            item.setToolTip(row.url)
            self.addItem(item)
            if flow_id == selected:
                self.setCurrentItem(item)
        self.setUpdatesEnabled(True)

    def _clicked(self, item: QListWidgetItem) -> None:
        flow_id = item.data(ID_ROLE)
        if isinstance(flow_id, int):
            self.chosen.emit(flow_id)


def _status(status: int, duration: float | None) -> str:
    if status:
        return str(status)
    return "…" if duration is None else "failed"
