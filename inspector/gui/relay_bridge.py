"""Carries relay batches onto the GUI thread. ``RelayBridge`` drains a
coalescing ``Relay`` from a ``QTimer`` (default 33 ms, about 30 Hz) and emits
one signal per non-empty batch; a critical event wakes it at once. Its
``NaiveRelayBridge`` twin is the benchmark's "before" picture: one queued
signal per event, each wrapped in a one-event batch, so whatever consumes
``batch_ready`` runs the same code path under both. Both time the slots
connected to ``batch_ready`` and report it to their relay, which is where
the pressure panel's flush figures come from.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from inspector.core.events import Event
from inspector.core.naive_relay import NaiveRelay, batch_of
from inspector.core.relay import Batch, Relay

DEFAULT_INTERVAL_MS = 33
PACE = 6.0
"""Under load the next drain waits this many times what the last cycle
cost the GUI thread (the drain, its slots, and the window's repaint that
followed): the GUI is then busy at most about a seventh of the time, and
input, timers and the engine's thread (which shares the interpreter lock,
held through the table's repaint) get the rest. Measured here with 50,000
requests over 50 connections: unpaced, the table repainted 25-30 times a
second at 17-30 ms each, half the GUI thread, with stalls past 100 ms;
paced by 3, the desktop app served 0.65x headless at 10 connections; by
6, 0.83-0.98x with GUI stalls under 30 ms (by 10, no better). The table
refreshes less often under load, and each refresh shows all that changed."""
MAX_INTERVAL_MS = 250
"""However costly a cycle, the table still refreshes four times a second."""

_now = time.monotonic


def paced_interval(base_ms: int, cycle_seconds: float) -> int:
    """The wait before the next drain, in ms: ``base_ms`` while a cycle is
    cheap, ``PACE`` times its cost when it is not, never past
    ``MAX_INTERVAL_MS`` (nor below ``base_ms``)."""
    wanted = round(cycle_seconds * PACE * 1000)
    return max(base_ms, min(wanted, max(MAX_INTERVAL_MS, base_ms)))


# The relay lives with the engine and is called on its thread. If it held
# the bridge itself (a bound method does), the engine thread could end up
# dropping the last reference and destroying a GUI-thread QObject, timers
# and all, on the wrong thread. So the relay only holds these small
# children: Qt owns them through their parent, so whatever a foreign thread
# does with their Python wrappers frees nothing, and once the bridge is gone
# a late call raises RuntimeError, which the relay counts as an error.


class _Doorbell(QObject):
    """Rings the bridge from any thread; rings pile up into one."""

    rung = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.pending = False

    def ring(self) -> None:
        # The flag keeps a burst of critical events to one posted wake-up.
        # The bridge clears it before draining, so an event queued after
        # that drain's swap rings again.
        if not self.pending:
            self.pending = True
            self.rung.emit()


class _Mailbox(QObject):
    """Posts each event, with the time it was posted, from any thread."""

    posted = Signal(object, float)

    def post(self, event: Event) -> None:
        self.posted.emit(event, _now())


class RelayBridge(QObject):
    """Drains ``relay`` on this object's (the GUI) thread.

    Signals:
        batch_ready(Batch): one per tick that found anything to deliver;
            connected slots run synchronously and are timed as the flush.

    ``start`` and ``stop`` must be called on the GUI thread; ``stop`` only
    stops the timer and the wake-ups, so it returns at once however much is
    queued (what is left stays in the relay; ``drain_now`` takes it).

    The timer is paced (``paced_interval``): the window reports each
    repaint's duration through ``note_paint``, and a drain that, with the
    repaints since the last one, cost more than a sixth of the base
    interval pushes the next one further out. A critical event still
    drains at once.
    """

    batch_ready = Signal(object)

    def __init__(
        self,
        relay: Relay,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        budget: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._relay = relay
        self._budget = budget
        self._running = False
        self._base_ms = interval_ms
        self._painted = 0.0
        """Seconds of repaints reported since the last drain."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._doorbell = _Doorbell(self)
        # Queued even when rung on the GUI thread (the qasync engine loop):
        # a drain must never run inside the engine's emit call.
        self._doorbell.rung.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    @property
    def relay(self) -> Relay:
        return self._relay

    @property
    def running(self) -> bool:
        return self._running

    @property
    def interval_ms(self) -> int:
        """The wait before the next drain now (the base one, or paced)."""
        return self._timer.interval()

    @property
    def base_interval_ms(self) -> int:
        return self._base_ms

    def set_interval(self, interval_ms: int) -> None:
        self._base_ms = interval_ms
        self._timer.setInterval(interval_ms)

    def note_paint(self, seconds: float) -> None:
        """A repaint of the window took ``seconds`` (GUI thread)."""
        self._painted += seconds

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._relay.set_wake(self._doorbell.ring)
        self._timer.start()
        # Whatever was queued before start (ProxyStarted, say) goes out now.
        self._doorbell.ring()

    def stop(self) -> None:
        self._running = False
        self._timer.stop()
        self._relay.set_wake(None)

    def drain_now(self) -> Batch:
        """Drain once, emit the batch if it holds anything, report the time,
        and set the wait before the next drain."""
        started = time.perf_counter()
        batch = self._relay.drain(self._budget)
        flush = 0.0
        if not batch.empty:
            try:
                self.batch_ready.emit(batch)
            finally:
                flush = time.perf_counter() - started
                self._relay.record_flush(flush)
        cycle, self._painted = flush + self._painted, 0.0
        self._timer.setInterval(paced_interval(self._base_ms, cycle))
        if self._running:
            self._timer.start()  # restarts: the wait counts from now
        return batch

    def _tick(self) -> None:
        if self._running:
            self.drain_now()

    def _on_wake(self) -> None:
        self._doorbell.pending = False
        if self._running:
            self.drain_now()


class NaiveRelayBridge(QObject):
    """Delivers every event of ``relay`` as its own signal on this object's
    (the GUI) thread.

    Signals:
        batch_ready(Batch): one per event, a batch holding that event alone.

    The relay's callback posts each event from whatever thread emits it, as
    a queued signal. ``stop`` returns at once; events already posted are
    then discarded (and counted as dropped) as Qt delivers them.
    """

    batch_ready = Signal(object)

    def __init__(self, relay: NaiveRelay, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = relay
        self._running = False
        self._mailbox = _Mailbox(self)
        self._mailbox.posted.connect(self._apply, Qt.ConnectionType.QueuedConnection)

    @property
    def relay(self) -> NaiveRelay:
        return self._relay

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._relay.set_callback(self._mailbox.post, deferred=True)

    def stop(self) -> None:
        self._running = False
        self._relay.set_callback(None)

    def _apply(self, event: Event, queued_at: float) -> None:
        if not self._running:
            self._relay.record_discarded(event)
            return
        started = time.perf_counter()
        try:
            self.batch_ready.emit(batch_of(event, queued_at))
        finally:
            self._relay.record_applied(event, queued_at, time.perf_counter() - started)
