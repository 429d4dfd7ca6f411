"""Random damage to valid requests, delivered in random pieces.

Hypothesis splices random bytes (and the bytes parsers trip on: CR, LF,
NUL, colons, spaces, commas, signs) into, over, or out of valid requests of
every kind the proxy handles, then sends the result split at random points,
sometimes half-closing after. Whatever arrives, the proxy must answer with a
well-formed status line or close the connection, within a deadline, and log
no error. One proxy and one origin serve every example; at the end the
engine must settle with every flow finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from contextlib import AsyncExitStack

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from inspector.proxy.errors import UpstreamError
from tests.proxy.harness import Origin, Proxy, running_proxy
from tests.reliability.conftest import ErrorLog
from tests.reliability.helpers import STATUS_LINE, fd_count, settled

DEADLINE = 10.0
"""Seconds one example may take: the proxy's own timeouts are well under."""

TEMPLATES = [
    b"GET {origin}/a?b=c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    b"HEAD {origin}/h HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST {origin}/p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"POST {origin}/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
    b"PUT {origin}/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
    b"GET {origin}/1 HTTP/1.1\r\nHost: x\r\n\r\nGET {origin}/2 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET {origin}/old HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET http://inspector.invalid/ HTTP/1.1\r\nHost: inspector.invalid\r\n\r\n",
    b"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
    b"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\nGET /in HTTP/1.1\r\nHost: x\r\n\r\n",
]

TRICKY = [b"\r\n", b"\r", b"\n", b"\x00", b" ", b"\t", b":", b",", b";", b"-", b"+", b"0x"]
TRICKY += [b"\xff", b"\r\n ", b"chunked", b"Content-Length: 3\r\n", b"Transfer-Encoding: x\r\n"]
TRICKY += [b"9999999999", b"\r\n\r\n", b"HTTP/1.1", b"%00", b"[", b"@"]

edit = st.tuples(
    st.sampled_from(["insert", "replace", "delete"]),
    st.booleans(),
    st.floats(0, 1),
    st.one_of(st.sampled_from(TRICKY), st.binary(min_size=1, max_size=8)),
)
"""(what, whether after the request line, where, bytes): most damage to the
request line is refused at once, so the rest of the head and the body get
their share of it too."""


def _damage(data: bytes, edits: list[tuple[str, bool, float, bytes]]) -> bytes:
    for kind, after_line, where, piece in edits:
        start = data.find(b"\n") + 1 if after_line else 0
        at = start + int(where * (len(data) - start))
        if kind == "insert":
            data = data[:at] + piece + data[at:]
        elif kind == "replace":
            data = data[:at] + piece + data[at + len(piece) :]
        else:
            data = data[:at] + data[at + len(piece) :]
    return data


def _split(data: bytes, cuts: list[float]) -> list[bytes]:
    points = sorted({int(c * len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


async def _exchange(port: int, pieces: list[bytes], half_close: bool) -> bytes:
    """Send ``pieces``, then read until the first response head is complete
    or the proxy closes; return what arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = b""
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0)
        if half_close:
            writer.write_eof()
        with contextlib.suppress(ConnectionError):
            while b"\r\n\r\n" not in received:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                received += chunk
    finally:
        writer.transport.abort()
    return received


class World:
    """The proxy and origin all examples share, on one event loop."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.stack = AsyncExitStack()
        self.proxy: Proxy | None = None
        self.origin: Origin | None = None

    async def start(self) -> None:
        self.origin = await self.stack.enter_async_context(Origin())
        origin_port = self.origin.port

        async def resolve(host: str, port: int) -> list[str]:
            # Damage can make any host or port; only the origin is reachable,
            # so the test never touches anything but its own servers.
            if host in ("127.0.0.1", "localhost") and port == origin_port:
                return ["127.0.0.1"]
            raise UpstreamError(502, "dns", f"DNS lookup for {host} failed (test resolver)")

        self.proxy = await self.stack.enter_async_context(
            running_proxy(
                resolver=resolve,
                request_head_timeout=0.5,
                client_idle_timeout=0.5,
                response_head_timeout=1.0,
                tunnel_peek_timeout=0.2,
            )
        )

    def request(self, template: bytes) -> bytes:
        assert self.origin is not None
        return template.replace(b"{origin}", self.origin.base.encode()).replace(
            b"{port}", str(self.origin.port).encode()
        )


@pytest.mark.slow
# Hypothesis marks tests decorated with @given; this one's @given is inside,
# and `make fuzz` selects by the marker.
@pytest.mark.hypothesis
def test_damaged_requests_in_random_pieces_are_answered_or_closed(
    engine_errors: ErrorLog,
) -> None:
    world = World()
    with world.runner:
        world.runner.run(world.start())
        proxy = world.proxy
        assert proxy is not None

        # How many examples, and whether drawn at random, is the profile's
        # (tests/conftest.py).
        @settings(
            deadline=None,  # the per-example deadline is DEADLINE, below
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            template=st.sampled_from(TEMPLATES),
            edits=st.lists(edit, min_size=1, max_size=4),
            cuts=st.lists(st.floats(0, 1), max_size=6),
            half_close=st.booleans(),
        )
        def example(
            template: bytes,
            edits: list[tuple[str, bool, float, bytes]],
            cuts: list[float],
            half_close: bool,
        ) -> None:
            data = _damage(world.request(template), edits)
            pieces = _split(data, cuts)

            async def attempt() -> bytes:
                async with asyncio.timeout(DEADLINE):
                    return await _exchange(proxy.port, pieces, half_close)

            received = world.runner.run(attempt())
            if received:
                assert STATUS_LINE.match(received), received[:200]
                event(f"answered {received[9:12].decode()}")
            else:
                event("closed without an answer")
            assert not engine_errors.records, engine_errors.describe()

        before = fd_count()
        try:
            example()
            # Every connection closed, every flow finished, nothing open
            # but pooled connections (both of whose ends are in-process).
            world.runner.run(settled(proxy, before, timeout=15, fds_per_idle=2))
            assert len(proxy.store) > 0
        finally:
            world.runner.run(world.stack.aclose())
