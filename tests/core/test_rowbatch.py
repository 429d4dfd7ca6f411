"""A batch as the window receives it: every part of an engine's batch comes
through ``batch_from_wire`` as it was sent, and a malformed batch is a
ProtocolError as a whole (nothing of it is applied)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import summary as S
from inspector.core.events import FlowCreated, ProxyStarted, WarningRaised
from inspector.core.flow import FlowState, Request, Response
from inspector.core.mirror import RowMirror
from inspector.core.protocol import FrameReader, ProtocolError, encode
from inspector.core.relay import Relay, RelayLimits
from inspector.core.rowbatch import StoreCounters, batch_from_wire
from inspector.core.store import FlowStore
from inspector.proxy.batches import BatchBuilder


def _received(message: dict[str, Any]) -> dict[str, Any]:
    [back] = FrameReader().feed(encode(message))
    return back


def _engine_batch() -> dict[str, Any]:
    """A batch as an engine builds it: two flows, events of every class."""
    store, relay = FlowStore(), Relay(RelayLimits())
    for i in range(2):
        flow = store.new_flow(("127.0.0.1", 1))
        flow.request = Request(method="GET", host="a.test", target=f"/{i}")
        flow.response = Response(status=200, body_size=5)
        flow.state = FlowState.COMPLETE
        relay.emit(FlowCreated(flow.id))
    relay.emit(ProxyStarted("127.0.0.1", 8080))
    relay.emit(WarningRaised("reset", "a.test", "connection reset"))
    builder = BatchBuilder(store, relay)
    builder.deleted([9])
    return _received(builder.build())


def test_an_engine_batch_comes_through_whole() -> None:
    message = _engine_batch()
    batch = batch_from_wire(message)
    assert batch.seq == 1 and batch.through == 2
    assert [row[S.ID] for row in batch.rows] == [1, 2]
    assert [type(e).__name__ for e in batch.critical] == ["ProxyStarted"]
    assert [(a.kind, a.count) for a in batch.low] == [("reset", 1)]
    assert batch.deleted == (9,) and not batch.resync
    assert batch.cleared_through == 0 and batch.dropped_through == 0
    assert batch.stats is not None and batch.stats.flow.emitted == 2
    assert batch.store is not None and batch.store.last_id == 2 and batch.store.flows == 2
    mirror = RowMirror()
    assert mirror.apply(batch.rows, batch.through) == [1, 2]


def test_the_smallest_batch() -> None:
    minimal = {
        "t": "batch",
        "seq": 5,
        "rows": [],
        "through": 0,
        "critical": [],
        "low": [],
        "resync": True,
        "deleted": [],
        "cleared_through": 3,
        "dropped_through": 0,
    }
    batch = batch_from_wire(_received(minimal))
    assert (batch.seq, batch.resync, batch.cleared_through) == (5, True, 3)
    assert not (batch.rows or batch.critical or batch.low or batch.deleted)
    assert batch.stats is None and batch.store is None


def test_unknown_store_counters_are_ignored_and_missing_ones_default() -> None:
    message = _engine_batch()
    message["store"] = {"last_id": 4, "a_counter_from_the_future": 1}
    assert batch_from_wire(message).store == StoreCounters(last_id=4)


def _lists(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def _with(path: str, value: Any) -> dict[str, Any]:
    message = _lists(_engine_batch())
    *parents, last = path.split(".")
    target: Any = message
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return message


BAD_BATCHES = [
    ("no seq", _with("seq", ...)),
    ("seq as text", _with("seq", "1")),
    ("seq a bool", _with("seq", True)),
    ("rows a map", _with("rows", {})),
    ("a row too short", _with("rows.0", [1, 2.0])),
    ("a row of text", _with("rows.0", "row")),
    ("a row's id as text", _with(f"rows.0.{S.ID}", "1")),
    ("a row's size past int64", _with(f"rows.1.{S.SIZE}", 2**63)),
    ("a row's state unknown", _with(f"rows.1.{S.STATE}", 9)),
    ("no through", _with("through", ...)),
    ("through a float", _with("through", 2.0)),
    ("a row past through", _with("through", 0)),
    ("critical a map", _with("critical", {})),
    ("an unknown critical event", _with("critical.0", {"kind": "Exploded"})),
    ("a critical event of no kind", _with("critical.0", {"kind": None})),
    ("a critical event whose kind is a map", _with("critical.0", {"kind": {}})),
    ("a critical event whose kind is a list", _with("critical.0", {"kind": ["ProxyStarted"]})),
    ("a critical event missing a field", _with("critical.0", {"kind": "ProxyStarted"})),
    ("low an int", _with("low", 1)),
    ("a low aggregate too short", _with("low.0", ["reset"])),
    ("resync an int", _with("resync", 1)),
    ("no resync", _with("resync", ...)),
    ("deleted a map", _with("deleted", {})),
    ("a deleted id as text", _with("deleted", ["9"])),
    ("a deleted id a bool", _with("deleted", [True])),
    ("cleared_through as text", _with("cleared_through", "0")),
    ("dropped_through None", _with("dropped_through", None)),
    ("stats a list", _with("stats", [])),
    ("stats without a class", _with("stats.flow", ...)),
    ("store a list", _with("store", [1])),
    ("a store counter as text", _with("store.flows", "2")),
    ("a store counter a bool", _with("store.flows", True)),
]


@pytest.mark.parametrize("message", [b[1] for b in BAD_BATCHES], ids=[b[0] for b in BAD_BATCHES])
def test_a_malformed_batch_is_a_protocol_error(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        batch_from_wire(_received(message))


BATCH_PATHS = [
    "seq", "rows", "rows.0", "rows.1.0", "rows.1.10", "rows.1.12", "through", "critical",
    "critical.0", "critical.0.kind", "critical.0.port", "low", "low.0", "low.0.2", "resync",
    "deleted", "cleared_through", "dropped_through", "stats", "stats.flow", "stats.depth",
    "store", "store.rss",
]  # fmt: skip
wild = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(st.sampled_from(BATCH_PATHS), wild)
@settings(max_examples=200)
def test_any_value_anywhere_in_a_batch_is_taken_or_refused_cleanly(path: str, value: Any) -> None:
    try:
        batch = batch_from_wire(_received(_with(path, value)))
    except ProtocolError:
        return
    # Whatever was taken, the mirror can hold.
    RowMirror().apply(batch.rows, min(batch.through, 1000))
