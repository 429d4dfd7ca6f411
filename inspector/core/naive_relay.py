"""The naive relay: every event handed on at once, one at a time, on the
emitting thread. It is the "before" picture for benchmarks (``--relay
naive``): nothing is coalesced or held back, so the consumer pays per event
and a slow consumer drags the engine with it (the engine's service sends
each event to the window as a batch of its own, credit or not). It keeps
the same ``RelayStats`` as the coalescing relay so the pressure panel can
show both; as it queues nothing, its depth is always 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from inspector.core.events import Event, Priority
from inspector.core.relay import RelayLimits
from inspector.core.relay_metrics import ClassCounts, RateMeter, RecentWindow, RelayStats

log = logging.getLogger(__name__)

_now = time.monotonic
_CLASSES = (Priority.CRITICAL, Priority.FLOW, Priority.LOW)


def _class_of(event: Event) -> int:
    # Unknown priorities count as critical, as in the coalescing relay.
    priority = getattr(event, "priority", Priority.CRITICAL)
    return int(priority) if priority in _CLASSES else int(Priority.CRITICAL)


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
    ) -> None:
        # Only the metric windows apply: this relay queues nothing to bound.
        limits = limits or RelayLimits()
        self._callback = callback
        self._lock = threading.Lock()
        self._emitted = [0, 0, 0]
        self._delivered = [0, 0, 0]
        self._dropped = [0, 0, 0]
        self._errors = 0
        self._flush_times = RecentWindow(limits.recent_flushes)
        self._rate = RateMeter(limits.rate_window)

    def set_callback(self, callback: Callable[[Event], None] | None) -> None:
        with self._lock:
            self._callback = callback

    def emit(self, event: Event) -> None:
        """Hand ``event`` to the callback now. Never raises."""
        try:
            index = _class_of(event)
            with self._lock:
                self._emitted[index] += 1
                callback = self._callback
                if callback is None:
                    self._dropped[index] += 1
                    return
            started = _now()
            try:
                callback(event)
            except Exception:
                with self._lock:
                    self._dropped[index] += 1
                    self._errors += 1
                    first = self._errors == 1
                if first:
                    log.exception("naive relay callback failed for %s", type(event).__name__)
                return
            elapsed = _now() - started
            with self._lock:
                self._delivered[index] += 1
                self._flush_times.add(elapsed)
        except Exception:
            with self._lock:
                self._errors += 1

    @property
    def depth(self) -> int:
        """Nothing is ever queued."""
        return 0

    def snapshot(self) -> RelayStats:
        """Current metrics; safe from any thread."""
        with self._lock:
            counts = [
                ClassCounts(self._emitted[i], self._delivered[i], 0, self._dropped[i], 0)
                for i in range(3)
            ]
            return RelayStats(
                critical=counts[Priority.CRITICAL],
                flow=counts[Priority.FLOW],
                low=counts[Priority.LOW],
                errors=self._errors,
                flushes=sum(self._delivered),
                flush_p50=self._flush_times.percentile(0.5),
                flush_p99=self._flush_times.percentile(0.99),
                flush_max=self._flush_times.peak,
                events_per_second=self._rate.observe(_now(), sum(self._emitted)),
            )
