"""The engine's end of the protocol, over a real socketpair: each request
and its reply, malformed requests answered with an error on a channel
that stays open, bad frames that close it with a logged reason (and end
the service cleanly), and bodies read back in ranges."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from inspector.core import protocol
from inspector.core.protocol import FrameReader, encode
from inspector.core.relay import Relay, RelayLimits
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.link.channel import open_channel
from inspector.link.client import EngineError
from inspector.proxy.service import EngineService
from tests.proxy.engine_pair import SECRET, TIMEOUT, EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin, Received, Reply

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Bad input ends as a reply or a closed channel, never a traceback."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def run(scenario: Callable[[EnginePair], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        async with engine_pair(**options) as pair:
            await scenario(pair)

    asyncio.run(main())


def test_ping_status_start_and_stop() -> None:
    async def scenario(pair: EnginePair) -> None:
        assert (await pair.request("ping"))["time"] > 0
        status = await pair.request("status")
        assert status["listening"] is False and status["address"] == ""
        address = (await pair.request("start"))["address"]
        assert address.startswith("127.0.0.1:")
        assert (await pair.request("start"))["address"] == address  # already listening
        status = await pair.request("status")
        assert status["listening"] is True and status["address"] == address
        assert {"last_id", "flows", "max_flows", "rss"} <= status.keys()
        assert await pair.request("stop") == {}
        assert await pair.request("stop") == {}
        assert (await pair.request("status"))["listening"] is False
        host, port = address.rsplit(":", 1)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(host, int(port))

    run(scenario)


def test_a_port_in_use_is_an_error_reply() -> None:
    blocker = socket.create_server(("127.0.0.1", 0))
    port = blocker.getsockname()[1]

    async def scenario(pair: EnginePair) -> None:
        with pytest.raises(EngineError, match="already in use"):
            await pair.request("start")
        assert (await pair.request("status"))["listening"] is False

    try:
        run(scenario, listen_port=port)
    finally:
        blocker.close()


def test_diagnostics() -> None:
    async def scenario(pair: EnginePair) -> None:
        port = await pair.start()
        async with Origin() as origin:
            client = await Client.connect(port)
            await client.request("GET", f"{origin.base}/x")
            client.close()
        await until(lambda: all(f.finished for f in pair.store) and len(pair.store) == 1)
        plain = await pair.request("diagnostics")
        assert plain["pid"] > 0 and plain["rss"] > 0 and plain["tasks"] > 0
        assert plain["flows"] == 1 and "census" not in plain
        assert isinstance(plain["loop_lag_ms"], tuple | list)
        census = (await pair.request("diagnostics", census=True))["census"]
        assert census["states"] == {"complete": 1}
        assert census["bodies_held"] == len(b"hello /x")

    run(scenario)


# Malformed requests: an error reply, and the channel stays open

BAD_REQUESTS = [
    ("nonsense", {}, "unknown request 'nonsense'"),
    ("", {}, "unknown request ''"),
    ("detail", {}, "'id' as int"),
    ("detail", {"id": "1"}, "'id' as int"),
    ("detail", {"id": True}, "'id' as int"),
    ("detail", {"id": 1, "inline": -1}, "'inline' must be a byte count"),
    ("detail", {"id": 1, "inline": "all"}, "'inline' must be a byte count"),
    ("body", {"id": 1, "side": "both", "offset": 0, "length": 1}, "side request|response"),
    ("body", {"id": 1, "side": "request", "offset": -1, "length": 1}, "non-negative range"),
    ("body", {"id": 1, "side": "request", "offset": 0, "length": -5}, "non-negative range"),
    ("body", {"id": 1, "side": "request", "length": 1}, "'offset' as int"),
    ("body", {"id": 1, "side": 1, "offset": 0, "length": 1}, "'side' as str"),
    ("delete", {}, "'ids' as list/tuple"),
    ("delete", {"ids": 3}, "'ids' as list/tuple"),
    ("delete", {"ids": ["3"]}, "a list of flow ids"),
    ("delete", {"ids": [True]}, "a list of flow ids"),
    ("configure", {"proxy": []}, "malformed settings"),
    ("configure", {"proxy": {"no_such_setting": 1}}, "unknown setting 'no_such_setting'"),
    ("configure", {"proxy": {"listen_port": "80"}}, "'listen_port' has the wrong type"),
    ("configure", {"relay": {"flush_interval_ms": 1.5}}, "'flush_interval_ms' has the wrong"),
    ("configure", {"proxy": {"ignore_hosts": "a b:x:y"}}, "invalid ignored hosts"),
]


@pytest.mark.parametrize(
    ("op", "args", "error"), BAD_REQUESTS, ids=[f"{op} {args}" for op, args, _ in BAD_REQUESTS]
)
def test_a_bad_request_gets_an_error_reply_and_the_channel_stays_open(
    op: str, args: dict[str, Any], error: str
) -> None:
    async def scenario(pair: EnginePair) -> None:
        with pytest.raises(EngineError, match=error):
            await pair.request(op, **args)
        assert pair.client.connected
        assert "time" in await pair.request("ping")

    run(scenario)


# Raw frames to a service


class RawWindow:
    """A service, and the window's end as a plain socket."""

    def __init__(self, service: EngineService, sock: socket.socket, serving: asyncio.Task[None]):
        self.service = service
        self.sock = sock
        self.serving = serving
        self.reader = FrameReader()

    async def receive(self, kind: str) -> dict[str, Any]:
        """The next message of ``kind`` (batches are skipped unless asked)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(TIMEOUT):
            while True:
                data = await loop.sock_recv(self.sock, 65536)
                assert data, "the service closed the channel"
                for message in self.reader.feed(data):
                    if message["t"] == kind:
                        return message

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def closed_by_service(self) -> bool:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(TIMEOUT):
            while data := await loop.sock_recv(self.sock, 65536):
                self.reader.feed(data)
        return True


async def _raw_window() -> RawWindow:
    store, relay = FlowStore(), Relay(RelayLimits())
    service = EngineService(
        store, relay, ProxySettings(listen_host="127.0.0.1", listen_port=0), flush_interval=0.01
    )
    window_end, engine_end = socket.socketpair()
    window_end.setblocking(False)
    channel = await open_channel(engine_end, service.handle, "window channel")
    serving = asyncio.get_running_loop().create_task(service.run(channel, SECRET))
    window = RawWindow(service, window_end, serving)
    hello = await window.receive("hello")
    assert hello["secret"] == SECRET and hello["v"] == protocol.VERSION
    return window


def _request(request_id: int, op: Any, **fields: Any) -> bytes:
    return encode({"t": "req", "id": request_id, "op": op, **fields})


@pytest.mark.parametrize(
    "data",
    [
        _request(1, 5, args={}),
        _request(1, None),
        _request(1, "ping", args=[1]),
        _request(1, "ping", args="x"),
        _request(1, "ping", args=None),
    ],
    ids=["op a number", "op nil", "args a list", "args text", "args nil"],
)
def test_a_request_with_a_mistyped_op_or_args_is_answered_with_an_error(data: bytes) -> None:
    async def scenario() -> None:
        window = await _raw_window()
        await window.send(data)
        reply = await window.receive("reply")
        assert reply["id"] == 1 and reply["ok"] is False and reply["error"]
        await window.send(_request(2, "ping"))
        assert (await window.receive("reply"))["ok"] is True
        window.sock.close()
        await asyncio.wait_for(window.serving, TIMEOUT)

    asyncio.run(scenario())


BAD_FRAMES = [
    ("oversize length prefix", struct.pack(">I", protocol.MAX_FRAME + 1)),
    ("zero length", struct.pack(">I", 0)),
    ("garbage msgpack", struct.pack(">I", 3) + b"\xc1\xc1\xc1"),
    ("ext type", struct.pack(">I", 3) + b"\xd4\x05\x00"),
    ("timestamp", struct.pack(">I", 6) + b"\xd6\xff\x00\x00\x00\x01"),
    ("not a map", encode({"t": "x"})[:4] + b"\x94\x01\x02\x03\x04"),
    ("no kind", struct.pack(">I", 1) + b"\x80"),
    ("kind not text", struct.pack(">I", 4) + b"\x81\xa1t\x01"),
    ("unknown kind", encode({"t": "surprise"})),
    ("a reply from the window", encode({"t": "reply", "id": 1, "ok": True})),
    ("ack without seq", encode({"t": "ack"})),
    ("ack with text seq", encode({"t": "ack", "seq": "1"})),
    ("request without id", encode({"t": "req", "op": "ping"})),
    ("request with text id", encode({"t": "req", "id": "1", "op": "ping"})),
]


@pytest.mark.parametrize("data", [b[1] for b in BAD_FRAMES], ids=[b[0] for b in BAD_FRAMES])
def test_a_bad_frame_closes_the_channel_and_ends_the_service_cleanly(
    data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        window = await _raw_window()
        await window.send(_request(1, "start"))
        address = (await window.receive("reply"))["result"]["address"]
        await window.send(data)
        assert await window.closed_by_service()
        await asyncio.wait_for(window.serving, TIMEOUT)
        assert window.serving.exception() is None
        assert window.service.server is None
        host, port = address.rsplit(":", 1)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(host, int(port))
        window.sock.close()

    asyncio.run(scenario())
    warnings = [r for r in caplog.records if r.name == "inspector.link.channel"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "window channel: protocol error: " in warnings[0].getMessage()
    assert warnings[0].exc_info is None


def test_shutdown_replies_then_closes_and_stops_listening() -> None:
    async def main() -> None:
        async with engine_pair() as pair:
            port = await pair.start()
            assert await pair.request("shutdown") == {}
            assert await asyncio.wait_for(pair.client.closed, TIMEOUT)
            await until(lambda: pair.service.server is None)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)

    asyncio.run(main())


# Details and bodies


def test_detail_and_body_ranges() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB

    async def big(req: Received) -> Reply:
        return Reply(200, [(b"Content-Type", b"application/octet-stream")], body)

    async def scenario(pair: EnginePair) -> None:
        port = await pair.start()
        async with Origin(big) as origin:
            client = await Client.connect(port)
            assert (await client.request("POST", f"{origin.base}/up", body=b"abc")).body == body
            client.close()
        await until(lambda: len(pair.store) == 1 and next(iter(pair.store)).finished)
        flow = (await pair.request("detail", id=1, inline=1000))["flow"]
        assert flow["request"]["body"] == b"abc" and flow["request"]["captured"] == 3
        assert flow["response"]["body"] == body[:1000]
        assert flow["response"]["captured"] == len(body)
        whole = (await pair.request("detail", id=1, inline=2 * MiB))["flow"]
        assert whole["response"]["body"] == body
        parts = []
        for offset in range(0, len(body), 300_000):
            reply = await pair.request("body", id=1, side="response", offset=offset, length=300_000)
            assert reply["captured"] == len(body)
            parts.append(reply["data"])
        assert b"".join(parts) == body
        past = await pair.request("body", id=1, side="response", offset=len(body), length=10)
        assert past == {"data": b"", "captured": len(body)}
        request = await pair.request("body", id=1, side="request", offset=1, length=99)
        assert request == {"data": b"bc", "captured": 3}
        assert await pair.request("detail", id=99) == {"flow": None}
        missing = await pair.request("body", id=99, side="response", offset=0, length=1)
        assert missing == {"data": None, "captured": 0}

    run(scenario)


def test_one_message_never_carries_more_than_a_body_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "MAX_BODY_RANGE", 1000)

    async def scenario(pair: EnginePair) -> None:
        flow = pair.store.new_flow(("127.0.0.1", 1))
        flow.request.body = b"b" * 5000
        reply = await pair.request("body", id=1, side="request", offset=10, length=10**9)
        assert reply["data"] == b"b" * 1000
        detail = await pair.request("detail", id=1, inline=10**9)
        assert detail["flow"]["request"]["body"] == b"b" * 1000
        assert detail["flow"]["request"]["captured"] == 5000

    run(scenario)
