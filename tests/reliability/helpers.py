"""Tools for the reliability battery: an origin that misbehaves on cue, raw
exchanges with the proxy, and a check that a scenario leaked nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import h11

from tests.proxy.harness import Answer, Proxy

STATUS_LINE = re.compile(rb"HTTP/1\.[01] [1-5][0-9][0-9] [^\r\n]*\r\n")

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""What a RawOrigin does with one connection."""


class RawOrigin:
    """An origin on 127.0.0.1 port 0 that runs ``script`` on every
    connection: for answers no well-behaved server would send. The
    connection is aborted when the script returns."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.received: list[bytes] = []
        """Request heads scripts recorded with ``read_head``."""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def __aenter__(self) -> RawOrigin:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.sleep(0)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def read_head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.received.append(head)
        return head

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset rather than an orderly FIN."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def until_peer_closes(reader: asyncio.StreamReader) -> None:
    """Wait, reading and discarding, until the other side closes."""
    while await reader.read(65536):
        pass


async def exchange(port: int, data: bytes | list[bytes], timeout: float = 10.0) -> bytes:
    """Send ``data`` (a list is sent one write at a time, yielding between
    writes) on a fresh connection; return all the proxy sent back until it
    closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for piece in [data] if isinstance(data, bytes) else data:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0)
        chunks = []
        async with asyncio.timeout(timeout):
            with contextlib.suppress(ConnectionResetError):
                while chunk := await reader.read(65536):
                    chunks.append(chunk)
        return b"".join(chunks)
    finally:
        writer.transport.abort()


def parse_responses(raw: bytes, methods: list[str]) -> list[Answer]:
    """The complete responses in ``raw``, answering requests made with
    ``methods`` in order (HEAD answers have no body)."""
    conn = h11.Connection(h11.CLIENT)
    conn.receive_data(raw)
    conn.receive_data(b"")
    answers: list[Answer] = []
    for method in methods:
        conn.send(h11.Request(method=method, target="/", headers=[(b"Host", b"x")]))
        conn.send(h11.EndOfMessage())
        try:
            answer = _next_answer(conn)
        except h11.RemoteProtocolError:
            break  # truncated or malformed: not a complete answer
        if answer is None:
            break
        answers.append(answer)
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            break
        conn.start_next_cycle()
    return answers


def _next_answer(conn: h11.Connection) -> Answer | None:
    head = conn.next_event()
    while isinstance(head, h11.InformationalResponse):
        head = conn.next_event()
    if not isinstance(head, h11.Response):
        return None
    body = b""
    while isinstance(event := conn.next_event(), h11.Data):
        body += event.data
    if not isinstance(event, h11.EndOfMessage):
        return None
    return Answer(head.status_code, list(head.headers), body)


def status_of(raw: bytes) -> int:
    assert STATUS_LINE.match(raw), raw[:200]
    return int(raw.split(b" ", 2)[1])


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.asynccontextmanager
async def leak_check(proxy: Proxy, timeout: float = 10.0) -> AsyncIterator[None]:
    """Around a scenario (its origins and clients opened and closed inside):
    afterwards the engine must settle back to idle (see ``settled``) with
    no more sockets open than before, apart from idle pooled connections."""
    before = fd_count()
    yield
    await settled(proxy, before, timeout=timeout)


async def settled(
    proxy: Proxy, fds_before: int, timeout: float = 10.0, fds_per_idle: int = 1
) -> None:
    """Wait until the engine is idle: only the pool sweeper task left, no
    client connection, no upstream connection in use, every flow finished,
    and at most ``fds_before`` descriptors open plus ``fds_per_idle`` per
    idle pooled connection (2 when the origin's end is in this process too).
    AssertionError with the details when that does not happen in time."""
    server = proxy.server

    def state() -> dict[str, object]:
        return {
            "engine_tasks": len(server.ctx.tasks),
            "loop_tasks": sorted(t.get_name() for t in asyncio.all_tasks()),
            "clients": server.connection_count,
            "upstream_active": server.ctx.pool.active_count,
            "unfinished_flows": [f.id for f in proxy.store if not f.finished],
            "extra_fds": fd_count() - fds_before - fds_per_idle * server.ctx.pool.idle_count,
        }

    def idle() -> bool:
        now = state()
        return (
            now["engine_tasks"] == 1  # the pool sweeper
            and now["clients"] == 0
            and now["upstream_active"] == 0
            and now["unfinished_flows"] == []
            and isinstance(now["extra_fds"], int)
            and now["extra_fds"] <= 0
        )

    try:
        async with asyncio.timeout(timeout):
            while not idle():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"the engine did not settle: {state()}") from None
