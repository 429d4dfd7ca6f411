"""The window's central area: the flow list, and the detail pane below it
or beside it.

The detail pane takes no room until a flow is selected (an empty pane
took 60% of the height at 1280x800 and left the list 11 rows), and
collapses again when nothing is. Where it sits is the View menu's choice;
the splitter's division is remembered for each placement, since a good
height below is rarely a good width beside.

Signals:
    placement_changed(str): the pane moved ``below`` or ``beside``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QWidget

from inspector.gui.window_state import PLACEMENTS

SHARE = {"below": 0.45, "beside": 0.5}
"""The detail pane's first share of the room, by placement."""


class Workbench(QSplitter):
    placement_changed = Signal(str)

    def __init__(self, flows: QWidget, detail: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.flows = flows
        self.detail = detail
        self.placement = "below"
        self.sizes_by_placement: dict[str, list[int]] = {}
        self.addWidget(flows)
        self.addWidget(detail)
        self.setChildrenCollapsible(False)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 0)
        detail.hide()
        self.splitterMoved.connect(self._moved)

    @property
    def detail_open(self) -> bool:
        return not self.detail.isHidden()

    def set_placement(self, placement: str) -> None:
        if placement not in PLACEMENTS or placement == self.placement:
            return
        self.remember()
        self.placement = placement
        self.setOrientation(
            Qt.Orientation.Vertical if placement == "below" else Qt.Orientation.Horizontal
        )
        if self.detail_open:
            self._divide()
        self.placement_changed.emit(placement)

    def show_detail(self, shown: bool) -> None:
        if shown == self.detail_open:
            return
        if not shown:
            self.remember()
        self.detail.setVisible(shown)
        if shown:
            self._divide()

    def _divide(self) -> None:
        total = sum(self.sizes()) or (self.height() if self.placement == "below" else self.width())
        sizes = self.sizes_by_placement.get(self.placement)
        if not sizes or sum(sizes) <= 0:
            pane = int(total * SHARE[self.placement])
            sizes = [total - pane, pane]
        self.setSizes(sizes)

    def _moved(self, _pos: int, _index: int) -> None:
        self.remember()

    def remember(self) -> None:
        """Keep the division of the open pane for its placement."""
        sizes = self.sizes()
        if self.detail_open and len(sizes) == 2 and min(sizes) > 0:
            self.sizes_by_placement[self.placement] = sizes
