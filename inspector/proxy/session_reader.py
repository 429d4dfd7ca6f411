"""A session file opened to look at: its flows loaded into the store, a
chunk at a time, while the window already shows the first ones.

The file is opened read-only (it may be recorded to right now, or its
recorder may have been killed); everything that touches it runs on a
thread of its own. Flows are loaded without their bodies, which are read
back from the file when a window asks (``read_bodies``), so opening a
large session costs its heads, not its bodies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Iterator
from pathlib import Path

from inspector.core.flow import Flow
from inspector.core.session import REQUEST, RESPONSE, Session
from inspector.core.store import FlowStore

log = logging.getLogger(__name__)

CHUNK = 2000
"""Flows read from the file at a time (the window's first screen needs
far fewer; the loop gets a turn between chunks)."""


class SessionReader:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.loaded = 0
        self.done = False
        self.failed = ""
        self._thread = concurrent.futures.ThreadPoolExecutor(1, "session-reader")
        self._flows: Iterator[Flow] | None = None

    @classmethod
    def open(cls, path: Path) -> SessionReader:
        """Raises SessionError (``core.session``)."""
        return cls(Session.open(path))

    @property
    def path(self) -> Path:
        return self.session.path

    async def load(self, store: FlowStore) -> None:
        """Put every flow of the file in ``store``, a chunk at a time."""
        loop = asyncio.get_running_loop()
        store.disk_backed = True
        self._flows = self.session.flows(bodies=False)
        try:
            while True:
                chunk, failed = await loop.run_in_executor(self._thread, self._next_chunk)
                for flow in chunk:
                    store.adopt(flow)
                self.loaded += len(chunk)
                if failed:
                    # A damaged file: what came before the damage is shown.
                    self.failed = failed
                    log.error("reading the session %s stopped: %s", self.path, failed)
                    return
                if not chunk:
                    return
        finally:
            self.done = True

    def _next_chunk(self) -> tuple[list[Flow], str]:
        """The next flows, and why reading stopped if it did."""
        assert self._flows is not None
        chunk: list[Flow] = []
        try:
            for flow in self._flows:
                chunk.append(flow)
                if len(chunk) >= CHUNK:
                    break
        except Exception as exc:  # SessionError, sqlite3.Error: a damaged file
            return chunk, str(exc)
        return chunk, ""

    async def read_bodies(self, flow_id: int) -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, self._bodies, flow_id)
        except Exception as exc:  # sqlite3.Error, SessionError
            log.error("reading flow %d from the session %s failed: %s", flow_id, self.path, exc)
            return b"", b""

    def _bodies(self, flow_id: int) -> tuple[bytes, bytes]:
        return self.session.body(flow_id, REQUEST), self.session.body(flow_id, RESPONSE)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self.session.close)
        self._thread.shutdown(wait=True)
