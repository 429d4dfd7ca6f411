"""The flight recorder: finished flows go to the session file as they end.

The request path only appends a finished flow to a list (``settled``).
Every ``INTERVAL`` the writer encodes what gathered (``core.session.record``:
a few microseconds a flow, no compressing) and hands it to the session
writer's own process (``session_process``), which compresses, commits and
acknowledges. So the engine's interpreter pays for neither the compressing
nor the disk, a crash of the engine loses at most the flows of the last
interval (what was handed over is committed by the other process), and a
finished flow no longer changes, so encoding it later reads it as it was.

Deletes and clears go through the same pipe, in order with the writes.
Bodies over the store's memory limit leave memory once the file holds
them (``attach``) and are read back from it (``read_bodies``: a
``SessionReader`` of the file, on a thread of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any

from inspector.core import protocol
from inspector.core.flow import Flow
from inspector.core.protocol import FrameReader, ProtocolError
from inspector.core.session import Session, SessionError, record
from inspector.core.store import FlowStore
from inspector.proxy.session_process import COMMAND
from inspector.proxy.session_reader import SessionReader

log = logging.getLogger(__name__)

INTERVAL = 0.25
BATCH = 2000
"""Flows a write message holds at most."""
CLOSE_WAIT = 30.0
"""How long the writer process gets to commit the rest at shutdown."""


def writer_command(path: Path, max_bytes: int) -> list[str]:
    """The session writer process: the frozen executable itself, or this
    interpreter with the package."""
    args = [COMMAND, str(path), str(max_bytes)]
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "inspector", *args]


class SessionWriter:
    def __init__(self, path: Path, max_bytes: int, last_id: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.last_id = last_id
        """The highest flow id the file held when opened (new flows follow)."""
        self.store: FlowStore | None = None
        self.written = 0
        self.failed = ""
        """Why recording stopped (the writer process failed, a full disk), if it did."""
        self._pending: list[Flow] = []
        self._sent: dict[int, list[Flow]] = {}
        """Batches handed over and not yet acknowledged, by sequence number."""
        self._acked: dict[int, asyncio.Future[None]] = {}
        self._seq = 0
        self._acked_through = 0
        self._process: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._meta: dict[str, str] = {}
        """What the file's meta table is to hold, sent again on start."""
        self._reads: SessionReader | None = None
        """The file opened read-only, for bodies that left memory."""
        self._answers = FrameReader()
        self._closed = False

    @classmethod
    def open(cls, path: Path, max_bytes: int) -> SessionWriter:
        """Continue ``path`` if it is a session, else create it. Raises
        SessionError (or OSError); ``start`` begins writing."""
        session = Session.open(path, writable=True) if path.exists() else Session.create(path)
        with session:
            last_id = session.last_id()
        return cls(path, max_bytes, last_id)

    def attach(self, store: FlowStore) -> None:
        """Back ``store``'s bodies with the file: past its memory limit they
        leave memory once written, instead of being dropped."""
        self.store = store
        store.disk_backed = True

    def settled(self, flow: Flow) -> None:
        """A flow is over (the recorder's hook): write it soon."""
        self._pending.append(flow)

    async def start(self) -> None:
        """Start the writer process, and the regular hand-over."""
        self._process = await asyncio.create_subprocess_exec(
            *writer_command(self.path, self.max_bytes),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        loop = asyncio.get_running_loop()
        try:
            self._reads = await loop.run_in_executor(None, SessionReader.open, self.path)
        except SessionError as exc:
            log.error("bodies cannot be read back from %s: %s", self.path, exc)
        self._tasks = [
            loop.create_task(self._run(), name="session writer"),
            loop.create_task(self._acks(), name="session acks"),
        ]
        for key, value in self._meta.items():
            await self._send({"t": "meta", "key": key, "value": value})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self._hand_over()

    async def _hand_over(self) -> int | None:
        """Send what gathered; the last sequence number sent, if any."""
        if self.failed:
            self._pending.clear()
            return None
        if not self._pending or self._closed:
            return None
        batch, self._pending = self._pending, []
        last = None
        for start in range(0, len(batch), BATCH):
            part = batch[start : start + BATCH]
            records = [record(flow) for flow in part]
            last = await self._send({"t": "write", "records": records}, part)
        return last

    async def flush(self) -> None:
        """Hand over what gathered and wait until the file holds it."""
        await self._done(await self._hand_over())

    async def delete(self, ids: list[int]) -> None:
        """Remove flows from the file (after what was handed over before)."""
        await self._hand_over()
        await self._done(await self._send({"t": "delete", "ids": ids}))

    async def clear(self, through: int) -> None:
        """Remove every flow up to ``through`` from the file."""
        self._pending.clear()
        await self._done(await self._send({"t": "clear", "through": through}))

    def set_limit(self, max_bytes: int) -> None:
        if max_bytes != self.max_bytes:
            self.max_bytes = max_bytes
            # Held with the other tasks: a task nobody holds may be collected.
            self._tasks.append(
                asyncio.get_running_loop().create_task(
                    self._send({"t": "limit", "bytes": max_bytes}), name="session limit"
                )
            )

    def set_meta(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` in the file (the rules in effect);
        before the writer process runs, once it starts."""
        self._meta[key] = value
        if self._process is None or self.failed:
            return
        self._tasks.append(
            asyncio.get_running_loop().create_task(
                self._send({"t": "meta", "key": key, "value": value}), name="session meta"
            )
        )

    async def _done(self, seq: int | None) -> None:
        """Wait until the writer process has done message ``seq``."""
        if seq is None or self.failed or seq <= self._acked_through:
            return
        done = self._acked.setdefault(seq, asyncio.get_running_loop().create_future())
        await asyncio.shield(done)

    async def _send(self, message: protocol.Message, batch: list[Flow] | None = None) -> int | None:
        """Number ``message`` and send it; its sequence number (None when
        recording has stopped)."""
        process = self._process
        if process is None or process.stdin is None or self.failed:
            return None
        self._seq += 1
        seq = message["seq"] = self._seq
        if batch is not None:
            self._sent[seq] = batch
        try:
            process.stdin.write(protocol.encode(message))
            await process.stdin.drain()
        except (ConnectionError, ProtocolError, RuntimeError) as exc:
            self._fail(f"the session writer stopped taking flows: {exc}")
            return None
        return seq

    async def _acks(self) -> None:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        try:
            while data := await process.stdout.read(65536):
                for message in self._answers.feed(data):
                    self._acknowledged(protocol.field(message, "seq", int))
        except ProtocolError as exc:
            self._fail(f"the session writer answered nonsense: {exc}")
            return
        if not self._closed:
            code = await process.wait()
            self._fail(f"the session writer process ended (status {code})")

    def _acknowledged(self, seq: int) -> None:
        self._acked_through = max(self._acked_through, seq)
        for done_seq in sorted(s for s in self._sent if s <= seq):
            batch = self._sent.pop(done_seq)
            self.written += len(batch)
            if self.store is not None:
                self.store.recorded(batch)
        for waiting_seq in [s for s in self._acked if s <= seq]:
            future = self._acked.pop(waiting_seq)
            if not future.done():
                future.set_result(None)

    def _fail(self, why: str) -> None:
        if not self.failed:
            log.error("recording to %s stopped: %s", self.path, why)
            self.failed = why
        self._pending.clear()
        for future in self._acked.values():
            if not future.done():
                future.set_result(None)
        self._acked.clear()

    async def read_bodies(self, flow_id: int) -> tuple[bytes, bytes]:
        """A flow's request and response bodies, from the file (what left
        memory); empty when the file cannot give them."""
        if self._reads is None:
            return b"", b""
        return await self._reads.read_bodies(flow_id)

    async def close(self) -> None:
        """Hand over what is left, let the writer process commit it and end."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._hand_over()
        self._closed = True
        process = self._process
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                # The rest of the acknowledgements, then its end.
                if process.stdout is not None:
                    rest = await asyncio.wait_for(process.stdout.read(), CLOSE_WAIT)
                    for message in self._answers.feed(rest) if rest else []:
                        self._acknowledged(protocol.field(message, "seq", int))
                await asyncio.wait_for(process.wait(), CLOSE_WAIT)
            except (TimeoutError, ProtocolError) as exc:
                self._fail(f"the session writer did not finish: {exc!r}")
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
            if process.returncode not in (0, None) and not self.failed:
                self._fail(f"the session writer process ended (status {process.returncode})")
        if self._reads is not None:
            await self._reads.close()
