"""Batches for the window, built from a store and a relay in memory: new
flows by cursor within the budget, changed flows again, a rescan after a
resync, what left the store, the heartbeat; and, whatever happens in
between, a window applying every batch ends up showing the store."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import summary as S
from inspector.core.events import FlowCreated, FlowFinished, ProxyStarted, WarningRaised
from inspector.core.flow import FlowState, Request, Response
from inspector.core.mirror import RowMirror
from inspector.core.naive_relay import NaiveRelay
from inspector.core.protocol import FrameReader, encode
from inspector.core.relay import Relay, RelayLimits
from inspector.core.rowbatch import RowBatch, batch_from_wire
from inspector.core.store import FlowStore
from inspector.core.summary import row_of, summarize
from inspector.proxy import batches
from inspector.proxy.batches import BatchBuilder


class Clock:
    """Stands in for the ``time`` module in ``batches``: a monotonic clock
    the test moves (the heartbeat) and a real perf_counter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return 0.0


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(batches, "time", fake)
    return fake


class Engine:
    def __init__(self, budget: int = 1000, pending: int = 50_000, max_flows: int = 10**6) -> None:
        self.store = FlowStore(max_flows=max_flows)
        self.relay = Relay(RelayLimits(max_pending_flow_ids=pending))
        self.builder = BatchBuilder(self.store, self.relay, budget)

    def add(self, path: str = "/") -> int:
        flow = self.store.new_flow(("127.0.0.1", 1))
        flow.request = Request(method="GET", host="a.test", target=path)
        self.relay.emit(FlowCreated(flow.id))
        return flow.id

    def finish(self, flow_id: int, status: int = 200) -> None:
        flow = self.store.get(flow_id)
        if flow is not None:
            flow.response = Response(status=status)
            flow.state = FlowState.COMPLETE
            flow.t_end = flow.t_start + 0.1
        self.relay.emit(FlowFinished(flow_id))

    def batch(self) -> RowBatch:
        [message] = FrameReader().feed(encode(self.builder.build()))
        return batch_from_wire(message)


def _ids(batch: RowBatch) -> list[int]:
    return [row[S.ID] for row in batch.rows]


def test_new_flows_go_oldest_first_within_the_budget() -> None:
    engine = Engine(budget=3)
    for i in range(8):
        engine.add(f"/{i}")
    got = [engine.batch() for _ in range(4)]
    assert [_ids(b) for b in got] == [[1, 2, 3], [4, 5, 6], [7, 8], []]
    assert [b.through for b in got] == [3, 6, 8, 8]
    assert [b.seq for b in got] == [1, 2, 3, 4]
    assert got[0].rows[0][S.PATH] == "/0"
    assert got[0].store is not None and got[0].store.last_id == 8


def test_a_builder_starts_after_the_flows_already_there() -> None:
    engine = Engine()
    engine.add()
    builder = BatchBuilder(engine.store, engine.relay)
    assert builder.sent_through == 1


def test_changed_flows_already_sent_come_again_with_their_new_row() -> None:
    engine = Engine(budget=2)
    for _ in range(3):
        engine.add()
    assert _ids(engine.batch()) == [1, 2]
    engine.finish(1, 404)
    engine.finish(3)  # not sent yet: it goes with the new ones
    batch = engine.batch()
    assert _ids(batch) == [3, 1]
    assert batch.rows[1][S.STATUS] == 404 and batch.rows[0][S.STATUS] == 200


def test_a_deleted_flow_is_named_once_and_its_changes_are_not_sent() -> None:
    engine = Engine()
    a, b = engine.add(), engine.add()
    engine.batch()
    engine.store.delete(a)
    engine.builder.deleted([a])
    engine.finish(a)
    engine.finish(b)
    batch = engine.batch()
    assert batch.deleted == (a,) and _ids(batch) == [b]
    assert engine.batch().deleted == ()


def test_clear_skips_what_was_not_sent_and_says_through_where() -> None:
    engine = Engine(budget=2)
    for _ in range(5):
        engine.add()
    engine.batch()
    engine.builder.deleted([1])
    engine.store.clear()
    engine.builder.cleared()
    engine.finish(2)
    batch = engine.batch()
    assert batch.cleared_through == 5 and batch.rows == () and batch.deleted == ()
    assert batch.through == 5
    engine.add()
    batch = engine.batch()
    assert batch.cleared_through == 0 and _ids(batch) == [6]


def test_flows_dropped_at_the_cap_are_said_through_their_last_id() -> None:
    engine = Engine(max_flows=3)
    for _ in range(5):
        engine.add()
    batch = engine.batch()
    assert batch.dropped_through == 2 and _ids(batch) == [3, 4, 5]
    assert batch.store is not None and batch.store.flows_dropped == 2


def test_after_a_resync_every_flow_sent_comes_again_budget_by_budget() -> None:
    engine = Engine(budget=4, pending=2)
    for _ in range(10):
        engine.add()
    for _ in range(3):
        engine.batch()
    for flow_id in range(1, 11):
        engine.finish(flow_id)  # more changed ids than the relay keeps: resync
    got = [engine.batch() for _ in range(4)]
    assert got[0].resync
    assert [_ids(b) for b in got] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10], []]
    assert all(row[S.STATUS] == 200 for b in got for row in b.rows)


def test_events_and_metrics_ride_along() -> None:
    engine = Engine()
    engine.relay.emit(ProxyStarted("127.0.0.1", 1))
    engine.relay.emit(WarningRaised("reset", "a.test", "boom"))
    engine.relay.emit(WarningRaised("reset", "a.test", "boom again"))
    batch = engine.batch()
    assert [type(e).__name__ for e in batch.critical] == ["ProxyStarted"]
    assert [(a.key, a.count) for a in batch.low] == [("a.test", 2)]
    assert batch.stats is not None and batch.stats.flushes == 1
    assert engine.batch().critical == []


def test_due_when_there_is_news_or_the_heartbeat_is(clock: Clock) -> None:
    engine = Engine()
    assert engine.builder.due  # never sent: the heartbeat is due
    engine.batch()
    assert not engine.builder.due
    clock.now += batches.HEARTBEAT - 0.01
    assert not engine.builder.due
    clock.now += 0.02
    assert engine.builder.due
    engine.batch()
    assert not engine.builder.due
    engine.relay.emit(WarningRaised("k", "k", "m"))
    assert engine.builder.due
    engine.batch()
    engine.store.new_flow(("a", 1))  # a flow without its event is still news
    assert engine.builder.due
    engine.batch()
    engine.builder.deleted([1])
    assert engine.builder.due
    engine.batch()
    engine.builder.cleared()
    assert engine.builder.due


def test_single_is_a_one_flow_batch_for_the_naive_relay() -> None:
    store = FlowStore()
    builder = BatchBuilder(store, NaiveRelay(RelayLimits()))
    flow_id = store.new_flow(("a", 1)).id
    message = builder.single({"t": "batch", "critical": [], "low": []}, flow_id)
    assert message["seq"] == 1 and message["through"] == flow_id
    assert [row[S.ID] for row in message["rows"]] == [flow_id]
    assert builder.single({"t": "batch"}, 99)["rows"] == []
    plain = builder.build()  # the naive relay has nothing to drain: rows by cursor only
    assert plain["seq"] == 3 and plain["rows"] == []


# A window applying every batch ends up showing the store

steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 6)),
        st.tuples(st.just("finish"), st.integers(1, 40)),
        st.tuples(st.just("delete"), st.integers(1, 40)),
        st.just(("clear",)),
        st.just(("batch",)),
    ),
    max_size=40,
)


def _apply(mirror: RowMirror, batch: RowBatch, cleared: list[int]) -> None:
    if batch.cleared_through > cleared[0]:
        cleared[0] = batch.cleared_through
        mirror.forget_through(batch.cleared_through)
    for flow_id in batch.deleted:
        mirror.remove(flow_id)
    if batch.dropped_through >= mirror.first_id:
        mirror.forget_through(batch.dropped_through)
    mirror.apply(batch.rows, batch.through)


@given(steps, st.integers(1, 5), st.integers(1, 8), st.integers(3, 30))
@settings(max_examples=150)
def test_whatever_happens_the_window_catches_up_with_the_store(
    plan: list[tuple[Any, ...]], budget: int, pending: int, max_flows: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batches, "time", Clock())
        engine = Engine(budget=budget, pending=pending, max_flows=max_flows)
        mirror, cleared = RowMirror(), [0]
        for step in plan:
            if step[0] == "add":
                for _ in range(step[1]):
                    engine.add()
            elif step[0] == "finish":
                engine.finish(step[1], 200 + step[1])
            elif step[0] == "delete":
                if engine.store.delete(step[1]):
                    engine.builder.deleted([step[1]])
            elif step[0] == "clear":
                engine.store.clear()
                engine.builder.cleared()
            else:
                _apply(mirror, engine.batch(), cleared)
        for _ in range(200):
            if not (engine.relay.depth or engine.builder.due):
                break
            _apply(mirror, engine.batch(), cleared)
        _apply(mirror, engine.batch(), cleared)  # one more, whatever the heartbeat says
        shown = {row.id: row for row in mirror.rows()}
        assert shown == {flow.id: row_of(summarize(flow)) for flow in engine.store}
