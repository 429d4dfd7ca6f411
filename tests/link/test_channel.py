"""The framed message channel over a real socketpair: messages in order
however the bytes arrive, and a peer that breaks the protocol costs only
its own channel, closed with the reason logged."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inspector.core.protocol import Message, ProtocolError, encode
from inspector.link.channel import ChannelClosed, FrameChannel, open_channel

TIMEOUT = 10.0


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def _until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not check():
            await asyncio.sleep(0.005)


async def _pair(
    on_a: Callable[[Message], None], on_b: Callable[[Message], None]
) -> tuple[FrameChannel, FrameChannel]:
    one, two = socket.socketpair()
    return await open_channel(one, on_a, "a"), await open_channel(two, on_b, "b")


async def _raw(on_message: Callable[[Message], None]) -> tuple[FrameChannel, socket.socket]:
    """A channel, and the other end as a plain blocking socket."""
    ours, theirs = socket.socketpair()
    return await open_channel(ours, on_message, "engine channel"), theirs


def test_messages_arrive_in_order_both_ways() -> None:
    async def scenario() -> None:
        got_a: list[Message] = []
        got_b: list[Message] = []
        a, b = await _pair(got_a.append, got_b.append)
        for i in range(500):
            a.send({"t": "n", "i": i, "pad": b"x" * (i * 37)})
        b.send({"t": "back"})
        await _until(lambda: len(got_b) == 500 and len(got_a) == 1)
        assert [m["i"] for m in got_b] == list(range(500))
        assert got_b[499]["pad"] == b"x" * (499 * 37)
        assert got_a == [{"t": "back"}]
        assert a.is_open and b.is_open
        a.close()
        b.close()

    run(scenario)


def test_a_message_split_byte_by_byte_arrives_whole() -> None:
    async def scenario() -> None:
        got: list[Message] = []
        channel, peer = await _raw(got.append)
        data = encode({"t": "a", "body": b"y" * 200}) + encode({"t": "b"})
        loop = asyncio.get_running_loop()
        for i in range(len(data)):
            await loop.run_in_executor(None, peer.sendall, data[i : i + 1])
        await _until(lambda: len(got) == 2)
        assert got == [{"t": "a", "body": b"y" * 200}, {"t": "b"}]
        peer.close()
        assert await asyncio.wait_for(channel.closed, TIMEOUT) == "the other end closed the channel"

    run(scenario)


def test_many_frames_in_one_write() -> None:
    async def scenario() -> None:
        got: list[Message] = []
        channel, peer = await _raw(got.append)
        peer.sendall(b"".join(encode({"t": "n", "i": i}) for i in range(3000)))
        await _until(lambda: len(got) == 3000)
        assert [m["i"] for m in got] == list(range(3000))
        peer.close()
        await asyncio.wait_for(channel.closed, TIMEOUT)

    run(scenario)


BAD_BYTES = [
    ("oversize length prefix", b"\xff\xff\xff\xff"),
    ("zero length", b"\x00\x00\x00\x00"),
    ("garbage msgpack", struct.pack(">I", 1) + b"\xc1"),
    ("a list, not a map", struct.pack(">I", 3) + b"\x91\xa1t"),
    ("no kind", struct.pack(">I", 1) + b"\x80"),
    ("timestamp ext", struct.pack(">I", 6) + b"\xd6\xff\x00\x00\x00\x01"),
]


@pytest.mark.parametrize("data", [b[1] for b in BAD_BYTES], ids=[b[0] for b in BAD_BYTES])
def test_a_bad_frame_closes_the_channel_with_a_logged_reason(
    data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        got: list[Message] = []
        channel, peer = await _raw(got.append)
        peer.sendall(encode({"t": "first"}))
        await _until(lambda: len(got) == 1)
        peer.sendall(data + encode({"t": "after"}))
        reason = await asyncio.wait_for(channel.closed, TIMEOUT)
        assert reason.startswith("protocol error: ")
        assert channel.close_reason == reason and not channel.is_open
        assert got == [{"t": "first"}]
        # The channel closed its socket: the peer reads the end.
        peer.settimeout(TIMEOUT)
        assert peer.recv(10) == b""
        peer.close()
        with pytest.raises(ChannelClosed, match="protocol error"):
            channel.send({"t": "late"})

    with caplog.at_level(logging.WARNING, logger="inspector.link.channel"):
        run(scenario)
    [record] = [r for r in caplog.records if r.name == "inspector.link.channel"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("engine channel: protocol error: ")
    assert record.exc_info is None


def test_a_handler_refusing_a_message_closes_the_channel_and_stops_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        got: list[Message] = []

        def handle(message: Message) -> None:
            got.append(message)
            if message["t"] == "bad":
                raise ProtocolError("'bad' needs 'seq' as int")

        channel, peer = await _raw(handle)
        peer.sendall(encode({"t": "ok"}) + encode({"t": "bad"}) + encode({"t": "never"}))
        reason = await asyncio.wait_for(channel.closed, TIMEOUT)
        assert reason == "protocol error: 'bad' needs 'seq' as int"
        assert [m["t"] for m in got] == ["ok", "bad"]
        peer.close()

    with caplog.at_level(logging.WARNING):
        run(scenario)
    assert any("'bad' needs 'seq' as int" in r.getMessage() for r in caplog.records)


def test_closing_is_reported_once_with_the_first_reason(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        a, b = await _pair(lambda m: None, lambda m: None)
        a.close("the window is closing")
        a.close("again")
        assert await a.closed == "the window is closing"
        assert await asyncio.wait_for(b.closed, TIMEOUT) == "the other end closed the channel"
        with pytest.raises(ChannelClosed, match="the window is closing"):
            a.send({"t": "x"})
        with pytest.raises(ChannelClosed):
            b.send({"t": "x"})
        assert a.write_buffer == 0

    with caplog.at_level(logging.WARNING):
        run(scenario)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_what_was_sent_before_close_is_still_delivered() -> None:
    async def scenario() -> None:
        got: list[Message] = []
        a, b = await _pair(lambda m: None, got.append)
        for i in range(100):
            a.send({"t": "n", "i": i, "pad": b"z" * 10_000})
        a.close("done")
        await asyncio.wait_for(b.closed, TIMEOUT)
        assert [m["i"] for m in got] == list(range(100))

    run(scenario)


def test_write_buffer_shows_what_the_peer_has_not_read() -> None:
    async def scenario() -> None:
        channel, peer = await _raw(lambda m: None)
        assert channel.write_buffer == 0
        big: dict[str, Any] = {"t": "big", "data": b"q" * (8 * 1024 * 1024)}
        channel.send(big)
        assert channel.write_buffer > 0  # far more than the socket buffers hold
        peer.close()
        await asyncio.wait_for(channel.closed, TIMEOUT)
        assert channel.write_buffer == 0

    run(scenario)
