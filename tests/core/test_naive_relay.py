"""The naive relay: every event handed on at once, counted like the
coalescing relay so the pressure panel can compare them."""

from __future__ import annotations

import logging
import threading

import pytest

from inspector.core.events import (
    BytesTransferred,
    Event,
    FlowCreated,
    FlowFinished,
    ProxyStopped,
    WarningRaised,
)
from inspector.core.naive_relay import NaiveRelay, batch_of
from inspector.core.relay import LowAggregate


def test_every_event_reaches_the_callback_at_once_in_order() -> None:
    seen: list[Event] = []
    relay = NaiveRelay(callback=seen.append)
    events: list[Event] = [FlowCreated(1), FlowFinished(1), FlowFinished(1), ProxyStopped()]
    for event in events:
        relay.emit(event)
    assert seen == events
    stats = relay.snapshot()
    assert stats.flow.emitted == stats.flow.delivered == 3
    assert stats.flow.coalesced == stats.flow.dropped == 0
    assert stats.critical.delivered == 1
    assert stats.flushes == 4 and stats.depth == 0 and stats.balanced


def test_without_a_callback_events_are_dropped_and_counted() -> None:
    relay = NaiveRelay()
    relay.emit(WarningRaised("reset", "h", "m"))
    stats = relay.snapshot()
    assert (stats.low.emitted, stats.low.dropped) == (1, 1)


def test_a_failing_callback_never_reaches_the_emitter(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    relay = NaiveRelay(callback=broken)
    with caplog.at_level(logging.ERROR, logger="inspector.core.naive_relay"):
        relay.emit(FlowFinished(1))
        relay.emit(FlowFinished(2))
        relay.emit(object())  # type: ignore[arg-type]
    stats = relay.snapshot()
    assert stats.errors == 3 and stats.flow.dropped == 2 and stats.balanced
    assert caplog.text.count("naive relay callback failed") == 1


def test_deferred_delivery_counts_the_backlog_until_applied() -> None:
    posted: list[Event] = []
    relay = NaiveRelay()
    relay.set_callback(posted.append, deferred=True)
    for flow_id in range(1, 4):
        relay.emit(FlowFinished(flow_id))
    stats = relay.snapshot()
    assert stats.depth == stats.flow.pending == 3 and stats.flow.delivered == 0
    relay.record_applied(posted[0], queued_at=0.0, seconds=0.004)
    relay.record_discarded(posted[1])
    stats = relay.snapshot()
    assert (stats.flow.delivered, stats.flow.dropped, stats.flow.pending) == (1, 1, 1)
    assert stats.high_water == 3 and stats.balanced
    assert stats.flush_max == 0.004 and stats.lag_last > 0


def test_emits_from_several_threads_are_all_counted() -> None:
    count = 0
    lock = threading.Lock()

    def callback(event: Event) -> None:
        nonlocal count
        with lock:
            count += 1

    relay = NaiveRelay(callback=callback)

    def produce() -> None:
        for flow_id in range(5_000):
            relay.emit(FlowFinished(flow_id))

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = relay.snapshot()
    assert count == stats.flow.delivered == stats.flow.emitted == 20_000


def test_batch_of_wraps_one_event_like_a_drained_batch() -> None:
    created = batch_of(FlowCreated(7))
    assert list(created.changed_ids) == [7] and created.new_ids == range(7, 8)
    assert batch_of(FlowFinished(7)).new_ids == range(0)
    warning = WarningRaised("reset", "h", "m")
    assert list(batch_of(warning, 1.5).low) == [LowAggregate("reset", "h", 1, warning, 1.5)]
    progress = batch_of(BytesTransferred("progress", "7", 10))
    assert progress.low[0].count == 1
    assert list(batch_of(ProxyStopped()).critical) == [ProxyStopped()]
    assert batch_of(ProxyStopped()).stats is None
