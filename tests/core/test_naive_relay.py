"""The naive relay: every event handed on at once, counted like the
coalescing relay so the pressure panel can compare them."""

from __future__ import annotations

import logging
import threading

import pytest

from inspector.core.events import (
    Event,
    FlowCreated,
    FlowFinished,
    ProxyStopped,
    WarningRaised,
)
from inspector.core.naive_relay import NaiveRelay


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
