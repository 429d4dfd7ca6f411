"""Small event sinks: one that discards, one that records (tests), and one
that hands each event to a callback at once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from inspector.core.events import Event

log = logging.getLogger(__name__)


class NullSink:
    def emit(self, event: Event) -> None:
        pass


class ListSink:
    """Keeps every event; for tests."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


class CallbackSink:
    """Calls ``callback(event)`` synchronously. A failing callback is logged,
    never raised into the engine."""

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self._callback = callback

    def emit(self, event: Event) -> None:
        try:
            self._callback(event)
        except Exception:
            log.exception("event callback failed for %r", event)
