"""The window's link to its engine, on a qasync loop: pacing (a table of
``paced_interval``, and the wait a batch's cost buys), acknowledgements
sent only after a batch was applied (with a real in-process engine), and
an engine that is refused, lost or shut down."""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from inspector import engine
from inspector.core import protocol
from inspector.core.protocol import Message, ProtocolError
from inspector.core.rowbatch import RowBatch, StoreCounters
from inspector.gui.engine_link import (
    CATCH_UP_PACE,
    MAX_INTERVAL_MS,
    MAX_STEP,
    PACE,
    EngineLink,
    paced_interval,
)
from inspector.gui.tasks import ErrorReporter, GuiTasks
from inspector.link.channel import ChannelClosed, FrameChannel, open_channel
from inspector.proxy.host import EngineHost
from inspector.proxy.service import CREDIT
from tests.proxy.engine_pair import TIMEOUT, until
from tests.proxy.harness import Client, Origin


@pytest.mark.parametrize(
    ("base", "cycle", "pace", "expected"),
    [
        (33, 0.0, PACE, 33),  # a cheap cycle: the base interval
        (33, 0.005, PACE, 33),  # 30 ms paced is still under the base
        (33, 0.01, PACE, 60),
        (33, 0.02, PACE, 120),
        (33, 0.04, PACE, 240),
        (33, 0.05, PACE, MAX_INTERVAL_MS),  # capped: four refreshes a second
        (33, 10.0, PACE, MAX_INTERVAL_MS),
        (33, 0.05, CATCH_UP_PACE, 100),  # catching up: a shorter wait
        (33, 0.2, CATCH_UP_PACE, MAX_INTERVAL_MS),
        (500, 0.0, PACE, 500),  # a base above the cap stays the floor
        (500, 0.2, PACE, 500),
        (500, 1.0, PACE, 500),
        (0, 0.0, PACE, 0),
        (16, 0.0041, PACE, 25),  # rounded to whole ms
    ],
)
def test_paced_interval(base: int, cycle: float, pace: float, expected: int) -> None:
    assert paced_interval(base, cycle, pace) == expected


def _qasync(qapp: QApplication, scenario: Callable[[], Awaitable[None]]) -> None:
    try:
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            runner.run(scenario())
    finally:
        gc.collect()


def _tasks() -> GuiTasks:
    reporter = ErrorReporter(show_dialogs=False)
    reporter.reported.connect(lambda text: pytest.fail(f"reported: {text}"))
    return GuiTasks(reporter)


def test_the_wait_before_an_ack_follows_the_cost_of_a_batch(qapp: QApplication) -> None:
    link = EngineLink(lambda first: pytest.fail("no engine here"), _tasks(), interval_ms=33)
    fresh = RowBatch(seq=4, through=10, store=StoreCounters(last_id=10))
    link.apply_seconds = 0.02
    link._schedule_ack(fresh)
    assert link.interval_ms == 120
    assert link._ack_timer.interval() == 120 - 33  # the engine's own tick covers the base
    link.note_paint(0.01)
    link.note_paint(0.01)
    link._schedule_ack(fresh)
    assert link.interval_ms == paced_interval(33, 0.04, PACE) == 240
    link._schedule_ack(fresh)  # the paint time counts once
    assert link.interval_ms == 120
    behind = RowBatch(seq=5, through=10, store=StoreCounters(last_id=50_000))
    link._schedule_ack(behind)
    assert link.interval_ms == paced_interval(33, 0.02, CATCH_UP_PACE) == 40
    link.apply_seconds = 0.0
    link._schedule_ack(fresh)
    assert link.interval_ms == 33 and link._ack_timer.interval() == 0
    link.set_interval(100)
    assert link.base_interval_ms == 100
    link._ack_timer.stop()


def test_a_batch_that_jumps_too_far_ahead_is_refused(qapp: QApplication) -> None:
    """Every id gets a slot in the mirror: an engine claiming to have sent
    rows a billion ids ahead would make the window allocate for them all."""
    link = EngineLink(lambda first: pytest.fail("no engine here"), _tasks())
    message = {
        "t": "batch",
        "seq": 1,
        "rows": [],
        "critical": [],
        "low": [],
        "resync": False,
        "deleted": [],
        "cleared_through": 0,
        "dropped_through": 0,
    }
    link._on_batch({**message, "through": 5_000})
    with pytest.raises(ProtocolError, match="jumps"):
        link._on_batch({**message, "seq": 2, "through": 5_000 + MAX_STEP + 1})
    link._ack_timer.stop()


def test_each_ack_follows_the_batch_it_acknowledges(qapp: QApplication, tmp_path: Path) -> None:
    """With a real engine on this loop: every ack names a batch already
    applied (the newest), and the engine sends the next one only then."""

    async def scenario() -> None:
        launch = engine.launcher(engine.EngineOptions(tmp_path / "conf"), "qasync")
        link = EngineLink(launch, _tasks(), interval_ms=10)
        events: list[tuple[str, int]] = []

        def applied(batch: RowBatch) -> None:
            events.append(("applied", batch.seq))
            if batch.seq % 3 == 0:
                spin = time.perf_counter() + 0.01  # a costly apply, now and then
                while time.perf_counter() < spin:
                    pass

        link.batch_received.connect(applied)
        hello = await link.start()
        assert hello["v"] == protocol.VERSION and link.connected
        client = link.client
        assert client is not None
        send_ack = client.ack
        client.ack = lambda seq: (events.append(("ack", seq)), send_ack(seq))  # type: ignore[method-assign,func-returns-value]

        port = int((await link.request("start"))["address"].rsplit(":", 1)[1])
        async with Origin() as origin:
            web = await Client.connect(port)
            for i in range(30):
                await web.request("GET", f"{origin.base}/{i}")
            web.close()
        await until(lambda: sum(1 for kind, _ in events if kind == "ack") >= 10)
        await link.shutdown(TIMEOUT)

        applied_so_far: list[int] = []
        acked = 0
        for kind, seq in events:
            if kind == "applied":
                assert seq == len(applied_so_far) + 1, "batches in order, one after another"
                assert acked >= seq - CREDIT, "the engine waited for an ack before sending"
                applied_so_far.append(seq)
            else:
                assert seq == applied_so_far[-1], "an ack names the batch just applied"
                acked = seq

    _qasync(qapp, scenario)


class FakeHandle:
    """An engine handle whose engine is a scripted channel on this loop."""

    def __init__(self, secret: str = "s3cret", description: str = "killed by SIGKILL") -> None:
        self.secret = secret
        self.description = description
        self.terminated: list[float] = []
        self.received: list[Message] = []
        self.engine: FrameChannel | None = None
        self._window_end: socket.socket | None = None

    @property
    def pid(self) -> int:
        return 4242

    async def open(self, hello_secret: str | None = None) -> None:
        self._window_end, engine_end = socket.socketpair()
        self.engine = await open_channel(engine_end, self._on_message, "fake engine")
        self.engine.send(
            {"t": "hello", "v": protocol.VERSION, "secret": hello_secret or self.secret}
        )

    def _on_message(self, message: Message) -> None:
        self.received.append(message)
        if message["t"] == "req":
            assert self.engine is not None
            self.engine.send({"t": "reply", "id": message["id"], "ok": True, "result": {}})
            if message["op"] == "shutdown":
                asyncio.get_running_loop().call_soon(self.engine.close, "shut down")

    async def channel_socket(self) -> socket.socket:
        assert self._window_end is not None
        return self._window_end

    def exit_description(self) -> str:
        return self.description

    async def wait(self, timeout: float) -> None:
        return None

    def terminate(self, timeout: float = 2.0) -> None:
        self.terminated.append(timeout)


def _link(handle: FakeHandle | Callable[[int], Any]) -> tuple[EngineLink, list[str]]:
    launch = handle if callable(handle) else lambda first_id: handle
    link = EngineLink(launch, _tasks())
    lost: list[str] = []
    link.lost.connect(lost.append)
    return link, lost


@pytest.mark.parametrize(
    ("description", "reported"),
    [
        ("killed by SIGKILL", "killed by SIGKILL"),
        ("exited with status 1", "exited with status 1"),
        ("still running", "the other end closed the channel"),
    ],
)
def test_a_lost_engine_is_reported_once_in_words(
    qapp: QApplication, description: str, reported: str
) -> None:
    async def scenario() -> None:
        handle = FakeHandle(description=description)
        await handle.open()
        link, lost = _link(handle)
        started: list[Any] = []
        link.started.connect(started.append)
        await link.start()
        assert started and started[0]["secret"] == handle.secret
        handle.engine.close("gone")  # type: ignore[union-attr]
        await until(lambda: bool(lost))
        await asyncio.sleep(0.05)
        assert lost == [reported]
        # Ended or still running, the handle is let go of (a process that
        # still runs is stopped: nothing reaches it any more).
        assert handle.terminated == [1.0]
        assert not link.connected
        with pytest.raises(ChannelClosed, match="not running"):
            await link.request("ping")

    _qasync(qapp, scenario)


def test_an_engine_with_the_wrong_secret_is_refused_and_ended(qapp: QApplication) -> None:
    async def scenario() -> None:
        handle = FakeHandle()
        await handle.open(hello_secret="an impostor")
        link, lost = _link(handle)
        with pytest.raises(ProtocolError, match="expected secret"):
            await link.start()
        assert handle.terminated and link.client is None and not link.connected
        await asyncio.wait_for(handle.engine.closed, TIMEOUT)  # type: ignore[union-attr]
        assert lost == []

    _qasync(qapp, scenario)


def test_shutdown_asks_the_engine_and_is_not_a_loss(qapp: QApplication) -> None:
    async def scenario() -> None:
        handle = FakeHandle()
        await handle.open()
        link, lost = _link(handle)
        await link.start()
        await link.shutdown(timeout=TIMEOUT)
        assert [m["op"] for m in handle.received if m["t"] == "req"] == ["shutdown"]
        assert handle.terminated == [TIMEOUT]
        await asyncio.sleep(0.05)
        assert lost == [] and not link.connected

    _qasync(qapp, scenario)


def test_an_engine_thread_that_failed_is_reported_and_its_thread_stopped(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread layout: an engine whose serve raised is described as
    failed, and letting go of it stops its thread instead of raising its
    failure again."""
    hosts: list[EngineHost] = []

    async def failing_serve(sock: socket.socket, secret: str, options: object) -> None:
        asked = asyncio.Event()
        channel = await open_channel(sock, lambda message: asked.set(), "window channel")
        channel.send({"t": "hello", "v": protocol.VERSION, "secret": secret})
        await asked.wait()
        channel.close("failing")
        raise RuntimeError("the engine broke")

    def launch(first_id: int) -> engine.InProcessEngine:
        hosts.append(EngineHost())
        return engine.InProcessEngine(engine.EngineOptions(tmp_path), hosts[-1])

    monkeypatch.setattr(engine, "serve", failing_serve)

    async def scenario() -> None:
        link, lost = _link(launch)  # type: ignore[arg-type]
        await link.start()
        with pytest.raises(ChannelClosed):
            await link.request("ping")
        await until(lambda: bool(lost))
        assert lost == ["failed: RuntimeError('the engine broke')"]
        assert not hosts[0].running

    _qasync(qapp, scenario)
