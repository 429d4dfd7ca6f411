"""The coalescing relay: each policy, the metrics, bounded memory, and a
producer thread racing a consumer thread."""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from inspector.core.events import (
    BytesTransferred,
    Event,
    FlowCreated,
    FlowFinished,
    FlowResponseHead,
    ListenFailed,
    ProxyStarted,
    ProxyStopped,
    WarningRaised,
)
from inspector.core.relay import Batch, Relay, RelayLimits


def small(**overrides: int) -> Relay:
    return Relay(RelayLimits(**overrides))


def test_critical_events_come_out_in_order_in_full_and_uncoalesced() -> None:
    relay = small(flush_budget=1)
    events: list[Event] = [ProxyStarted("127.0.0.1", 8080), ProxyStopped(), ProxyStopped()]
    for event in events:
        relay.emit(event)
    batch = relay.drain()
    assert list(batch.critical) == events
    assert batch.stats is not None
    assert batch.stats.critical.delivered == 3
    assert batch.stats.critical.coalesced == 0
    assert not relay.drain().critical


def test_flow_events_coalesce_by_id_into_sorted_changed_ids() -> None:
    relay = small()
    for flow_id in (7, 3, 7, 7, 5, 3):
        relay.emit(FlowResponseHead(flow_id))
    batch = relay.drain()
    assert list(batch.changed_ids) == [3, 5, 7]
    assert batch.stats is not None
    assert batch.stats.flow == batch.stats.flow.__class__(
        emitted=6, delivered=3, coalesced=3, dropped=0, pending=0
    )
    assert relay.drain().empty


def test_new_ids_are_a_range_of_the_created_flows() -> None:
    relay = small()
    assert relay.drain().new_ids == range(0)
    for flow_id in (4, 5, 6):
        relay.emit(FlowCreated(flow_id))
    relay.emit(FlowFinished(2))
    batch = relay.drain()
    assert batch.new_ids == range(4, 7)
    assert list(batch.changed_ids) == [2, 4, 5, 6]
    relay.emit(FlowCreated(7))
    assert relay.drain().new_ids == range(7, 8)


def test_budget_delivers_the_oldest_ids_and_keeps_the_rest_queued() -> None:
    relay = small(flush_budget=2)
    for flow_id in (9, 1, 8, 2):
        relay.emit(FlowFinished(flow_id))
    first = relay.drain()
    assert list(first.changed_ids) == [1, 9]
    assert first.stats is not None and first.stats.depth == 2
    relay.emit(FlowFinished(8))  # still carried: merged, not queued twice
    relay.emit(FlowFinished(5))
    assert list(relay.drain().changed_ids) == [2, 8]
    last = relay.drain()
    assert list(last.changed_ids) == [5]
    assert last.stats is not None
    assert last.stats.flow.coalesced == 1
    assert last.stats.flow.balanced and last.stats.depth == 0


def test_budget_argument_overrides_the_setting() -> None:
    relay = small(flush_budget=1)
    for flow_id in range(1, 6):
        relay.emit(FlowFinished(flow_id))
    assert list(relay.drain(budget=10).changed_ids) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="budget"):
        relay.drain(budget=0)


def test_too_many_pending_ids_degrade_to_a_counted_resync() -> None:
    relay = small(max_pending_flow_ids=3)
    for flow_id in range(1, 6):
        relay.emit(FlowCreated(flow_id))
    relay.emit(FlowFinished(1))
    stats = relay.snapshot()
    assert stats.resync_pending and stats.resyncs == 1
    assert stats.flow.pending == 3
    batch = relay.drain()
    assert batch.resync
    assert batch.changed_ids == []
    assert batch.new_ids == range(1, 6)  # exact even through a resync
    assert batch.stats is not None
    assert batch.stats.flow.dropped == 6 and batch.stats.flow.delivered == 0
    assert batch.stats.flow.balanced
    relay.emit(FlowFinished(2))
    after = relay.drain()
    assert not after.resync and list(after.changed_ids) == [2]


def test_the_carry_over_counts_against_capacity() -> None:
    relay = small(max_pending_flow_ids=4, flush_budget=1)
    for flow_id in range(1, 5):
        relay.emit(FlowFinished(flow_id))
    relay.drain()  # one delivered, three carried
    relay.emit(FlowFinished(10))
    assert not relay.snapshot().resync_pending
    relay.emit(FlowFinished(11))
    stats = relay.snapshot()
    assert stats.resync_pending and stats.flow.pending <= 4
    batch = relay.drain()
    assert batch.resync and batch.changed_ids == []
    assert batch.stats is not None and batch.stats.flow.balanced
    assert batch.stats.flow.pending == 0


def test_low_events_aggregate_by_kind_and_key_keeping_the_latest() -> None:
    relay = small()
    relay.emit(WarningRaised("reset", "a.example", "first"))
    relay.emit(BytesTransferred("progress", "7", 100))
    relay.emit(WarningRaised("reset", "a.example", "second"))
    relay.emit(WarningRaised("reset", "b.example", "other"))
    relay.emit(BytesTransferred("progress", "7", 250))
    batch = relay.drain()
    summary = {(a.kind, a.key): (a.count, a.latest) for a in batch.low}
    assert summary == {
        ("reset", "a.example"): (2, WarningRaised("reset", "a.example", "second")),
        ("progress", "7"): (2, BytesTransferred("progress", "7", 250)),
        ("reset", "b.example"): (1, WarningRaised("reset", "b.example", "other")),
    }
    assert batch.stats is not None
    assert batch.stats.low.delivered == 3 and batch.stats.low.coalesced == 2


def test_low_events_are_dropped_above_the_high_water_mark() -> None:
    relay = small(low_high_water=3)
    relay.emit(FlowFinished(1))
    relay.emit(FlowFinished(2))
    relay.emit(WarningRaised("slow", "a", "1"))  # depth 2 -> kept
    relay.emit(WarningRaised("slow", "b", "1"))  # depth 3 -> dropped
    relay.emit(WarningRaised("slow", "a", "2"))  # folds into a kept aggregate
    stats = relay.snapshot()
    assert (stats.low.emitted, stats.low.dropped, stats.low.pending) == (3, 1, 1)
    assert stats.depth == 3 and stats.balanced
    batch = relay.drain()
    assert [(a.key, a.count) for a in batch.low] == [("a", 2)]


def test_emit_never_raises_and_failures_are_counted_then_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = Relay()
    relay.emit(object())  # type: ignore[arg-type]
    relay.emit(None)  # type: ignore[arg-type]
    relay.emit(ProxyStopped())
    with caplog.at_level(logging.ERROR, logger="inspector.core.relay"):
        batch = relay.drain()
    assert batch.stats is not None and batch.stats.errors == 2
    assert list(batch.critical) == [ProxyStopped()]
    assert "2 emit(s) failed" in caplog.text


def test_critical_backlog_beyond_the_soft_limit_is_kept_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = small(critical_soft_limit=2)
    for port in range(5):
        relay.emit(ListenFailed("h", port, "busy"))
    assert relay.snapshot().critical_over_limit == 3
    with caplog.at_level(logging.WARNING, logger="inspector.core.relay"):
        batch = relay.drain()
    assert [e.port for e in batch.critical if isinstance(e, ListenFailed)] == list(range(5))
    assert "critical event backlog" in caplog.text


def test_flush_metrics_use_the_reported_time_or_the_drains_own() -> None:
    relay = small()
    assert relay.drain().stats is not None
    relay.record_flush(5.0)  # nothing delivered, nothing to report
    assert relay.snapshot().flushes == 0
    relay.emit(FlowFinished(1))
    relay.drain()
    own = relay.snapshot()
    assert own.flushes == 1 and 0 < own.flush_max < 5.0
    relay.record_flush(0.25)
    relay.record_flush(9.0)  # only the first report counts
    reported = relay.snapshot()
    assert reported.flush_p50 == reported.flush_p99 == reported.flush_max == 0.25
    for seconds in (0.001, 0.002, 0.003):
        relay.emit(FlowFinished(1))
        relay.drain()
        relay.record_flush(seconds)
    stats = relay.snapshot()
    assert stats.flushes == 4
    assert stats.flush_p50 == 0.002 and stats.flush_p99 == stats.flush_max == 0.25


def test_lag_is_the_age_of_the_oldest_queued_event() -> None:
    relay = small()
    relay.emit(WarningRaised("k", "k", "m"))
    time.sleep(0.05)
    relay.emit(FlowFinished(1))
    stats = relay.drain().stats
    assert stats is not None
    assert stats.lag_last >= 0.05 and stats.lag_max == stats.lag_last


def test_depth_high_water_and_rate() -> None:
    relay = small()
    relay.snapshot()
    for flow_id in range(100):
        relay.emit(FlowFinished(flow_id))
    assert relay.depth == 100
    time.sleep(0.01)
    stats = relay.drain().stats
    assert stats is not None
    assert stats.depth == 0 and stats.high_water == 100
    assert stats.events_per_second > 0
    assert stats.emitted == 100
    assert "depth 0 (max 100)" in stats.summary()
    assert stats.as_dict()["flow"]["delivered"] == 100


def test_batch_empty() -> None:
    assert Batch().empty
    assert not Batch(resync=True).empty
    assert not Batch(new_ids=range(3, 4)).empty


def test_memory_stays_bounded_after_a_million_emits_without_a_drain() -> None:
    relay = Relay(RelayLimits(max_pending_flow_ids=1_000, low_high_water=1_500))
    emit = relay.emit

    def emit_mix(first: int, last: int) -> None:
        for i in range(first, last):
            emit(FlowCreated(i))
            emit(FlowResponseHead(i % 2_000 + 1))
            emit(WarningRaised("reset", str(i % 5_000), "connection reset"))
            emit(BytesTransferred("progress", str(i % 7), i))

    emit_mix(1, 200_001)
    # Only the last fifth is traced (tracemalloc slows every allocation):
    # once the capacities are reached, nothing more may be kept.
    tracemalloc.start()
    try:
        emit_mix(200_001, 250_001)
        grown, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stats = relay.snapshot()
    assert stats.emitted == 1_000_000 and stats.balanced
    assert stats.flow.pending <= 1_000 and stats.low.pending <= 1_500
    # Keeping these 200,000 events would take ~26 MB; the relay grows ~80 KB.
    assert grown < 1_000_000


def test_default_capacities_bound_a_million_distinct_ids() -> None:
    relay = Relay()
    emit = relay.emit
    for i in range(1, 1_000_001):
        emit(FlowFinished(i))
    for i in range(20_000):
        emit(WarningRaised("reset", str(i), "m"))
    stats = relay.snapshot()
    assert stats.flow.pending == relay.limits.max_pending_flow_ids
    assert stats.low.pending == 0  # the flow backlog is above the high-water mark
    assert stats.low.dropped == 20_000 and stats.balanced


@pytest.mark.parametrize(("capacity", "high_water"), [(50_000, 10_000), (16, 8)])
def test_a_producer_thread_racing_a_draining_thread(capacity: int, high_water: int) -> None:
    relay = Relay(RelayLimits(max_pending_flow_ids=capacity, low_high_water=high_water))
    total_created = 60_000
    sent_critical: list[int] = []
    done = threading.Event()

    def produce() -> None:
        rng = random.Random(1)
        for flow_id in range(1, total_created + 1):
            relay.emit(FlowCreated(flow_id))
            relay.emit(FlowResponseHead(rng.randint(max(1, flow_id - 50), flow_id)))
            relay.emit(WarningRaised("reset", str(rng.randrange(30)), str(flow_id)))
            relay.emit(FlowFinished(flow_id))
            if flow_id % 1_000 == 0:
                sent_critical.append(flow_id)
                relay.emit(ListenFailed("h", flow_id, "x"))
        done.set()

    got_critical: list[int] = []
    new_ids: list[int] = []
    changed: set[int] = set()
    resyncs = 0
    rng = random.Random(2)

    def take(batch: Batch) -> None:
        nonlocal resyncs
        got_critical.extend(e.port for e in batch.critical if isinstance(e, ListenFailed))
        new_ids.extend(batch.new_ids)
        changed.update(batch.changed_ids)
        resyncs += batch.resync
        assert batch.stats is not None and batch.stats.balanced
        assert batch.stats.flow.pending <= capacity and batch.stats.low.pending <= high_water

    producer = threading.Thread(target=produce)
    producer.start()
    while not done.is_set():
        take(relay.drain(budget=rng.randint(1, 3_000)))
    producer.join()
    while relay.depth:
        take(relay.drain())
    take(relay.drain())

    stats = relay.snapshot()
    assert got_critical == sent_critical
    assert new_ids == list(range(1, total_created + 1))
    assert stats.balanced and stats.depth == 0
    assert stats.flow.emitted == 3 * total_created
    assert stats.low.emitted == total_created
    assert stats.critical.delivered == len(sent_critical)
    never_notified = set(range(1, total_created + 1)) - changed
    assert not never_notified or resyncs > 0


def test_core_relay_modules_import_without_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None; sys.modules['qasync'] = None\n"
        "import inspector.core.relay, inspector.core.naive_relay, inspector.core.relay_metrics"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
