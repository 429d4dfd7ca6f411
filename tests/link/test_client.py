"""The engine protocol's client: the hello it accepts (version, secret),
requests and their replies, batches and acknowledgements, and what a
misbehaving engine costs (its channel, never the caller's process). The
engine end is a scripted channel here, or a real engine service."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inspector.core import protocol
from inspector.core.protocol import Message, ProtocolError, encode
from inspector.link.channel import ChannelClosed, FrameChannel, open_channel
from inspector.link.client import EngineClient, EngineError
from tests.proxy.engine_pair import SECRET, TIMEOUT, engine_pair, until


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


class FakeEngine:
    """The engine's end as a script: it records what the client sends and
    sends whatever the test tells it to."""

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.channel: FrameChannel | None = None
        self.sock: socket.socket | None = None

    async def open(self) -> socket.socket:
        window_end, engine_end = socket.socketpair()
        self.channel = await open_channel(engine_end, self.received.append, "fake engine")
        return window_end

    def send(self, message: Message) -> None:
        assert self.channel is not None
        self.channel.send(message)

    def hello(self, **changes: Any) -> None:
        self.send({"t": "hello", "v": protocol.VERSION, "secret": SECRET, "pid": 1, **changes})

    def requests(self) -> list[Message]:
        return [m for m in self.received if m["t"] == "req"]


async def _connected(
    on_batch: Callable[[Message], None] | None = None,
) -> tuple[FakeEngine, EngineClient]:
    engine = FakeEngine()
    sock = await engine.open()
    engine.hello()
    client = EngineClient(on_batch)
    await client.connect(sock, SECRET, timeout=TIMEOUT)
    return engine, client


# The hello


def test_a_hello_with_the_secret_connects() -> None:
    async def scenario() -> None:
        engine, client = await _connected()
        assert client.connected and client.hello["pid"] == 1
        client.close()
        assert await asyncio.wait_for(engine.channel.closed, TIMEOUT)  # type: ignore[union-attr]
        assert not client.connected

    run(scenario)


@pytest.mark.parametrize(
    ("hello", "reason"),
    [
        ({"secret": "f" * 64}, "did not present the expected secret"),
        ({"secret": SECRET[:-1]}, "did not present the expected secret"),
        ({"secret": SECRET + "0"}, "did not present the expected secret"),
        ({"secret": ""}, "did not present the expected secret"),
        ({"secret": None}, "did not present the expected secret"),
        ({"secret": SECRET.encode()}, "did not present the expected secret"),
        ({"secret": "☃"}, "did not present the expected secret"),
        ({"v": protocol.VERSION + 1}, "speaks protocol 2"),
        ({"v": 0}, "speaks protocol 0"),
        ({"v": "1"}, "speaks protocol '1'"),
        ({"v": None}, "speaks protocol None"),
    ],
)
def test_a_wrong_hello_is_refused_and_the_channel_closed(hello: Message, reason: str) -> None:
    async def scenario() -> None:
        engine = FakeEngine()
        sock = await engine.open()
        engine.hello(**hello)
        client = EngineClient()
        with pytest.raises(ProtocolError, match=reason):
            await client.connect(sock, SECRET, timeout=TIMEOUT)
        assert not client.connected
        await asyncio.wait_for(engine.channel.closed, TIMEOUT)  # type: ignore[union-attr]
        assert engine.requests() == []

    run(scenario)


def test_without_an_expected_secret_any_hello_of_the_version_connects() -> None:
    async def scenario() -> None:
        engine = FakeEngine()
        sock = await engine.open()
        engine.send({"t": "hello", "v": protocol.VERSION})
        client = EngineClient()
        assert (await client.connect(sock, None, timeout=TIMEOUT))["v"] == protocol.VERSION
        client.close()

    run(scenario)


def test_an_engine_that_says_nothing_is_given_up_on() -> None:
    async def scenario() -> None:
        engine = FakeEngine()
        sock = await engine.open()
        client = EngineClient()
        with pytest.raises(ProtocolError, match=r"said nothing within 0\.2 s"):
            await client.connect(sock, SECRET, timeout=0.2)
        await asyncio.wait_for(engine.channel.closed, TIMEOUT)  # type: ignore[union-attr]

    run(scenario)


@pytest.mark.parametrize(
    "first",
    [b"", b"\xff\xff\xff\xff", b"\x00\x00\x00\x01\xc1", encode({"t": "surprise"})],
    ids=["closes", "oversize frame", "garbage", "unknown message"],
)
def test_an_engine_that_breaks_off_before_hello_is_a_protocol_error(
    first: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        window_end, engine_end = socket.socketpair()
        engine_end.sendall(first)
        if not first:
            engine_end.close()
        client = EngineClient()
        with pytest.raises(ProtocolError, match="closed the channel"):
            await client.connect(window_end, SECRET, timeout=TIMEOUT)
        assert not client.connected
        engine_end.close()

    with caplog.at_level(logging.WARNING):
        run(scenario)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# Requests and replies


def test_replies_find_their_requests_in_any_order() -> None:
    async def scenario() -> None:
        engine, client = await _connected()
        first = asyncio.ensure_future(client.request("detail", id=1))
        second = asyncio.ensure_future(client.request("status"))
        await until(lambda: len(engine.requests()) == 2)
        one, two = engine.requests()
        assert (one["op"], one["args"], two["op"], two["args"]) == (
            "detail",
            {"id": 1},
            "status",
            {},
        )
        assert one["id"] != two["id"]
        engine.send({"t": "reply", "id": two["id"], "ok": True, "result": {"listening": False}})
        engine.send({"t": "reply", "id": one["id"], "ok": False, "error": "no such flow"})
        assert await second == {"listening": False}
        with pytest.raises(EngineError, match="no such flow"):
            await first
        client.close()

    run(scenario)


def test_a_reply_nobody_waits_for_is_ignored() -> None:
    async def scenario() -> None:
        engine, client = await _connected()
        waiting = asyncio.ensure_future(client.request("ping"))
        await until(lambda: len(engine.requests()) == 1)
        waiting.cancel()
        [request] = engine.requests()
        engine.send({"t": "reply", "id": request["id"], "ok": True, "result": 1})
        engine.send({"t": "reply", "id": 999, "ok": True, "result": 2})
        later = asyncio.ensure_future(client.request("ping"))
        await until(lambda: len(engine.requests()) == 2)
        engine.send({"t": "reply", "id": engine.requests()[1]["id"], "ok": True, "result": 3})
        assert await later == 3
        assert client.connected
        client.close()

    run(scenario)


def test_requests_waiting_when_the_channel_closes_fail_with_channel_closed() -> None:
    async def scenario() -> None:
        engine, client = await _connected()
        waiting = [asyncio.ensure_future(client.request("ping")) for _ in range(3)]
        await until(lambda: len(engine.requests()) == 3)
        engine.channel.close("the engine went away")  # type: ignore[union-attr]
        for future in waiting:
            with pytest.raises(ChannelClosed):
                await future
        assert await client.closed == "the other end closed the channel"
        with pytest.raises(ChannelClosed):
            await client.request("ping")
        client.ack(1)  # nothing to acknowledge to: no error

    run(scenario)


def test_a_client_never_connected_refuses_requests() -> None:
    async def scenario() -> None:
        client = EngineClient()
        assert not client.connected and client.close_reason == ""
        with pytest.raises(ChannelClosed, match="not connected"):
            await client.request("ping")
        with pytest.raises(RuntimeError):
            client.closed  # noqa: B018
        client.ack(1)
        client.close()

    run(scenario)


# Batches


def test_batches_reach_on_batch_in_order_and_acks_go_back() -> None:
    async def scenario() -> None:
        got: list[int] = []
        engine, client = await _connected(lambda m: got.append(m["seq"]))
        for seq in range(1, 6):
            engine.send({"t": "batch", "seq": seq})
        await until(lambda: len(got) == 5)
        assert got == [1, 2, 3, 4, 5]
        client.ack(5)
        await until(lambda: len(engine.received) == 1)
        assert engine.received == [{"t": "ack", "seq": 5}]
        client.close()

    run(scenario)


@pytest.mark.parametrize(
    "message",
    [
        {"t": "batch"},
        {"t": "batch", "seq": "1"},
        {"t": "batch", "seq": True},
        {"t": "reply", "id": "1", "ok": True},
        {"t": "reply", "ok": True},
        {"t": "ack", "seq": 1},
        {"t": "req", "id": 1, "op": "ping"},
    ],
)
def test_a_malformed_or_unexpected_message_closes_the_channel(
    message: Message, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        got: list[Message] = []
        engine, client = await _connected(got.append)
        waiting = asyncio.ensure_future(client.request("ping"))
        engine.send(message)
        reason = await asyncio.wait_for(client.closed, TIMEOUT)
        assert reason.startswith("protocol error: ")
        with pytest.raises(ChannelClosed):
            await waiting
        assert got == []

    with caplog.at_level(logging.WARNING):
        run(scenario)
    warnings = [r for r in caplog.records if r.name == "inspector.link.channel"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


# A real engine


def test_a_real_engine_answers() -> None:
    async def scenario() -> None:
        async with engine_pair() as pair:
            hello = pair.client.hello
            assert hello["v"] == protocol.VERSION and hello["secret"] == SECRET
            assert hello["pid"] == os.getpid() and hello["first_id"] == 1
            assert "time" in await pair.request("ping")
            status = await pair.request("status")
            assert status["listening"] is False and status["last_id"] == 0
            with pytest.raises(EngineError, match="unknown request 'nonsense'"):
                await pair.request("nonsense")
            assert pair.client.connected
            await until(lambda: len(pair.batches) >= 2)  # the idle engine's heartbeat

    run(scenario)
