"""The window's link to its engine, on the GUI's qasync loop.

``EngineLink`` starts an engine through the launcher it is given, keeps the
protocol client, and turns what arrives into signals: each batch, checked
and decoded, is emitted as it comes (the window applies it at once, so
batches and replies are seen in the order the engine sent them), and the
engine going away unasked is reported once, in words.

The window sets the pace. A batch is acknowledged only after it was
applied and after a wait of ``PACE`` times what applying it and the
repaints since cost the GUI thread (``paced_interval``); until then the
engine sends nothing and coalesces. A busy window thus gets fewer, larger
batches, and a stopped one none, without the engine ever waiting on it.

Signals:
    batch_received(object): a ``RowBatch``.
    lost(str): the engine ended without being asked to, and how.
    started(object): a new engine said hello (its hello message).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.protocol import Message, ProtocolError
from inspector.core.rowbatch import RowBatch, batch_from_wire
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineClient, EngineError
from inspector.link.launcher import EngineHandle, Launcher

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 33
PACE = 6.0
"""Under load the next batch waits this many times what the last one cost
the GUI thread (applying it, and the window's repaints since): the GUI is
then busy at most about a seventh of the time. Measured with the engine on
a thread of this process, where the window's time was also the engine's:
by 3 the proxy served 0.65x headless at 10 connections, by 6 0.83-0.98x
with GUI stalls under 30 ms, by 10 no better."""
CATCH_UP_PACE = 2.0
"""While the engine has more new rows waiting than one batch carries (a
window back from being busy or stopped), a shorter wait, so the table
catches up in about a second instead of several."""
MAX_INTERVAL_MS = 250
"""However costly a batch, the table still refreshes four times a second."""
EXIT_WAIT = 1.0
"""How long to wait for an engine that closed its channel to be reaped."""
MAX_STEP = 1_000_000
"""The most a batch may move ``through`` on: an engine sends at most a few
thousand new rows a batch, and the mirror makes a slot for every id."""


def paced_interval(base_ms: int, cycle_seconds: float, pace: float = PACE) -> int:
    """The wait before the next batch, in ms: ``base_ms`` while a cycle is
    cheap, ``pace`` times its cost when it is not, never past
    ``MAX_INTERVAL_MS`` (nor below ``base_ms``)."""
    wanted = round(cycle_seconds * pace * 1000)
    return max(base_ms, min(wanted, max(MAX_INTERVAL_MS, base_ms)))


class EngineLink(QObject):
    batch_received = Signal(object)
    lost = Signal(str)
    started = Signal(object)

    def __init__(
        self,
        launcher: Launcher,
        tasks: GuiTasks,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._launcher = launcher
        self._tasks = tasks
        self._base_ms = interval_ms
        self.interval_ms = interval_ms
        """The wait before acknowledging now (the base one, or paced)."""
        self.client: EngineClient | None = None
        self.handle: EngineHandle | None = None
        self.hello: Message = {}
        self._leaving = False
        self._painted = 0.0
        self.apply_seconds = 0.0
        """What applying the last batch cost the GUI thread."""
        self._ack_timer = QTimer(self)
        self._ack_timer.setSingleShot(True)
        self._ack_timer.timeout.connect(self._send_ack)
        self._ack_seq = 0
        self._through = 0
        """The highest id the engine has sent rows up to."""

    @property
    def base_interval_ms(self) -> int:
        return self._base_ms

    def set_interval(self, interval_ms: int) -> None:
        self._base_ms = interval_ms

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    async def start(self, first_id: int = 0) -> Message:
        """Start an engine (ids after ``first_id``) and connect; returns its
        hello. Raises ProtocolError or OSError when it cannot be had."""
        self._leaving = False
        handle = self._launcher(first_id)
        self.handle = handle
        client = EngineClient(self._on_batch, name="engine")
        try:
            sock = await handle.channel_socket()
            hello = await client.connect(sock, handle.secret)
        except BaseException:
            client.close("start failed")
            handle.terminate(0.5)
            raise
        self.client = client
        self.hello = hello
        first = hello.get("first_id")
        self._through = first - 1 if type(first) is int and first > 0 else 0
        client.closed.add_done_callback(functools.partial(self._on_closed, client))
        self.started.emit(hello)
        return hello

    async def request(self, op: str, **args: Any) -> Any:
        """Ask the engine; EngineError when it refuses, ChannelClosed when
        there is no engine to ask."""
        client = self.client
        if client is None or not client.connected:
            raise ChannelClosed("the engine is not running")
        return await client.request(op, **args)

    def note_paint(self, seconds: float) -> None:
        """A repaint of the window took ``seconds`` (counts towards the pace)."""
        self._painted += seconds

    async def shutdown(self, timeout: float = 2.0) -> None:
        """Ask the engine to stop, wait for it (bounded), make sure it is gone."""
        self._leaving = True
        self._ack_timer.stop()
        client, handle = self.client, self.handle
        if client is not None and client.connected:
            with contextlib.suppress(EngineError, ChannelClosed, TimeoutError):
                await asyncio.wait_for(client.request("shutdown"), timeout)
            client.close("the window is closing")
        if handle is not None:
            handle.terminate(timeout)

    # Incoming

    def _on_batch(self, message: Message) -> None:
        batch = batch_from_wire(message)  # ProtocolError closes the channel
        if batch.through - self._through > MAX_STEP:
            raise ProtocolError(f"a batch jumps to flow {batch.through} from {self._through}")
        self._through = max(self._through, batch.through, batch.cleared_through)
        started = time.perf_counter()
        try:
            self.batch_received.emit(batch)
        finally:
            self.apply_seconds = time.perf_counter() - started
            self._schedule_ack(batch)

    def _schedule_ack(self, batch: RowBatch) -> None:
        cycle, self._painted = self.apply_seconds + self._painted, 0.0
        behind = batch.store is not None and batch.through < batch.store.last_id
        self.interval_ms = paced_interval(self._base_ms, cycle, CATCH_UP_PACE if behind else PACE)
        self._ack_seq = batch.seq
        # The engine's own tick is the base interval: only what pacing
        # adds to it is waited here.
        self._ack_timer.start(max(self.interval_ms - self._base_ms, 0))

    def _send_ack(self) -> None:
        if self.client is not None:
            self.client.ack(self._ack_seq)

    def _on_closed(self, client: EngineClient, _closed: object) -> None:
        if client is not self.client or self._leaving:
            return
        self._tasks.spawn(self._report_lost(client.close_reason), "Reporting the engine's end")

    async def _report_lost(self, reason: str) -> None:
        handle = self.handle
        description = ""
        if handle is not None:
            await handle.wait(EXIT_WAIT)
            description = handle.exit_description()
            if description == "still running":
                # The channel broke but the process lives on: end it, since
                # nothing can reach it any more.
                log.warning("engine channel closed (%s); stopping the engine", reason)
                description = reason
            # Ended or not, let go of it: its standard input pipe (or its
            # thread's loop) would otherwise stay open until collected.
            handle.terminate(1.0)
        self.lost.emit(description or reason)
