"""The naive relay: every event handed on at once, one at a time, on the
emitting thread. It is the "before" picture for benchmarks (``--relay
naive``): nothing is coalesced or held back, so the consumer pays per event and
a slow consumer drags the engine with it. It keeps the same ``RelayStats`` as
the coalescing relay so the pressure panel can show both. With
``deferred=True`` the callback only passes the event on (the Qt bridge posts
it to the GUI thread) and the consumer reports each one it applied with
``record_applied``; events in between are the pending depth, i.e. the
backlog in Qt's event queue, and their age when applied is the lag.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from inspector.core.events import Event, FlowCreated, FlowEvent, LowEvent, Priority
from inspector.core.relay import Batch, LowAggregate, RelayLimits
from inspector.core.relay_metrics import ClassCounts, RateMeter, RecentWindow, RelayStats

log = logging.getLogger(__name__)

_now = time.monotonic
_CLASSES = (Priority.CRITICAL, Priority.FLOW, Priority.LOW)


def _class_of(event: Event) -> int:
    # Unknown priorities count as critical, as in the coalescing relay.
    priority = getattr(event, "priority", Priority.CRITICAL)
    return int(priority) if priority in _CLASSES else int(Priority.CRITICAL)


def batch_of(event: Event, queued_at: float = 0.0) -> Batch:
    """The batch that carries ``event`` alone, so a consumer of coalesced
    batches can take the naive relay's events unchanged."""
    if isinstance(event, FlowEvent):
        flow_id = event.flow_id
        created = range(flow_id, flow_id + 1) if isinstance(event, FlowCreated) else range(0)
        return Batch(changed_ids=(flow_id,), new_ids=created)
    if isinstance(event, LowEvent):
        return Batch(low=(LowAggregate(event.kind, event.key, 1, event, queued_at),))
    return Batch(critical=(event,))


class NaiveRelay:
    """Calls ``callback(event)`` for every event, synchronously, in ``emit``.

    Without a callback, or when it raises, the event is dropped and counted
    (a failure is also counted as an error and the first one is logged).
    Counters are kept under a lock so several threads may emit.
    """

    def __init__(
        self,
        limits: RelayLimits | None = None,
        callback: Callable[[Event], None] | None = None,
        *,
        deferred: bool = False,
    ) -> None:
        # Only the metric windows apply: this relay queues nothing to bound.
        limits = limits or RelayLimits()
        self._callback = callback
        self._deferred = deferred
        self._lock = threading.Lock()
        self._emitted = [0, 0, 0]
        self._delivered = [0, 0, 0]
        self._dropped = [0, 0, 0]
        self._handed = [0, 0, 0]
        """Passed to a deferred callback; delivered once the consumer says so."""
        self._errors = 0
        self._high_water = 0
        self._flush_times = RecentWindow(limits.recent_flushes)
        self._lags = RecentWindow(limits.recent_flushes)
        self._rate = RateMeter(limits.rate_window)

    def set_callback(
        self, callback: Callable[[Event], None] | None, *, deferred: bool = False
    ) -> None:
        with self._lock:
            self._callback = callback
            self._deferred = deferred

    def emit(self, event: Event) -> None:
        """Hand ``event`` to the callback now. Never raises."""
        try:
            index = _class_of(event)
            with self._lock:
                self._emitted[index] += 1
                callback, deferred = self._callback, self._deferred
                if callback is None:
                    self._dropped[index] += 1
                    return
                if deferred:
                    # Counted before the call: the consumer may apply the
                    # event on its own thread before the callback returns.
                    self._handed[index] += 1
                    self._high_water = max(self._high_water, self._depth())
            started = _now()
            try:
                callback(event)
            except Exception:
                with self._lock:
                    if deferred:
                        self._handed[index] -= 1
                    self._dropped[index] += 1
                    self._errors += 1
                    first = self._errors == 1
                if first:
                    log.exception("naive relay callback failed for %s", type(event).__name__)
                return
            if not deferred:
                elapsed = _now() - started
                with self._lock:
                    self._delivered[index] += 1
                    self._flush_times.add(elapsed)
                    self._lags.add(0.0)
        except Exception:
            with self._lock:
                self._errors += 1

    def record_applied(self, event: Event, queued_at: float, seconds: float) -> None:
        """A deferred consumer applied ``event``, posted at ``queued_at``
        (``time.monotonic``), in ``seconds``."""
        lag = _now() - queued_at
        with self._lock:
            index = _class_of(event)
            self._delivered[index] += 1
            self._handed[index] -= 1
            self._flush_times.add(seconds)
            self._lags.add(lag)

    def record_discarded(self, event: Event) -> None:
        """A deferred consumer threw ``event`` away unapplied (it was stopped)."""
        with self._lock:
            index = _class_of(event)
            self._dropped[index] += 1
            self._handed[index] -= 1

    def _depth(self) -> int:
        return sum(self._handed)

    @property
    def depth(self) -> int:
        """Events handed to a deferred callback and not yet applied."""
        with self._lock:
            return self._depth()

    def snapshot(self) -> RelayStats:
        """Current metrics; safe from any thread."""
        with self._lock:
            counts = [
                ClassCounts(
                    self._emitted[i],
                    self._delivered[i],
                    0,
                    self._dropped[i],
                    self._handed[i],
                )
                for i in range(3)
            ]
            depth = self._depth()
            self._high_water = max(self._high_water, depth)
            return RelayStats(
                critical=counts[Priority.CRITICAL],
                flow=counts[Priority.FLOW],
                low=counts[Priority.LOW],
                depth=depth,
                high_water=self._high_water,
                errors=self._errors,
                flushes=sum(self._delivered),
                flush_p50=self._flush_times.percentile(0.5),
                flush_p99=self._flush_times.percentile(0.99),
                flush_max=self._flush_times.peak,
                lag_last=self._lags.last,
                lag_max=self._lags.recent_max,
                events_per_second=self._rate.observe(_now(), sum(self._emitted)),
            )
