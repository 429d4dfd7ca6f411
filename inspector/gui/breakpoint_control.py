"""Breakpoints in the main window: the panel, the held flows and their
editor, the paused badge, and what the flow table asks for.

``BreakpointControl`` belongs to the window. It takes each batch's
critical events (flows held and let go, rules changed), keeps the badge
("⏸ 3 paused", grey at none; a click opens the editor), repaints the held
rows' status cells each second, and turns "Break on this host" or "this
path" into the Add Breakpoint dialog, filled in. Nothing here raises a
window or takes the focus when a flow is held: the badge is what changes.

Signals:
    notice(str): a line for the status bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QToolButton, QWidget

from inspector.core.events import Event, FlowPaused, RulesChanged
from inspector.core.mirror import RowMirror
from inspector.gui.breakpoint_rules import host_match, path_match
from inspector.gui.breakpoints_panel import BreakpointsPanel
from inspector.gui.engine_link import EngineLink
from inspector.gui.flow_cells import Column
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.held_flows import HeldFlows
from inspector.gui.paused_editor import PausedEditor
from inspector.gui.tasks import GuiTasks

IDLE_STYLE = "QToolButton { color: palette(mid); padding: 2px 8px; }"
PAUSED_STYLE = (
    "QToolButton { background: #f0b429; color: #1f1f1f; font-weight: bold;"
    " border-radius: 4px; padding: 2px 8px; }"
)


class BreakpointControl(QObject):
    notice = Signal(str)

    def __init__(
        self,
        mirror: RowMirror,
        link: EngineLink,
        tasks: GuiTasks,
        model: FlowTableModel,
        filter_text: Callable[[], str],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.mirror = mirror
        self.model = model
        self.held = HeldFlows(link, self)
        model.held = self.held.flows
        self.panel = BreakpointsPanel(link, tasks, filter_text)
        self.panel.notice.connect(self.notice)
        self.editor = PausedEditor(link, tasks, self.held, mirror, parent)
        self.badge = QToolButton()
        self.badge.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.badge.clicked.connect(self.editor.open)
        self.held.changed.connect(self._update_badge)
        self.held.tick.connect(self._repaint_held)
        self._update_badge()

    def apply_critical(self, events: Sequence[Event]) -> None:
        """A batch's critical events: holds and releases, rule changes."""
        self.held.apply(events)
        # A hold is a hit: the panel's counts (and "only N more") moved.
        if any(isinstance(e, RulesChanged | FlowPaused) for e in events):
            self.panel.refresh()

    async def engine_started(self, stored: list[dict[str, object]]) -> None:
        """A new engine: give it the kept breakpoints, learn what it holds."""
        await self.panel.restore([dict(rule) for rule in stored])
        await self.held.sync()

    def engine_lost(self) -> None:
        self.held.forget()

    def break_on(self, flow_id: int, what: str) -> None:
        """Offer a breakpoint on this flow's host, or its host and path."""
        row = self.mirror.get(flow_id)
        if row is None:
            return
        match = host_match(row.host) if what == "host" else path_match(row.host, row.path)
        self.panel.open_add_dialog(match)

    def _update_badge(self) -> None:
        count = len(self.held)
        self.badge.setText(f"⏸ {count} paused")
        self.badge.setStyleSheet(PAUSED_STYLE if count else IDLE_STYLE)
        self.badge.setToolTip(
            "Flows held at a breakpoint: click to edit, send on or abort them"
            if count
            else "No flow is held at a breakpoint (click for the paused-flow editor)"
        )
        self._repaint_held()

    def _repaint_held(self) -> None:
        """Only the held rows' status cells: their clocks moved."""
        self.model.refresh_ids(self.held.ids(), Column.STATUS)
