"""The event log: critical events and aggregated warnings, with counts.

Critical events (proxy started, stopped, failed to listen; flows held at
a breakpoint and let go; rules changed) get one line each. Warnings arrive
from the relay already aggregated by kind and key; a warning seen before
updates its line's count instead of adding lines, so a storm of identical
warnings stays one readable line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from inspector.core.events import (
    BytesTransferred,
    CAFailed,
    Event,
    FlowPaused,
    FlowResumed,
    ListenFailed,
    ProxyStarted,
    ProxyStopped,
    RulesChanged,
    WarningRaised,
)
from inspector.core.flow import authority
from inspector.core.relay import LowAggregate

MAX_LINES = 2000
RESUMED = {
    "resumed": "Flow {id} resumed at its {phase}",
    "edited": "Flow {id} resumed edited at its {phase}",
    "aborted": "Flow {id} aborted at its {phase}",
    "gone": "Flow {id} ended while paused at its {phase}: the client left",
}
"""A held flow's ``FlowResumed``, by outcome."""
ERROR_COLOR = QColor(215, 58, 73)
WARN_COLOR = QColor(200, 130, 20)


def describe(event: Event) -> str:
    if isinstance(event, ProxyStarted):
        return f"Proxy listening on {authority(event.host, event.port)}"
    if isinstance(event, ProxyStopped):
        return "Proxy stopped"
    if isinstance(event, ListenFailed):
        return f"Proxy failed to start: {event.message}"
    if isinstance(event, CAFailed):
        return f"Certificate authority unusable: {event.message}"
    if isinstance(event, FlowPaused):
        return f"Flow {event.flow_id} paused at its {event.phase}"
    if isinstance(event, FlowResumed):
        line = RESUMED.get(event.outcome, "Flow {id} went on at its {phase}")
        return line.format(id=event.flow_id, phase=event.phase)
    if isinstance(event, RulesChanged):
        count = event.count
        return f"Rules changed: {count} rule{'' if count == 1 else 's'} now"
    return type(event).__name__


class EventLog(QListWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUniformItemSizes(True)
        self.setAlternatingRowColors(True)
        self._warnings: dict[tuple[str, str], tuple[QListWidgetItem, int]] = {}

    def add_critical(self, events: Sequence[Event]) -> None:
        for event in events:
            item = QListWidgetItem(f"{_clock()}  {describe(event)}")
            if isinstance(event, ListenFailed | CAFailed):
                item.setForeground(ERROR_COLOR)
            self._append(item)

    def add_note(self, text: str, error: bool = False) -> None:
        """A line from the window itself (the engine stopped, restarted)."""
        item = QListWidgetItem(f"{_clock()}  {text}")
        if error:
            item.setForeground(ERROR_COLOR)
        self._append(item)

    def add_warnings(self, aggregates: Sequence[LowAggregate]) -> None:
        for agg in aggregates:
            if isinstance(agg.latest, BytesTransferred):
                continue  # progress is shown in the table, not logged
            message = agg.latest.message if isinstance(agg.latest, WarningRaised) else agg.kind
            key = (agg.kind, agg.key)
            known = self._warnings.get(key)
            total = agg.count + (known[1] if known is not None else 0)
            text = f"{_clock()}  {message}" + (f"  (×{total})" if total > 1 else "")
            if known is not None and self.row(known[0]) >= 0:
                known[0].setText(text)
                self._warnings[key] = (known[0], total)
                continue
            item = QListWidgetItem(text)
            item.setForeground(WARN_COLOR)
            item.setToolTip(f"{agg.kind}: {agg.key}")
            self._warnings[key] = (item, total)
            self._append(item)

    def _append(self, item: QListWidgetItem) -> None:
        at_bottom = self.verticalScrollBar().value() == self.verticalScrollBar().maximum()
        self.addItem(item)
        while self.count() > MAX_LINES:
            dropped = self.takeItem(0)
            self._warnings = {k: v for k, v in self._warnings.items() if v[0] is not dropped}
        if at_bottom:
            self.scrollToBottom()

    def lines(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]


def _clock() -> str:
    return time.strftime("%H:%M:%S")
