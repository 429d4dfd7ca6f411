"""Batches for the window: what changed since the last one, as rows.

``BatchBuilder.build`` drains the relay and reads the store (the truth) for
the current row of every flow worth telling about:

- new flows, from a cursor over ids (``sent_through``): at most ``budget``
  a batch, oldest first, so a window that was away catches up in steps
  instead of one message of everything;
- flows the relay says changed, among those already sent;
- after a relay resync (more changed ids than it would queue), every flow
  already sent, again ``budget`` at a time, from a second cursor;
- what left the store: ids deleted one by one, the id up to which
  everything was cleared, and the id up to which the flow cap dropped.

A batch also carries the relay's metrics and the store's counters, so an
idle engine still sends one now and then (``heartbeat``) to keep the
pressure panel live.
"""

from __future__ import annotations

import time
from typing import Any

from inspector.core import wire
from inspector.core.memory import rss_bytes
from inspector.core.naive_relay import NaiveRelay
from inspector.core.protocol import Message
from inspector.core.relay import Batch, Relay
from inspector.core.store import FlowStore
from inspector.core.summary import summarize

PROGRESS = "progress"
"""The kind of ``BytesTransferred`` the recorder emits for a response body."""

DEFAULT_BUDGET = 3_000
"""Rows per batch from each cursor. A row costs the window about 11 us to
decode, check and apply (measured with a million rows), so a batch stays
near 33 ms of its time, inside the 61 ms the table's other work keeps to,
and a window back from 10 s away under 5,000 flows/s catches up in about a
second (the pace is quicker while it is behind)."""
HEARTBEAT = 0.25
"""An engine with nothing to report still sends its metrics this often."""


class BatchBuilder:
    def __init__(
        self, store: FlowStore, relay: Relay | NaiveRelay, budget: int = DEFAULT_BUDGET
    ) -> None:
        self.store = store
        self.relay = relay
        self.budget = budget
        self.seq = 0
        self.sent_through = store.last_id
        """Every flow up to this id has been sent (or was gone when its turn came)."""
        self._rescan_next = 0
        self._rescan_to = 0
        self._deleted: list[int] = []
        self._cleared_through = 0
        self._dropped_sent = store.dropped_through
        self._last_sent = 0.0

    def deleted(self, flow_ids: list[int]) -> None:
        self._deleted.extend(flow_ids)

    def cleared(self) -> None:
        """The store was just cleared: every id up to its last is gone."""
        self._cleared_through = self.store.last_id
        self.sent_through = self.store.last_id
        self._rescan_next = self._rescan_to = 0
        self._deleted.clear()

    @property
    def due(self) -> bool:
        """Whether a batch would carry anything, or the heartbeat is due."""
        return (
            self.relay.depth > 0
            or self.store.last_id > self.sent_through
            or (self._rescan_next <= self._rescan_to and self._rescan_to > 0)
            or bool(self._deleted)
            or bool(self._cleared_through)
            or self.store.dropped_through > self._dropped_sent
            or time.monotonic() - self._last_sent >= HEARTBEAT
        )

    def build(self) -> Message:
        """The next batch message (``seq`` increases by one each time)."""
        started = time.perf_counter()
        relay = self.relay
        batch = relay.drain(self.budget) if isinstance(relay, Relay) else Batch()
        store, budget = self.store, self.budget
        rows: list[tuple[Any, ...]] = []
        cursor = self.sent_through
        through = min(store.last_id, cursor + budget)
        if through > cursor:
            rows.extend(map(summarize, store.range(cursor + 1, through)))
            self.sent_through = through
        get = store.get
        for flow_id in _changed(batch):
            if flow_id <= cursor:
                flow = get(flow_id)
                if flow is not None:
                    rows.append(summarize(flow))
        if batch.resync:
            self._rescan_next, self._rescan_to = 1, cursor
        if self._rescan_to:
            last = min(self._rescan_to, self._rescan_next + budget - 1)
            rows.extend(map(summarize, store.range(self._rescan_next, last)))
            self._rescan_next = last + 1
            if self._rescan_next > self._rescan_to:
                self._rescan_next = self._rescan_to = 0
        self.seq += 1
        stats = batch.stats if batch.stats is not None else relay.snapshot()
        message: Message = {
            "t": "batch",
            "seq": self.seq,
            "rows": rows,
            "through": self.sent_through,
            "critical": [wire.critical_to_wire(e) for e in batch.critical],
            "low": [wire.aggregate_to_wire(a) for a in batch.low],
            "resync": batch.resync,
            "deleted": self._deleted,
            "cleared_through": self._cleared_through,
            "dropped_through": store.dropped_through,
            "stats": wire.stats_to_wire(stats),
            "store": self.store_counters(),
        }
        self._deleted = []
        self._cleared_through = 0
        self._dropped_sent = store.dropped_through
        self._last_sent = time.monotonic()
        if isinstance(relay, Relay):
            relay.record_flush(time.perf_counter() - started)
        return message

    def single(self, message: Message, flow_id: int) -> Message:
        """A one-flow batch for the naive relay: ``message`` with the
        flow's current row (the flow may be gone already)."""
        flow = self.store.get(flow_id)
        self.seq += 1
        if flow_id > self.sent_through:
            self.sent_through = flow_id
        message.update(
            seq=self.seq,
            rows=[summarize(flow)] if flow is not None else [],
            through=self.sent_through,
        )
        return message

    def store_counters(self) -> dict[str, int]:
        store = self.store
        return {
            "last_id": store.last_id,
            "flows": len(store),
            "flows_dropped": store.flows_dropped,
            "max_flows": store.max_flows,
            "bodies_dropped": store.bodies_dropped,
            "bodies_on_disk": store.bodies_paged_out,
            "body_bytes": store.body_bytes,
            "rss": rss_bytes(),
        }


def _changed(batch: Batch) -> list[int]:
    """The flows whose rows to send again: those the relay says changed,
    and those whose body made progress. Progress is a low event (counted,
    droppable) rather than a flow event, but without a fresh row the Size
    column would stand still through a long download and jump at its end."""
    progressed = {int(a.key) for a in batch.low if a.kind == PROGRESS and a.key.isdigit()}
    if not progressed:
        return list(batch.changed_ids)
    return sorted(progressed.union(batch.changed_ids))
