"""The flight recorder: finished flows go to the session file as they end.

Bodies over the store's memory limit leave memory once the file holds
them (``attach``) and are read back from it (``read_bodies``).

The request path only appends a finished flow to a list (``settled``);
every ``INTERVAL`` the writer hands what gathered to a thread of its own,
which encodes, compresses and commits it in one transaction, so a crash
loses at most the flows of the last interval and the engine's loop pays
for neither the encoding nor the disk. A finished flow no longer changes
(its recorder is done with it), so the thread can read it as it is.

Deletes and clears go through the same thread, in order with the writes.
Past ``max_bytes`` the oldest flows leave the file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from pathlib import Path

from inspector.core.flow import Flow
from inspector.core.session import REQUEST, RESPONSE, Session
from inspector.core.store import FlowStore

log = logging.getLogger(__name__)

INTERVAL = 0.25
TRIM_STEP = 0.02
"""The share of the file's flows removed at a time when over its cap."""


class SessionWriter:
    def __init__(self, session: Session, max_bytes: int) -> None:
        self.session = session
        self.store: FlowStore | None = None
        """Told which flows are in the file, so their bodies may leave
        memory (``attach``)."""
        self.max_bytes = max_bytes
        self.written = 0
        self.failed = ""
        """Why the last write failed (disk full, the file removed), if one did."""
        self._pending: list[Flow] = []
        self._thread = concurrent.futures.ThreadPoolExecutor(1, "session-writer")
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def open(cls, path: Path, max_bytes: int) -> SessionWriter:
        """Continue ``path`` if it is a session, else create it. Raises
        SessionError (or OSError)."""
        session = Session.open(path, writable=True) if path.exists() else Session.create(path)
        return cls(session, max_bytes)

    @property
    def path(self) -> Path:
        return self.session.path

    def attach(self, store: FlowStore) -> None:
        """Back ``store``'s bodies with the file: past its memory limit they
        leave memory once written, instead of being dropped."""
        self.store = store
        store.disk_backed = True

    def settled(self, flow: Flow) -> None:
        """A flow is over (the recorder's hook): write it soon."""
        self._pending.append(flow)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="session writer")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self.flush()

    async def flush(self) -> None:
        """Write what gathered; returns once it is committed."""
        if not self._pending or self._closed:
            return
        batch, self._pending = self._pending, []
        if await self._call(self._write, batch) and self.store is not None:
            self.store.recorded(batch)

    def _write(self, batch: list[Flow]) -> None:
        self.written += self.session.write(batch)
        if self.session.size() > self.max_bytes:
            self._trim()

    def _trim(self) -> None:
        session = self.session
        while session.size() > self.max_bytes:
            count = max(1, int(session.info().flows * TRIM_STEP))
            oldest = session.oldest_ids(count)
            if not oldest:
                return
            session.delete(oldest)

    async def delete(self, ids: list[int]) -> None:
        await self.flush()
        await self._call(self.session.delete, ids)

    async def clear(self, through: int) -> None:
        self._pending.clear()
        await self._call(self.session.delete_through, through)

    async def read_bodies(self, flow_id: int) -> tuple[bytes, bytes]:
        """A flow's request and response bodies, from the file (what left
        memory); empty when the file cannot give them."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, self._bodies, flow_id)
        except Exception as exc:  # sqlite3.Error, SessionError: say it, answer empty
            log.error("reading flow %d from the session %s failed: %s", flow_id, self.path, exc)
            return b"", b""

    def _bodies(self, flow_id: int) -> tuple[bytes, bytes]:
        return self.session.body(flow_id, REQUEST), self.session.body(flow_id, RESPONSE)

    async def _call(self, work: Callable[..., None], *args: object) -> bool:
        """Run ``work`` on the writer's thread; False (said once) when it failed."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._thread, work, *args)
        except Exception as exc:  # sqlite3.Error, SessionError, OSError (a full disk)
            if not self.failed:
                log.error("writing the session %s failed: %s", self.path, exc)
            self.failed = f"{type(exc).__name__}: {exc}"
            return False
        return True

    async def close(self) -> None:
        """Write what is left and close the file."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self.session.close)
        self._thread.shutdown(wait=True)
