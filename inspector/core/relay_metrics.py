"""The relay's metrics: the snapshot the pressure panel and headless stats
read, and the small rolling windows behind it. Both relays (the coalescing
one and the naive one) fill the same ``RelayStats`` so the panel and the
benchmarks compare like with like. Everything here is plain data or O(1) per
update; percentiles are computed only when a snapshot is taken, over a
bounded window of recent flushes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ClassCounts:
    """Counters for one event class (critical, flow or low).

    ``emitted == delivered + coalesced + dropped + pending`` always holds in
    a snapshot: every event ends up in exactly one of the four.

    - delivered: handed to the consumer as its own notification (a critical
      event, a changed id, a low aggregate).
    - coalesced: merged into another notification that is or will be
      delivered (a second update of a pending flow id, a repeated warning).
    - dropped: no notification of its own will ever be delivered. For low
      events only their count survives; for flow events a resync was raised
      instead, so the consumer re-reads the store and nothing is lost.
    - pending: queued, not yet drained.
    """

    emitted: int = 0
    delivered: int = 0
    coalesced: int = 0
    dropped: int = 0
    pending: int = 0

    @property
    def balanced(self) -> bool:
        return self.emitted == self.delivered + self.coalesced + self.dropped + self.pending


@dataclass(frozen=True, slots=True)
class RelayStats:
    """A consistent snapshot of a relay's metrics. Durations are seconds.

    ``depth`` counts queued entries (critical events, distinct flow ids, low
    aggregates), not events: ten updates of one flow are one entry.
    ``high_water`` is the largest depth ever observed. ``flush_p50`` and
    ``flush_p99`` cover recent flushes, ``flush_max`` all of them;
    ``lag_last``/``lag_max`` are the age of the oldest queued event at the
    last flush and the worst of recent flushes.
    """

    critical: ClassCounts
    flow: ClassCounts
    low: ClassCounts
    depth: int = 0
    high_water: int = 0
    resyncs: int = 0
    resync_pending: bool = False
    critical_over_limit: int = 0
    """Critical events queued while the critical backlog was at or above its
    soft limit. They are kept (never dropped); this says someone should look."""
    errors: int = 0
    """Malformed events ignored by ``emit``, or failing callbacks (naive relay)."""
    flushes: int = 0
    flush_p50: float = 0.0
    flush_p99: float = 0.0
    flush_max: float = 0.0
    lag_last: float = 0.0
    lag_max: float = 0.0
    events_per_second: float = 0.0

    @property
    def emitted(self) -> int:
        return self.critical.emitted + self.flow.emitted + self.low.emitted

    @property
    def balanced(self) -> bool:
        return self.critical.balanced and self.flow.balanced and self.low.balanced

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for headless output and logs."""

        def counts(name: str, c: ClassCounts) -> str:
            return f"{name} {c.emitted}/{c.delivered}/{c.coalesced}/{c.dropped}/{c.pending}"

        resync = f" resyncs {self.resyncs}" if self.resyncs else ""
        return (
            f"depth {self.depth} (max {self.high_water}) | emitted/delivered/coalesced/"
            f"dropped/pending: {counts('critical', self.critical)}, {counts('flow', self.flow)},"
            f" {counts('low', self.low)}{resync} | flushes {self.flushes}, "
            f"p50 {self.flush_p50 * 1e3:.2f} ms, p99 {self.flush_p99 * 1e3:.2f} ms, "
            f"max {self.flush_max * 1e3:.2f} ms | lag {self.lag_last * 1e3:.1f} ms "
            f"(max {self.lag_max * 1e3:.1f}) | {self.events_per_second:.0f} ev/s"
        )


class RecentWindow:
    """The last ``size`` samples of a duration, plus the all-time maximum."""

    __slots__ = ("_samples", "peak")

    def __init__(self, size: int) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.peak = 0.0

    def add(self, value: float) -> None:
        self._samples.append(value)
        self.peak = max(self.peak, value)

    def replace_last(self, value: float) -> None:
        """Swap the newest sample for a better measurement of the same thing."""
        if self._samples:
            self._samples[-1] = value
            self.peak = max(self.peak, value)
        else:
            self.add(value)

    @property
    def last(self) -> float:
        return self._samples[-1] if self._samples else 0.0

    @property
    def recent_max(self) -> float:
        return max(self._samples, default=0.0)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile, ``0 < q <= 1``, of the recent samples."""
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class RateMeter:
    """Events per second over roughly the last ``window`` seconds, from a
    running total sampled whenever someone looks (each drain, each snapshot)
    so the hot path pays nothing for it."""

    __slots__ = ("_samples", "_window")

    def __init__(self, window: float) -> None:
        self._window = window
        # Capped so a caller polling in a tight loop cannot grow it; the
        # rate then spans the samples kept, still a recent figure.
        self._samples: deque[tuple[float, int]] = deque(maxlen=256)

    def observe(self, now: float, total: int) -> float:
        """Record ``total`` at ``now`` and return the recent rate."""
        samples = self._samples
        samples.append((now, total))
        # Keep one sample at or before the window's start, so the rate spans
        # the whole window rather than whatever happens to be inside it.
        while len(samples) > 2 and samples[1][0] <= now - self._window:
            samples.popleft()
        then, then_total = samples[0]
        if now <= then:
            return 0.0
        return (total - then_total) / (now - then)
