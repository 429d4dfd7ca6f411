"""The Qt bridges: one signal per drained batch (or per event for the naive
one), a critical event drains at once, and stop never waits on a backlog.
Timing assertions are generous bounds only: the machine may be slow."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from inspector.core.events import Event, FlowCreated, FlowFinished, ProxyStarted, WarningRaised
from inspector.core.naive_relay import NaiveRelay
from inspector.core.relay import Batch, Relay, RelayLimits
from inspector.gui.relay_bridge import NaiveRelayBridge, RelayBridge

NEVER_MS = 60_000
"""A timer interval no test lasts long enough to see fire."""


def in_thread(work: Callable[[], None]) -> None:
    """Run ``work`` on another thread, as the engine would, and wait for it."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


@pytest.fixture
def batches() -> list[Batch]:
    return []


@pytest.fixture
def bridge(qtbot: QtBot, batches: list[Batch]) -> Iterator[RelayBridge]:
    bridge = RelayBridge(Relay(), interval_ms=10)
    bridge.batch_ready.connect(batches.append)
    yield bridge
    bridge.stop()


def test_one_signal_per_batch(qtbot: QtBot, bridge: RelayBridge, batches: list[Batch]) -> None:
    relay = bridge.relay

    def burst() -> None:
        for _ in range(100):
            for flow_id in (1, 2, 3):
                relay.emit(FlowFinished(flow_id))
        relay.emit(WarningRaised("reset", "h", "m"))

    in_thread(burst)
    bridge.start()
    qtbot.waitUntil(lambda: len(batches) == 1, timeout=2_000)
    qtbot.wait(100)  # several more ticks, with nothing left to deliver
    assert len(batches) == 1
    assert list(batches[0].changed_ids) == [1, 2, 3]
    assert batches[0].low[0].count == 1
    in_thread(lambda: relay.emit(FlowFinished(4)))
    qtbot.waitUntil(lambda: len(batches) == 2, timeout=2_000)
    assert list(batches[1].changed_ids) == [4]


def test_a_critical_event_drains_at_once(
    qtbot: QtBot, bridge: RelayBridge, batches: list[Batch]
) -> None:
    bridge.set_interval(NEVER_MS)
    bridge.start()
    QCoreApplication.processEvents()  # the wake-up that start posts
    in_thread(lambda: bridge.relay.emit(FlowCreated(1)))
    qtbot.wait(100)
    assert batches == []  # flow events wait for the tick
    with qtbot.waitSignal(bridge.batch_ready, timeout=2_000):
        in_thread(lambda: bridge.relay.emit(ProxyStarted("127.0.0.1", 8080)))
    assert list(batches[0].critical) == [ProxyStarted("127.0.0.1", 8080)]
    assert batches[0].new_ids == range(1, 2)


def test_a_critical_event_on_the_gui_thread_is_not_drained_inside_emit(
    qtbot: QtBot, bridge: RelayBridge, batches: list[Batch]
) -> None:
    bridge.set_interval(NEVER_MS)
    bridge.start()
    bridge.relay.emit(ProxyStarted("127.0.0.1", 8080))
    assert batches == []
    qtbot.waitUntil(lambda: len(batches) == 1, timeout=2_000)


def test_events_queued_before_start_go_out_on_start(
    qtbot: QtBot, bridge: RelayBridge, batches: list[Batch]
) -> None:
    bridge.set_interval(NEVER_MS)
    bridge.relay.emit(FlowFinished(9))
    bridge.start()
    qtbot.waitUntil(lambda: len(batches) == 1, timeout=2_000)
    assert list(batches[0].changed_ids) == [9]


def test_the_flush_time_reported_is_the_slots_time(qtbot: QtBot, bridge: RelayBridge) -> None:
    bridge.batch_ready.connect(lambda batch: time.sleep(0.02))
    bridge.relay.emit(FlowFinished(1))
    bridge.start()
    qtbot.waitUntil(lambda: bridge.relay.snapshot().flushes == 1, timeout=2_000)
    assert bridge.relay.snapshot().flush_max >= 0.02


def test_stop_returns_promptly_with_a_large_backlog(qtbot: QtBot, batches: list[Batch]) -> None:
    relay = Relay(RelayLimits(max_pending_flow_ids=200_000))
    bridge = RelayBridge(relay, interval_ms=NEVER_MS)
    bridge.batch_ready.connect(batches.append)
    bridge.start()

    def flood() -> None:
        for flow_id in range(1, 100_001):
            relay.emit(FlowFinished(flow_id))

    in_thread(flood)
    started = time.monotonic()
    bridge.stop()
    assert time.monotonic() - started < 2.0
    assert not bridge.running and relay.depth == 100_000
    qtbot.wait(50)
    assert batches == []  # nothing drains after stop
    assert len(bridge.drain_now().changed_ids) == relay.limits.flush_budget


def test_naive_bridge_delivers_one_signal_per_event(qtbot: QtBot) -> None:
    relay = NaiveRelay()
    bridge = NaiveRelayBridge(relay)
    got: list[Batch] = []
    bridge.batch_ready.connect(got.append)
    bridge.start()
    events: list[Event] = [FlowCreated(1), FlowFinished(1), FlowFinished(1)]

    def emit_all() -> None:
        for event in events:
            relay.emit(event)

    in_thread(emit_all)
    qtbot.waitUntil(lambda: len(got) == 3, timeout=2_000)
    assert [list(batch.changed_ids) for batch in got] == [[1], [1], [1]]
    assert got[0].new_ids == range(1, 2) and not got[1].new_ids
    stats = relay.snapshot()
    assert stats.flow.delivered == 3 and stats.depth == 0 and stats.flushes == 3
    bridge.stop()


def test_naive_bridge_stop_returns_promptly_and_discards_the_backlog(qtbot: QtBot) -> None:
    relay = NaiveRelay()
    bridge = NaiveRelayBridge(relay)
    got: list[Batch] = []
    bridge.batch_ready.connect(got.append)
    bridge.start()

    def flood() -> None:
        for flow_id in range(100_000):
            relay.emit(FlowFinished(flow_id))

    in_thread(flood)
    assert relay.depth == 100_000  # all posted to Qt, none applied yet
    started = time.monotonic()
    bridge.stop()
    assert time.monotonic() - started < 2.0
    qtbot.waitUntil(lambda: relay.depth == 0, timeout=60_000)
    stats = relay.snapshot()
    assert got == [] and stats.flow.dropped == 100_000 and stats.balanced


@pytest.mark.parametrize("naive", [False, True])
def test_the_relay_never_keeps_a_bridge_alive(qtbot: QtBot, naive: bool) -> None:
    # Otherwise the engine thread could drop the last reference and destroy
    # a GUI-thread QObject (and its timer) on the wrong thread.
    relay: Relay | NaiveRelay = NaiveRelay() if naive else Relay()
    bridge = NaiveRelayBridge(relay) if isinstance(relay, NaiveRelay) else RelayBridge(relay)
    bridge.start()
    alive = weakref.ref(bridge)
    del bridge
    gc.collect()
    assert alive() is None
    in_thread(lambda: relay.emit(ProxyStarted("127.0.0.1", 8080)))  # must not raise
    stats = relay.snapshot()
    assert stats.critical.emitted == 1 and stats.balanced


# Pacing: a costly cycle pushes the next drain out, a cheap one brings it back.


def test_paced_interval_bounds() -> None:
    from inspector.gui.relay_bridge import MAX_INTERVAL_MS, PACE, paced_interval

    assert paced_interval(33, 0.0) == 33
    assert paced_interval(33, 0.005) == 33  # cheap: the base
    assert paced_interval(33, 0.040) == round(40 * PACE)
    assert paced_interval(33, 5.0) == MAX_INTERVAL_MS
    assert paced_interval(500, 5.0) == 500  # a base above the cap stays


def test_a_costly_cycle_paces_the_next_drain(qtbot: QtBot, bridge: RelayBridge) -> None:
    relay = bridge.relay
    bridge.batch_ready.connect(lambda batch: time.sleep(0.03))  # a slow consumer
    relay.emit(FlowFinished(1))
    bridge.start()
    qtbot.waitUntil(lambda: relay.snapshot().flushes == 1, timeout=2_000)
    assert bridge.interval_ms >= 80  # three times 30 ms, not the 10 ms base
    bridge.note_paint(0.05)  # a repaint since, reported by the window
    relay.emit(FlowFinished(2))
    qtbot.waitUntil(lambda: relay.snapshot().flushes == 2, timeout=2_000)
    assert bridge.interval_ms >= 230  # (30 + 50 ms) x 3, capped at 250
    bridge.batch_ready.disconnect()
    relay.emit(FlowFinished(3))
    qtbot.waitUntil(lambda: relay.snapshot().flushes == 3, timeout=2_000)
    assert bridge.interval_ms == bridge.base_interval_ms == 10
