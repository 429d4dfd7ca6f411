"""A batch as the window receives it: checked, with events decoded.

``batch_from_wire`` turns the engine's ``batch`` message into a
``RowBatch`` or raises ``ProtocolError``; nothing of a malformed batch is
applied. See ``proxy/batches.py`` for what each part means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inspector.core import wire
from inspector.core.events import CriticalEvent
from inspector.core.protocol import Message, ProtocolError, field
from inspector.core.relay import LowAggregate
from inspector.core.relay_metrics import RelayStats
from inspector.core.summary import ID, check_row


@dataclass(frozen=True, slots=True)
class StoreCounters:
    """The engine's store and process, as of a batch."""

    last_id: int = 0
    flows: int = 0
    flows_dropped: int = 0
    max_flows: int = 0
    bodies_dropped: int = 0
    bodies_on_disk: int = 0
    """Flows whose bodies are in the session file only (read back from it)."""
    body_bytes: int = 0
    rss: int = 0


@dataclass(frozen=True, slots=True)
class RowBatch:
    seq: int
    rows: Sequence[tuple[Any, ...]] = ()
    through: int = 0
    critical: Sequence[CriticalEvent] = ()
    low: Sequence[LowAggregate] = ()
    resync: bool = False
    deleted: Sequence[int] = ()
    cleared_through: int = 0
    dropped_through: int = 0
    stats: RelayStats | None = None
    store: StoreCounters | None = None


def batch_from_wire(message: Message) -> RowBatch:
    seq = field(message, "seq", int)
    rows = field(message, "rows", (list, tuple))
    through = field(message, "through", int)
    for row in rows:
        if not check_row(row):
            raise ProtocolError("malformed row in a batch")
        if row[ID] > through:
            raise ProtocolError("a batch holds a row past its 'through'")
    deleted = field(message, "deleted", (list, tuple))
    if not all(type(i) is int for i in deleted):
        raise ProtocolError("malformed deleted ids in a batch")
    stats = message.get("stats")
    store = message.get("store")
    counters = None
    if store is not None:
        if not isinstance(store, dict) or not all(type(v) is int for v in store.values()):
            raise ProtocolError("malformed store counters")
        known = StoreCounters.__dataclass_fields__
        counters = StoreCounters(**{k: v for k, v in store.items() if k in known})
    return RowBatch(
        seq=seq,
        rows=rows,
        through=through,
        critical=[wire.critical_from_wire(e) for e in field(message, "critical", (list, tuple))],
        low=[wire.aggregate_from_wire(a) for a in field(message, "low", (list, tuple))],
        resync=field(message, "resync", bool),
        deleted=deleted,
        cleared_through=field(message, "cleared_through", int),
        dropped_through=field(message, "dropped_through", int),
        stats=wire.stats_from_wire(stats) if stats is not None else None,
        store=counters,
    )
