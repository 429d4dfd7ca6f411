"""A byte stream over an asyncio transport, with flow control both ways.

The engine does all its I/O through ``Stream``: ``read``, ``write``,
``drain``, ``close`` and ``abort``. It is an ``asyncio.Protocol`` rather than
a StreamReader/StreamWriter pair because the engine needs what those hide:
how many bytes are buffered (a pooled connection that received stray bytes
while idle must not be reused), a way to wait for data without consuming it
(100-continue races), and a hard abort. TLS layers a sans-IO ``SSLObject``
over the same interface.

Read flow control: once more than ``HIGH_WATER`` bytes are buffered unread
the transport stops reading, so a fast sender cannot fill memory. Write flow
control: ``drain`` waits while the transport says its buffer is full.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

HIGH_WATER = 256 * 1024
READ_SIZE = 64 * 1024
RELAY_READ = 256 * 1024
"""What a relay (a tunnel, a WebSocket) reads at a time: whatever the
transport delivered, whole, where parsing HTTP takes smaller bites."""


class StreamClosed(ConnectionError):
    """The peer went away, or the stream was closed locally."""


class ByteStream(Protocol):
    """What the engine needs of a connection: a TCP ``Stream``, or a
    ``TlsStream`` layered over one."""

    peername: tuple[str, int]
    sockname: tuple[str, int]

    @property
    def buffered(self) -> int: ...
    @property
    def at_eof(self) -> bool: ...
    @property
    def is_closing(self) -> bool: ...
    async def wait_readable(self, deadline: float | None = None) -> None: ...
    async def read(self, max_bytes: int = READ_SIZE, deadline: float | None = None) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    async def drain(self) -> None: ...
    async def send(self, data: bytes) -> None: ...
    def write_eof(self) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class Stream(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Handle | None = None
        self._timer_when = 0.0
        self.on_hangup: Callable[[], None] | None = None
        """Called when the peer closes or the connection is lost: lets an
        exchange waiting on something else (the upstream) notice at once."""
        self._deadline: float | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._lost = False
        self._lost_exc: BaseException | None = None
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self.peername: tuple[str, int] = ("", 0)
        self.sockname: tuple[str, int] = ("", 0)

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not asserted to be an asyncio.Transport: uvloop's are not subclasses.
        self.transport = cast(asyncio.Transport, transport)
        self._loop = asyncio.get_running_loop()
        peer = transport.get_extra_info("peername")
        if peer:
            self.peername = (peer[0], peer[1])
        sock = transport.get_extra_info("sockname")
        if sock:
            self.sockname = (sock[0], sock[1])

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and not self._read_paused and self.transport:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        if self.on_hangup is not None:
            self.on_hangup()
        # Keep the transport open so a half-closed peer can still be written to.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.on_hangup is not None:
            self.on_hangup()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._eof = True
        self._lost = True
        self._lost_exc = exc
        self._wake_reader()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_reader(self) -> None:
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # The stream interface

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read."""
        return self._buffered

    @property
    def at_eof(self) -> bool:
        """The peer closed its side and everything it sent has been read."""
        return self._eof and not self._chunks

    @property
    def is_closing(self) -> bool:
        return self._lost or self.transport is None or self.transport.is_closing()

    async def wait_readable(self, deadline: float | None = None) -> None:
        """Return once data is buffered or the peer closed; TimeoutError
        once the loop clock passes ``deadline``.

        The timer exists only while actually waiting: most reads find data
        already buffered, and an ``asyncio.timeout()`` around every read
        cost several microseconds per request on the hot path.
        """
        while not self._chunks and not self._eof:
            loop = self._loop or asyncio.get_running_loop()
            waiter = loop.create_future()
            self._read_waiter = waiter
            if deadline is not None:
                self._arm(loop, deadline)
            try:
                await waiter
            finally:
                self._deadline = None
                # A cancelled waiter may unwind after a new one was set.
                if self._read_waiter is waiter:
                    self._read_waiter = None

    def _arm(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Make the current wait fail at ``deadline``.

        One timer per stream is reused across waits: deadlines mostly move
        later (each request resets the idle clock), so a timer that fires
        early just re-arms itself once, instead of every wait scheduling and
        cancelling a timer of its own.
        """
        self._deadline = deadline
        # The firing time is kept here: qasync's call_at returns a plain
        # Handle without when().
        if self._timer is None or self._timer_when > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
            self._timer_when = deadline

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._loop is None:
            return
        if self._loop.time() >= deadline:
            waiter = self._read_waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(TimeoutError())
        else:
            self._timer = self._loop.call_at(deadline, self._on_timer)
            self._timer_when = deadline

    def peek(self) -> bytes:
        """Everything buffered, without consuming it."""
        if len(self._chunks) > 1:
            joined = b"".join(self._chunks)
            self._chunks.clear()
            self._chunks.append(joined)
        return self._chunks[0] if self._chunks else b""

    def unread(self, data: bytes) -> None:
        """Put ``data`` back in front of the buffer (bytes a parser read
        ahead, such as a ClientHello sent in the same write as CONNECT)."""
        if data:
            self._chunks.appendleft(bytes(data))
            self._buffered += len(data)

    async def read(self, max_bytes: int = READ_SIZE, deadline: float | None = None) -> bytes:
        """Up to ``max_bytes`` bytes; ``b""`` once the peer has closed;
        TimeoutError when nothing arrives before ``deadline`` (loop time)."""
        if not self._chunks:
            if self._eof:
                return b""
            await self.wait_readable(deadline)
            if not self._chunks:
                return b""
        chunk = self._chunks.popleft()
        if len(chunk) > max_bytes:
            self._chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self._buffered -= len(chunk)
        if self._read_paused and self._buffered <= HIGH_WATER // 4 and self.transport:
            self._read_paused = False
            self.transport.resume_reading()
        return chunk

    def read_nowait(self) -> bytes:
        """The oldest chunk received, whole, or ``b""`` when none is
        buffered (a TLS layer feeding its decoder without waiting)."""
        if not self._chunks:
            return b""
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._read_paused and self._buffered <= HIGH_WATER // 4 and self.transport:
            self._read_paused = False
            self.transport.resume_reading()
        return chunk

    def write(self, data: bytes) -> None:
        # A transport that is closing (aborted, or failed a send) drops what
        # it is given and, past a few writes, logs a warning for each.
        if self._lost or self.transport is None or self.transport.is_closing():
            raise StreamClosed(self._lost_reason())
        self.transport.write(data)

    async def drain(self) -> None:
        if self._lost:
            raise StreamClosed(self._lost_reason())
        while self._write_paused and not self._lost:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiter = waiter
            try:
                await waiter
            finally:
                if self._drain_waiter is waiter:
                    self._drain_waiter = None
        if self._lost:
            raise StreamClosed(self._lost_reason())

    async def send(self, data: bytes) -> None:
        """Write and wait for room in the transport buffer."""
        self.write(data)
        if self._write_paused:
            await self.drain()

    def write_eof(self) -> None:
        """Half-close: tell the peer nothing more will be written.

        A peer already gone needs no telling. Having seen the peer's FIN,
        asyncio stops reading, so a reset that follows (the peer closed and
        then received more bytes) goes unnoticed until the shutdown fails
        with ENOTCONN; the connection is then aborted, not reported.
        """
        transport = self.transport
        if transport is None or transport.is_closing() or not transport.can_write_eof():
            return
        try:
            transport.write_eof()
        except OSError:
            transport.abort()

    def close(self) -> None:
        """Close after flushing what was written."""
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Close at once, discarding unsent data (a TCP reset where possible)."""
        if self.transport is not None:
            self.transport.abort()

    def _lost_reason(self) -> str:
        if self._lost_exc is not None:
            return f"connection lost: {self._lost_exc}"
        return "connection closed"
