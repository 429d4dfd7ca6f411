"""Streams: deadlines (one reusable timer per stream, never firing early),
and a half-close towards a peer that is already gone."""

from __future__ import annotations

import asyncio

import pytest

from inspector.proxy.stream import Stream, StreamClosed
from tests.proxy.harness import run


async def _pair() -> tuple[Stream, asyncio.StreamWriter, asyncio.Server]:
    accepted: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

    async def on_client(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(writer)

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, stream = await asyncio.get_running_loop().create_connection(Stream, "127.0.0.1", port)
    return stream, await accepted, server


def test_a_later_deadline_is_honoured_after_an_earlier_timer() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        stream, peer, server = await _pair()
        try:
            # First wait arms a timer for +0.05 s; data arrives before it.
            loop.call_later(0.01, peer.write, b"x")
            assert await stream.read(10, loop.time() + 0.05) == b"x"
            # The second wait has a later deadline: the stale timer fires
            # at +0.05 and must re-arm rather than time this wait out.
            started = loop.time()
            loop.call_later(0.15, peer.write, b"y")
            assert await stream.read(10, loop.time() + 1.0) == b"y"
            assert loop.time() - started >= 0.1
            # And a deadline that passes with no data does time out.
            with pytest.raises(TimeoutError):
                await stream.read(10, loop.time() + 0.05)
        finally:
            stream.abort()
            peer.close()
            server.close()

    run(scenario())


def test_no_deadline_waits_for_data() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        stream, peer, server = await _pair()
        try:
            loop.call_later(0.05, peer.write, b"data")
            assert await stream.read() == b"data"
            peer.close()
            assert await stream.read() == b""
            assert stream.at_eof
        finally:
            stream.abort()
            server.close()

    run(scenario())


def test_half_close_towards_a_peer_that_reset_is_quiet() -> None:
    """The peer closes, then resets on the bytes that still reach it. The
    stream stopped reading at its FIN and never saw the reset, so the
    shutdown fails (ENOTCONN); that ends the stream instead of raising."""

    async def scenario() -> None:
        stream, peer, server = await _pair()
        try:
            peer.close()
            assert await stream.read() == b""
            stream.write(b"after the peer's close")
            await asyncio.sleep(0.1)  # the reset arrives
            stream.write_eof()
            assert stream.is_closing
            with pytest.raises(StreamClosed):
                stream.write(b"more")
        finally:
            stream.abort()
            server.close()

    run(scenario())
