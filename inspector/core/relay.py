"""The event relay: the engine's sink, drained in coalesced batches.
``emit`` runs on the request path; ``drain`` runs on the consumer's side (the
engine's batch builder, which turns each batch into rows for the window, or
the headless printer) and returns one ``Batch``. The policies follow
DESIGN.md, "The relay": critical events queue in order and always come out
in full; flow events keep one pending entry per flow id (oldest first) and,
beyond ``max_pending_flow_ids``, collapse into a resync that tells the
consumer to re-read the store; low events fold into one aggregate per
``(kind, key)`` and are dropped, counted, when a new aggregate would push the
depth past ``low_high_water``. Memory is bounded by those two
capacities plus the critical queue, unbounded by design: critical events are
rare and must never be lost, so a backlog beyond ``critical_soft_limit`` is
counted and logged at drain instead.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from inspector.core.events import Event, FlowCreated, FlowEvent, LowEvent, Priority
from inspector.core.relay_metrics import ClassCounts, RateMeter, RecentWindow, RelayStats

log = logging.getLogger(__name__)

_now = time.monotonic
_FLOW = Priority.FLOW
_LOW = Priority.LOW


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """A relay's capacities and metric windows. The user-facing choices
    live in ``core.settings.RelaySettings``; the composition root maps them
    onto these."""

    max_pending_flow_ids: int = 50_000
    """Distinct flow ids queued before degrading to a resync: a few MB, and
    far more than one 33 ms tick of real traffic produces."""
    low_high_water: int = 10_000
    """A low event that would add an aggregate is dropped at this depth."""
    flush_budget: int = 2_000
    """Changed ids per batch. At ~1-2 µs per id in a Qt model that is a few
    ms, well inside a frame, and 60,000 ids/s at 30 Hz: far above the
    engine's few thousand flows/s, so the budget only bites in a burst."""
    critical_soft_limit: int = 1_000
    """Critical events past this backlog are still kept, but counted and logged."""
    recent_flushes: int = 256
    """Flushes (and lags) kept for the recent percentiles."""
    rate_window: float = 1.0
    """Seconds over which events per second is measured."""


@dataclass(slots=True)
class LowAggregate:
    """Low events of one ``(kind, key)`` folded together: how many, the
    latest one (its message or byte count), and when the first was queued
    (``time.monotonic``). Consumers must not modify it."""

    kind: str
    key: str
    count: int
    latest: LowEvent
    first_seen: float


@dataclass(frozen=True, slots=True)
class Batch:
    """One drain's worth of notifications; read the store for the state.

    ``changed_ids`` are sorted and may include new ids. ``new_ids`` is the
    range of ids announced by ``FlowCreated`` since the last drain (empty
    when none). On ``resync`` the consumer re-reads every flow it shows:
    changed ids were given up, though ``new_ids`` is still exact.
    ``stats`` is None only in the naive relay's one-event batches.
    """

    critical: Sequence[Event] = ()
    changed_ids: Sequence[int] = ()
    new_ids: range = range(0)
    low: Sequence[LowAggregate] = ()
    resync: bool = False
    stats: RelayStats | None = None

    @property
    def empty(self) -> bool:
        return not (self.critical or self.changed_ids or self.new_ids or self.low or self.resync)


class Relay:
    """Coalescing, bounded, thread-safe event relay; see the module docstring.

    Accounting (``RelayStats``): a flow event for an id already pending is
    coalesced, and so is a carried-over id emitted again. When a new id
    would exceed ``max_pending_flow_ids`` a resync is raised (``resyncs``
    counts them): that event, every flow event until the next drain, and
    the ids pending at that drain all count as dropped, since none gets a
    notification of its own; the batch's ``resync`` flag stands for them.
    A low event folded into a pending aggregate is coalesced; one refused
    at the high-water mark is dropped. One producer thread and one consumer
    thread is the design; several emitters are safe too.
    """

    def __init__(self, limits: RelayLimits | None = None) -> None:
        self.limits = limits or RelayLimits()
        # The GIL alone is not enough: an emit is a check, an insert and a
        # counter update, and a thread switch between them would let a drain
        # swap the container away and lose the insert or break the counts
        # (free-threaded CPython has no GIL at all). Uncontended, acquire and
        # release cost ~80 ns here (``with`` costs twice that), and the drain
        # holds the lock only to swap containers out: merging, budgeting and
        # sorting happen outside it, so emit never waits on the consumer.
        lock = threading.Lock()
        self._acquire = lock.acquire
        self._release = lock.release
        self._drain_lock = threading.Lock()
        self._flow_cap = self.limits.max_pending_flow_ids
        self._low_cap = self.limits.low_high_water
        self._critical_limit = self.limits.critical_soft_limit

        # Emitter side, under the lock. Each emit bumps exactly one counter
        # per class (added, coalesced or dropped); emitted is their sum.
        self._critical: list[tuple[float, Event]] = []
        self._flow: dict[int, float] = {}
        """Pending flow id -> when its notification was first queued."""
        self._low: dict[tuple[str, str], LowAggregate] = {}
        self._carried = 0
        """Size of the drain side's carry-over (an upper bound mid-drain)."""
        self._resync = False
        self._new_first = 0
        self._new_last = 0
        self._critical_added = 0
        self._critical_over = 0
        self._flow_added = 0
        self._flow_coalesced = 0
        self._flow_dropped = 0
        self._low_added = 0
        self._low_coalesced = 0
        self._low_dropped = 0
        self._resyncs = 0
        self._errors = 0
        self._last_error = ""

        # Drain side, under the drain lock.
        self._carry: dict[int, float] = {}
        self._critical_delivered = 0
        self._flow_delivered = 0
        self._flow_merged = 0
        """Carried ids emitted again before they were delivered."""
        self._flow_discarded = 0
        """Pending ids thrown away because a resync covers them."""
        self._low_delivered = 0
        self._high_water = 0
        self._flushes = 0
        self._flush_open = False
        self._flush_times = RecentWindow(self.limits.recent_flushes)
        self._lags = RecentWindow(self.limits.recent_flushes)
        self._rate = RateMeter(self.limits.rate_window)
        self._errors_logged = 0
        self._critical_over_logged = 0

    def set_capacity(self, max_pending_flow_ids: int) -> None:
        """Change how many distinct flow ids queue before a resync; ids
        already queued stay."""
        if max_pending_flow_ids < 1:
            raise ValueError("the capacity must be at least 1")
        self._acquire()
        try:
            self._flow_cap = max_pending_flow_ids
        finally:
            self._release()

    def emit(self, event: Event) -> None:
        """Queue ``event``. O(1), never blocks on the consumer, never raises."""
        try:
            # Dispatch on the class attribute rather than isinstance: one
            # attribute load, and the common case (flow) is tested first.
            priority = event.priority
            if priority is _FLOW:
                flow_event: FlowEvent = event  # type: ignore[assignment]
                flow_id = flow_event.flow_id
                self._acquire()
                try:
                    if event.__class__ is FlowCreated:
                        # Ids only grow, so the new ones are a range: O(1)
                        # to track however many there are, even in a resync.
                        if not self._new_first or flow_id < self._new_first:
                            self._new_first = flow_id
                        if flow_id > self._new_last:
                            self._new_last = flow_id
                    if self._resync:
                        self._flow_dropped += 1
                    elif flow_id in self._flow:
                        self._flow_coalesced += 1
                    elif len(self._flow) + self._carried < self._flow_cap:
                        self._flow[flow_id] = _now()
                        self._flow_added += 1
                    else:
                        # Everything pending is now covered by the resync; the
                        # drain discards it (and counts it), not this thread.
                        self._resync = True
                        self._resyncs += 1
                        self._flow_dropped += 1
                finally:
                    self._release()
            elif priority is _LOW:
                low_event: LowEvent = event  # type: ignore[assignment]
                key = (low_event.kind, low_event.key)
                self._acquire()
                try:
                    aggregate = self._low.get(key)
                    if aggregate is not None:
                        aggregate.count += 1
                        aggregate.latest = low_event
                        self._low_coalesced += 1
                    elif self._depth() >= self._low_cap:
                        self._low_dropped += 1
                    else:
                        self._low[key] = LowAggregate(key[0], key[1], 1, low_event, _now())
                        self._low_added += 1
                finally:
                    self._release()
            else:
                # Critical, and anything with an unknown priority: never lost.
                self._acquire()
                try:
                    if len(self._critical) >= self._critical_limit:
                        self._critical_over += 1
                    self._critical.append((_now(), event))
                    self._critical_added += 1
                finally:
                    self._release()
        except Exception as exc:
            # Type names only: formatting a hostile event or error could raise.
            self._acquire()
            try:
                self._errors += 1
                self._last_error = f"{type(exc).__name__} on {type(event).__qualname__}"
            finally:
                self._release()

    def _depth(self) -> int:
        return len(self._critical) + len(self._flow) + self._carried + len(self._low)

    @property
    def depth(self) -> int:
        """Queued entries right now (critical events, flow ids, low aggregates)."""
        return self._depth()

    def drain(self, budget: int | None = None) -> Batch:
        """Take one batch: every critical event, up to ``budget`` changed ids
        (default ``limits.flush_budget``; the oldest first, the rest stay
        queued), the new-id range, every low aggregate and the resync flag.

        The drain times itself as the flush duration; a consumer that also
        applies the batch should call ``record_flush`` with the whole time.
        """
        limit = self.limits.flush_budget if budget is None else budget
        if limit < 1:
            raise ValueError(f"budget must be at least 1, not {limit}")
        with self._drain_lock:
            started = _now()
            self._acquire()
            try:
                self._high_water = max(self._high_water, self._depth())
                # Always swap, even when empty: a container kept by reference
                # would still be the emitter's, and fill up under our feet.
                critical, self._critical = self._critical, []
                inbox, self._flow = self._flow, {}
                low, self._low = self._low, {}
                resync = self._resync
                if resync:
                    self._resync = False
                    self._carried = 0
                else:
                    self._carried += len(inbox)
                new_first, new_last = self._new_first, self._new_last
                self._new_first = self._new_last = 0
            finally:
                self._release()

            carry = self._carry
            oldest = [t for t, _ in critical[:1]]
            oldest += itertools.islice(carry.values(), 1)
            oldest += itertools.islice(inbox.values(), 1)
            oldest += [a.first_seen for a in itertools.islice(low.values(), 1)]

            if resync:
                self._flow_discarded += len(inbox) + len(carry)
                self._carry = {}
                changed: list[int] = []
            else:
                changed = self._take_changed(inbox, limit)
            self._acquire()
            try:
                self._carried = len(self._carry)
            finally:
                self._release()

            changed.sort()
            aggregates = list(low.values())
            events = [event for _, event in critical]
            self._critical_delivered += len(events)
            self._flow_delivered += len(changed)
            self._low_delivered += len(aggregates)
            new_ids = range(new_first, new_last + 1) if new_first else range(0)
            finished = _now()
            self._flush_open = bool(events or changed or new_ids or aggregates or resync)
            if self._flush_open:
                self._flushes += 1
                self._flush_times.add(finished - started)
                self._lags.add(started - min(oldest) if oldest else 0.0)
            stats = self._snapshot(finished)
            self._log_trouble(stats)
        return Batch(events, changed, new_ids, aggregates, resync, stats)

    def _take_changed(self, inbox: dict[int, float], limit: int) -> list[int]:
        """Merge the inbox behind the carry-over and take the oldest ``limit``."""
        carry = self._carry
        if carry:
            for flow_id, queued in inbox.items():
                if flow_id in carry:
                    self._flow_merged += 1
                else:
                    carry[flow_id] = queued
        else:
            carry = inbox
        if len(carry) <= limit:
            self._carry = {}
            return list(carry)
        taken = list(itertools.islice(carry, limit))
        for flow_id in taken:
            del carry[flow_id]
        self._carry = carry
        return taken

    def record_flush(self, seconds: float) -> None:
        """Report how long the last non-empty batch took to drain and apply.

        It replaces the drain's own measurement for that flush. Calls with
        no flush to report (an empty drain, a second call) are ignored."""
        with self._drain_lock:
            if self._flush_open:
                self._flush_times.replace_last(seconds)
                self._flush_open = False

    def snapshot(self) -> RelayStats:
        """Current metrics; safe from any thread."""
        with self._drain_lock:
            return self._snapshot(_now())

    def _snapshot(self, now: float) -> RelayStats:
        self._acquire()
        try:
            critical_pending = len(self._critical)
            flow_pending = len(self._flow) + self._carried
            low_pending = len(self._low)
            critical_added = self._critical_added
            flow = (self._flow_added, self._flow_coalesced, self._flow_dropped)
            low = (self._low_added, self._low_coalesced, self._low_dropped)
            resyncs, resync_pending = self._resyncs, self._resync
            critical_over, errors = self._critical_over, self._errors
        finally:
            self._release()
        depth = critical_pending + flow_pending + low_pending
        self._high_water = max(self._high_water, depth)
        flow_emitted = sum(flow)
        return RelayStats(
            critical=ClassCounts(critical_added, self._critical_delivered, 0, 0, critical_pending),
            flow=ClassCounts(
                flow_emitted,
                self._flow_delivered,
                flow[1] + self._flow_merged,
                flow[2] + self._flow_discarded,
                flow_pending,
            ),
            low=ClassCounts(sum(low), self._low_delivered, low[1], low[2], low_pending),
            depth=depth,
            high_water=self._high_water,
            resyncs=resyncs,
            resync_pending=resync_pending,
            critical_over_limit=critical_over,
            errors=errors,
            flushes=self._flushes,
            flush_p50=self._flush_times.percentile(0.5),
            flush_p99=self._flush_times.percentile(0.99),
            flush_max=self._flush_times.peak,
            lag_last=self._lags.last,
            lag_max=self._lags.recent_max,
            events_per_second=self._rate.observe(now, critical_added + flow_emitted + sum(low)),
        )

    def _log_trouble(self, stats: RelayStats) -> None:
        # Logged here, on the consumer's thread, because emit must never do I/O.
        if stats.errors > self._errors_logged:
            log.error(
                "relay: %d emit(s) failed; last: %s",
                stats.errors - self._errors_logged,
                self._last_error,
            )
            self._errors_logged = stats.errors
        if stats.critical_over_limit > self._critical_over_logged:
            log.warning(
                "critical event backlog above %d (%d queued beyond it so far); "
                "is anything draining the relay?",
                self._critical_limit,
                stats.critical_over_limit,
            )
            self._critical_over_logged = stats.critical_over_limit
