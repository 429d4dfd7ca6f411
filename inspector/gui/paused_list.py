"""The list of held flows beside the paused-flow editor: each flow's id,
where it is held and for how long, over its method and URL; the one being
edited in bold. Rebuilt when flows are held or let go, its clocks
rewritten each second; a click chooses a flow (the editor loads it).

Signals:
    chosen(int): the user picked this flow.
"""

from __future__ import annotations

import time
from collections.abc import Set

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from inspector.core.mirror import RowMirror
from inspector.gui.held_flows import HeldFlows, waited

FLOW_ID_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1


class HeldList(QListWidget):
    chosen = Signal(int)

    def __init__(self, held: HeldFlows, mirror: RowMirror, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.held = held
        self.mirror = mirror
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSpacing(2)
        self.itemClicked.connect(lambda item: self.chosen.emit(int(item.data(FLOW_ID_ROLE))))

    def fill(self, current: int | None, let_go: Set[int]) -> None:
        """Every held flow, oldest first; those already sent on greyed."""
        self.blockSignals(True)
        self.clear()
        now = time.time()
        for flow_id in self.held.flows:
            item = QListWidgetItem(self.item_text(flow_id, now))
            item.setData(FLOW_ID_ROLE, flow_id)
            if flow_id in let_go:
                item.setForeground(Qt.GlobalColor.gray)
            self.addItem(item)
        self.blockSignals(False)
        self.mark(current)

    def mark(self, current: int | None) -> None:
        """The flow being edited, selected and in bold."""
        self.blockSignals(True)
        for item in self._items():
            chosen = item.data(FLOW_ID_ROLE) == current
            font = QFont(item.font())
            font.setBold(chosen)
            item.setFont(font)
            item.setSelected(chosen)
        self.blockSignals(False)

    def tick(self) -> None:
        now = time.time()
        for item in self._items():
            item.setText(self.item_text(item.data(FLOW_ID_ROLE), now))

    def item_text(self, flow_id: int, now: float) -> str:
        """``#12  request  0:05`` over ``POST http://…``."""
        held = self.held.flows.get(flow_id)
        clock = f"{held.phase}  {waited(now - held.since)}" if held is not None else "sent on"
        # A flow held as it arrives may have no row yet: its URL comes a tick later.
        row = self.mirror.get(flow_id)
        what = f"\n{row.method} {row.url}" if row is not None else ""
        return f"#{flow_id}  {clock}{what}"

    def _items(self) -> list[QListWidgetItem]:
        return [item for i in range(self.count()) if (item := self.item(i)) is not None]
