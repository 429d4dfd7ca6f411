"""What ``gui_target.py`` measures inside the desktop app, on its GUI thread.

- ``StallProbe``: a precise timer every N ms recording the gap since its
  previous tick: how long the GUI event loop went without getting round to
  it, the stall a user feels. Gaps over 16 ms are kept with their time.
- ``GcWatch``: the window process's cyclic collector pauses (with the
  engine on a thread of this process they hold the interpreter lock, so
  they stall the engine too; an engine process has its own).
- ``Sampler``: every 50 ms, the engine relay's depth and delivery lag as
  the last batch told them (``window.stats``), what applying the last batch
  cost (``link.apply_seconds``) and this process's RSS; the worst since the
  last mark, and a short time series of depth, flows made and table rows.
- ``calibrate_pending_bytes``: what one pending entry of the coalescing
  relay costs in memory, measured with a scratch relay, so a depth can be
  stated in bytes.
"""

from __future__ import annotations

import array
import gc
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer

from inspector.core.events import FlowFinished
from inspector.core.memory import rss_bytes
from inspector.core.relay import Relay, RelayLimits

if TYPE_CHECKING:
    from inspector.app import DesktopApp

SAMPLE_MS = 50
CALIBRATION_ENTRIES = 100_000


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class StallProbe:
    """Gaps between ticks of a precise timer on the GUI thread."""

    def __init__(self, interval_ms: int, parent: QObject) -> None:
        self.interval_ms = interval_ms
        self.mark()
        self._timer = QTimer(parent)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        if self.interval_ms > 0:
            self._timer.start()

    def mark(self) -> None:
        self.gaps = array.array("d")
        self.long_gaps: list[tuple[float, float]] = []
        """(seconds since the mark, gap) of gaps over 16 ms, the first 2,000."""
        self._last = 0.0
        self._marked = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            gap = now - self._last
            self.gaps.append(gap)
            if gap > 0.016 and len(self.long_gaps) < 2_000:
                self.long_gaps.append((round(now - self._marked, 3), round(gap * 1e3, 1)))
        self._last = now

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.gaps)
        return {
            "interval_ms": self.interval_ms,
            "ticks": len(ordered),
            "gap_max_ms": ordered[-1] * 1e3 if ordered else 0.0,
            "gap_p99_ms": _percentile(ordered, 0.99) * 1e3,
            "gap_p999_ms": _percentile(ordered, 0.999) * 1e3,
            "gap_p50_ms": _percentile(ordered, 0.50) * 1e3,
            "gaps_over_16ms": sum(1 for g in ordered if g > 0.016),
            "gaps_over_50ms": sum(1 for g in ordered if g > 0.050),
            "long_gaps": self.long_gaps,
        }


class GcWatch:
    """Pauses of the cyclic garbage collector since the last mark: they hold
    the GIL, so they stall the GUI and the engine alike."""

    def __init__(self) -> None:
        self._started = 0.0
        self.mark()
        gc.callbacks.insert(0, self._callback)

    def mark(self) -> None:
        self.pauses: list[tuple[int, float]] = []

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self.pauses.append((info.get("generation", -1), time.perf_counter() - self._started))

    def summary(self) -> dict[str, float]:
        full = [d for g, d in self.pauses if g == 2]
        return {
            "collections": len(self.pauses),
            "full_collections": len(full),
            "max_ms": max((d for _, d in self.pauses), default=0.0) * 1e3,
            "full_max_ms": max(full, default=0.0) * 1e3,
            "total_ms": sum(d for _, d in self.pauses) * 1e3,
        }


class Sampler:
    """Worst relay depth, delivery lag, batch cost and RSS since the last mark."""

    def __init__(self, app: DesktopApp, parent: QObject) -> None:
        self.app = app
        self._timer = QTimer(parent)
        self._timer.setInterval(SAMPLE_MS)
        self._timer.timeout.connect(self.sample)
        self.mark()

    def start(self) -> None:
        self._timer.start()

    def mark(self) -> None:
        self.depth_max = 0
        self.lag_max = 0.0
        self.apply_max = 0.0
        self.rss_max = rss_bytes()
        self.rss_at_mark = self.rss_max
        self.series: list[tuple[float, int, int, int]] = []
        self._t0 = time.monotonic()

    def sample(self) -> None:
        window = self.app.window
        stats = window.stats
        self.depth_max = max(self.depth_max, stats.depth)
        self.lag_max = max(self.lag_max, stats.lag_max, stats.lag_last)
        self.apply_max = max(self.apply_max, self.app.link.apply_seconds)
        self.rss_max = max(self.rss_max, rss_bytes())
        if len(self.series) < 4_000:
            self.series.append(
                (
                    round(time.monotonic() - self._t0, 3),
                    stats.depth,
                    window.counters.last_id,
                    window.model.rowCount(),
                )
            )


def calibrate_pending_bytes(kind: str) -> float | None:
    """RSS growth per pending entry of the coalescing relay, measured with a
    scratch relay holding ``CALIBRATION_ENTRIES`` undelivered flow ids (the
    engine's interpreter is this one, so the cost is the same there). The
    naive relay holds nothing itself: it writes every event to the window
    at once, and what waits is in socket buffers, so None."""
    if kind == "naive":
        return None
    n = CALIBRATION_ENTRIES
    events = [FlowFinished(i) for i in range(1, n + 1)]
    gc.collect()
    scratch = Relay(RelayLimits(max_pending_flow_ids=n + 1))
    before = rss_bytes()
    for event in events:
        scratch.emit(event)
    grown = rss_bytes() - before
    del scratch
    return max(grown, 0) / n
