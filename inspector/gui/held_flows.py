"""The flows a breakpoint holds now, as the window knows them.

Kept from the engine's critical events (``FlowPaused``, ``FlowResumed``,
never dropped nor coalesced), and read again with ``paused`` when an
engine starts; an engine that is lost takes its held flows with it.
Each entry is the phase and when the hold began, which is what the flow
table's status cell and the editor's clock show.

While anything is held a one-second timer ticks, so only the held rows
are repainted each second, and nothing at all runs when none is.

Signals:
    changed(): flows were held or let go.
    released(int, str): a held flow went on: resumed, edited, aborted or
        gone (its client left).
    tick(): a second passed while some flow is held.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.events import Event, FlowPaused, FlowResumed
from inspector.gui.engine_link import EngineLink
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

TICK_MS = 1000


@dataclass(frozen=True, slots=True)
class Held:
    phase: str
    since: float
    """When the hold began, in seconds since the epoch."""


def waited(seconds: float) -> str:
    """``0:12``, ``12:05``, ``1:02:03``: how long a flow has been held."""
    whole = int(max(seconds, 0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class HeldFlows(QObject):
    changed = Signal()
    released = Signal(int, str)
    tick = Signal()

    def __init__(self, link: EngineLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.flows: dict[int, Held] = {}
        """Held flows by id, in the order they were held (one dict for
        the object's life: the flow table reads it as it paints)."""
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

    def __len__(self) -> int:
        return len(self.flows)

    def __contains__(self, flow_id: object) -> bool:
        return flow_id in self.flows

    def ids(self) -> list[int]:
        return list(self.flows)

    def apply(self, events: Sequence[Event]) -> None:
        """Take a batch's critical events."""
        before = set(self.flows)
        for event in events:
            if isinstance(event, FlowPaused):
                self.flows[event.flow_id] = Held(event.phase, event.since_ms / 1000)
            elif isinstance(event, FlowResumed) and self.flows.pop(event.flow_id, None) is not None:
                self.released.emit(event.flow_id, event.outcome)
        if set(self.flows) != before:
            self._changed()

    def replace(self, held: Iterable[tuple[int, Held]]) -> None:
        """What the engine says is held now (its ``paused`` list)."""
        flows = dict(held)
        if flows != self.flows:
            self.flows.clear()
            self.flows.update(flows)
            self._changed()

    async def sync(self) -> None:
        """Ask the engine what it holds (after a start, when no event has
        said so yet)."""
        with contextlib.suppress(ChannelClosed, EngineError):
            result = await self.link.request("paused")
            self.replace(
                (int(item["id"]), Held(str(item["phase"]), float(item["since"])))
                for item in result["paused"]
            )

    def forget(self) -> None:
        """The engine is gone, and what it held with it."""
        self.replace(())

    def _changed(self) -> None:
        if self.flows and not self._timer.isActive():
            self._timer.start()
        elif not self.flows:
            self._timer.stop()
        self.changed.emit()
