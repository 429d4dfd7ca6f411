"""Breakpoints in the main window: the panel, the held flows and their
editor, the paused badge, and what the flow table asks for.

``BreakpointControl`` belongs to the window. It takes each batch's
critical events (flows held and let go, rules changed), keeps the badge
("3 paused" beside a pause sign, grey at none; a click opens the editor), repaints the held
rows' status cells each second, and turns "Break on this host" or "this
path" into the Add Breakpoint dialog, filled in. Nothing here raises a
window or takes the focus when a flow is held: the badge is what changes.

Signals:
    notice(str): a line for the status bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QToolButton, QWidget

from inspector.core.events import Event, FlowPaused, RulesChanged
from inspector.core.mirror import RowMirror
from inspector.gui import icons
from inspector.gui.breakpoint_rules import host_match, path_match
from inspector.gui.breakpoints_panel import BreakpointsPanel
from inspector.gui.engine_link import EngineLink
from inspector.gui.flow_cells import Column
from inspector.gui.flow_table import FlowTable
from inspector.gui.held_flows import HeldFlows
from inspector.gui.paused_editor import PausedEditor
from inspector.gui.rule_book import RuleBook
from inspector.gui.tasks import GuiTasks

IDLE_STYLE = "QToolButton { color: palette(mid); padding: 2px 6px; }"
PAUSED_STYLE = (
    "QToolButton { background: #f0b429; color: #1f1f1f; font-weight: bold;"
    " border-radius: 4px; padding: 2px 6px; }"
)
PAUSED_INK = QColor(31, 31, 31)
WIDEST_STATUS = "Paused · response · 00:00"


class BreakpointControl(QObject):
    notice = Signal(str)

    def __init__(
        self,
        mirror: RowMirror,
        link: EngineLink,
        tasks: GuiTasks,
        table: FlowTable,
        filter_text: Callable[[], str],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.mirror = mirror
        self.table = table
        self.model = table.flow_model
        self.held = HeldFlows(link, self)
        self.model.held = self.held.flows
        self._widened = False
        self.book = RuleBook(link, tasks, self)
        self.book.notice.connect(self.notice)
        self.panel = BreakpointsPanel(link, tasks, filter_text, self.book)
        self.panel.notice.connect(self.notice)
        self.editor = PausedEditor(link, tasks, self.held, mirror, parent)
        self.badge = QToolButton()
        self.badge.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        idle_ink = parent.palette().color(
            QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText
        )
        self._icons = (icons.icon("pause", idle_ink), icons.icon("pause", PAUSED_INK))
        self.badge.clicked.connect(self.editor.open)
        self.held.changed.connect(self._update_badge)
        self.held.tick.connect(self._repaint_held)
        self._update_badge()

    def apply_critical(self, events: Sequence[Event]) -> None:
        """A batch's critical events: holds and releases, rule changes."""
        self.held.apply(events)
        # A hold is a hit: the panel's counts (and "only N more") moved.
        if any(isinstance(e, RulesChanged | FlowPaused) for e in events):
            self.book.refresh()

    async def engine_started(self, stored: list[dict[str, object]]) -> None:
        """A new engine: give it the kept rules (breakpoints and all, in
        one list), learn what it holds."""
        await self.book.restore([dict(rule) for rule in stored])
        await self.held.sync()

    def engine_lost(self) -> None:
        self.held.forget()
        self.book.engine_lost()

    def break_on(self, flow_id: int, what: str) -> None:
        """Offer a breakpoint on this flow's host, or its host and path."""
        row = self.mirror.get(flow_id)
        if row is None:
            return
        match = host_match(row.host) if what == "host" else path_match(row.host, row.path)
        self.panel.open_add_dialog(match)

    def _update_badge(self) -> None:
        count = len(self.held)
        self.badge.setText(f"{count} paused")
        self.badge.setIcon(self._icons[1 if count else 0])
        self.badge.setStyleSheet(PAUSED_STYLE if count else IDLE_STYLE)
        self.badge.setToolTip(
            "Flows held at a breakpoint: click to edit, send on or abort them"
            if count
            else "No flow is held at a breakpoint (click for the paused-flow editor)"
        )
        self._widen_status()
        self._repaint_held()

    def _widen_status(self) -> None:
        """Room for ``Paused · response · 0:00`` in the status column, once:
        a width the user picks afterwards stays."""
        if self._widened or not self.held:
            return
        self._widened = True
        needed = self.table.fontMetrics().horizontalAdvance(WIDEST_STATUS) + 16
        if self.table.columnWidth(Column.STATUS) < needed:
            self.table.setColumnWidth(Column.STATUS, needed)

    def _repaint_held(self) -> None:
        """Only the held rows' status cells: their clocks moved."""
        self.model.refresh_ids(self.held.ids(), Column.STATUS)
