"""WebSocket through a running proxy: the ``websockets`` client over
CONNECT (ws:// as it sends it, wss:// intercepted), a raw client sending
the upgrade in absolute form, permessage-deflate, what the store, the
row, the service's ws_messages/ws_message and the headless line show;
and upgrades that are not WebSocket (kept out of the exchange, or refused
when an upstream switches unasked)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

from inspector.core import summary as S
from inspector.core.certs import CertStore
from inspector.core.flow import Flow, FlowState
from inspector.core.format import flow_line
from inspector.core.summary import row_of, summarize
from inspector.core.websocket import (
    BINARY,
    CLOSE,
    DOWN,
    MESSAGE_CAPTURE,
    PING,
    PONG,
    TEXT,
    UP,
    WebSocketInfo,
)
from inspector.core.wire import flow_from_wire
from inspector.core.ws_wire import message_from_wire
from inspector.link.client import EngineError
from tests.proxy.engine_pair import TIMEOUT, engine_pair, until
from tests.proxy.harness import Origin, Proxy, Received, Reply, run, running_proxy


async def echo(ws: ServerConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            await ws.send(message)


@contextlib.asynccontextmanager
async def ws_origin(
    handler: Callable[[ServerConnection], Awaitable[None]] = echo,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[int]:
    """A ``websockets`` server on 127.0.0.1 port 0, without keepalive
    pings; yields its port."""
    async with serve(handler, "127.0.0.1", 0, ssl=tls, ping_interval=None) as server:
        yield server.sockets[0].getsockname()[1]


def ws_connect(url: str, proxy_port: int, **options: Any) -> connect:
    """The ``websockets`` client through the proxy, without keepalive
    pings (they would add frames at any moment)."""
    return connect(url, proxy=f"http://127.0.0.1:{proxy_port}", ping_interval=None, **options)


def _websocket_flow(proxy: Proxy) -> Flow:
    [flow] = [f for f in proxy.store if f.websocket is not None]
    return flow


def _info(flow: Flow) -> WebSocketInfo:
    assert flow.websocket is not None
    return flow.websocket


def _kept(info: WebSocketInfo) -> list[tuple[int, int, int, bytes]]:
    return [(m.direction, m.opcode, m.size, m.payload) for m in info.messages]


def _each_way(info: WebSocketInfo) -> list[list[tuple[int, int, bytes]]]:
    """The kept messages client to server, then server to client."""
    return [
        [(m.opcode, m.size, m.payload) for m in info.messages if m.direction == direction]
        for direction in (UP, DOWN)
    ]


# The websockets client, over CONNECT


def test_ws_through_connect_records_every_message() -> None:
    big = bytes(range(256)) * 1024

    async def scenario() -> None:
        async with ws_origin() as port, running_proxy() as proxy:
            async with ws_connect(f"ws://127.0.0.1:{port}/chat?room=1", proxy.port) as ws:
                await ws.send("héllo")
                assert await ws.recv() == "héllo"
                await ws.send(big)
                assert await ws.recv() == big
                await (await ws.ping(b"still there"))
            await proxy.wait_flows(2)
            [tunnel] = [f for f in proxy.store if f.request.method == "CONNECT"]
            flow = _websocket_flow(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == "http"
            assert flow.tunnel_id == tunnel.id
            assert flow.state is FlowState.COMPLETE and flow.error is None
            assert flow.response is not None and flow.response.status == 101
            assert flow.response.header(b"upgrade") == b"websocket"
            info = _info(flow)
            assert not info.tls and info.note == "" and info.end == "closed"
            assert (info.msgs_up, info.msgs_down) == (2, 2)
            assert info.bytes_up == info.bytes_down == len("héllo".encode()) + len(big)
            # Each direction in order; how the two interleave is the
            # sockets' business.
            assert _each_way(info) == [
                [
                    (TEXT, 6, "héllo".encode()),
                    (BINARY, len(big), big),
                    (PING, 11, b"still there"),
                    (CLOSE, 2, b""),
                ],
                [
                    (TEXT, 6, "héllo".encode()),
                    (BINARY, len(big), big),
                    (PONG, 11, b"still there"),
                    (CLOSE, 2, b""),
                ],
            ]
            assert [m.seq for m in info.messages] == list(range(8))
            assert (info.close_code, info.closed_by, info.closing_handshake) == (1000, UP, True)
            # websockets negotiates permessage-deflate by default: the
            # messages are kept as sent, the wire carried less.
            assert info.extensions.startswith("permessage-deflate")
            assert all(m.compressed for m in info.messages if m.opcode in (TEXT, BINARY))
            assert info.wire_up < info.bytes_up and info.wire_down < info.bytes_down

            row = summarize(flow)
            assert row[S.STATUS] == 101 and row[S.SCHEME] == "ws"
            assert row[S.CONTENT_TYPE] == "websocket"
            assert row[S.FLAGS] & S.FLAG_WEBSOCKET
            assert row[S.PATH] == "/chat?room=1"
            assert row[S.WEBSOCKET] == (2, 2, info.bytes_up, info.bytes_down, 1000)
            assert row_of(row).url == f"ws://127.0.0.1:{port}/chat?room=1"

    run(scenario())


def test_without_compression_a_large_message_spanning_reads_is_one_message() -> None:
    large = bytes(range(256)) * 1200  # 300 KiB, read a piece at a time

    async def scenario() -> None:
        async with ws_origin() as port, running_proxy() as proxy:
            async with ws_connect(f"ws://127.0.0.1:{port}/", proxy.port, compression=None) as ws:
                await ws.send(large)
                assert await ws.recv() == large
            await proxy.wait_flows(2)
            info = _info(_websocket_flow(proxy))
            assert info.extensions == "" and info.note == ""
            # Kept up to the capture; the client's masked bytes past it are
            # counted, not unmasked, and the message still ends right.
            kept = large[:MESSAGE_CAPTURE]
            assert len(large) > MESSAGE_CAPTURE
            assert _each_way(info) == [
                [(BINARY, len(large), kept), (CLOSE, 2, b"")],
                [(BINARY, len(large), kept), (CLOSE, 2, b"")],
            ]
            assert all(m.truncated for m in info.messages if m.opcode == BINARY)
            assert not any(m.compressed for m in info.messages)
            assert info.wire_up > info.bytes_up

    run(scenario())


def test_an_open_websocket_ends_as_shutdown_when_the_proxy_stops() -> None:
    async def scenario() -> None:
        async with ws_origin() as port:
            async with running_proxy(shutdown_grace=0.0) as proxy:
                ws = await ws_connect(f"ws://127.0.0.1:{port}/", proxy.port)
                await ws.send("before the stop")
                await ws.recv()
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            flow = _websocket_flow(proxy)
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "shutdown"
            assert _info(flow).end == "the proxy stopped"

    run(scenario())


def test_the_server_closing_with_a_code_and_reason() -> None:
    async def close_at_once(ws: ServerConnection) -> None:
        await ws.send("bye soon")
        await ws.close(4000, "we are done")

    async def scenario() -> None:
        async with ws_origin(close_at_once) as port, running_proxy() as proxy:
            async with ws_connect(f"ws://127.0.0.1:{port}/", proxy.port) as ws:
                assert await ws.recv() == "bye soon"
                await ws.wait_closed()
                assert ws.close_code == 4000
            await proxy.wait_flows(2)
            flow = _websocket_flow(proxy)
            info = _info(flow)
            assert flow.state is FlowState.COMPLETE
            assert (info.close_code, info.close_reason, info.closed_by) == (
                4000,
                "we are done",
                DOWN,
            )
            assert info.closing_handshake and info.end == "closed"
            assert _kept(info)[-2:] == [
                (DOWN, CLOSE, 13, b"we are done"),
                (UP, CLOSE, 13, b"we are done"),  # the client echoes the close
            ]
            assert summarize(flow)[S.WEBSOCKET][S.WS_CLOSE_CODE] == 4000

    run(scenario())


# wss://, intercepted


def test_wss_is_intercepted_and_recorded(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario() -> None:
        client_tls = ssl.create_default_context(cafile=str(proxy_certs.ca_cert_path))
        origin_tls = upstream_certs.server_context("localhost")
        async with (
            ws_origin(tls=origin_tls) as port,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            url = f"wss://localhost:{port}/secure"
            async with ws_connect(url, proxy.port, ssl=client_tls) as ws:
                peer = ws.transport.get_extra_info("peercert")
                issuer = dict(x[0] for x in peer["issuer"])
                assert issuer["organizationName"] == "Inspector"
                await ws.send("secret")
                assert await ws.recv() == "secret"
            await proxy.wait_flows(2)
            [tunnel] = [f for f in proxy.store if f.request.method == "CONNECT"]
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == "intercept"
            flow = _websocket_flow(proxy)
            info = _info(flow)
            assert flow.request.scheme == "https" and info.tls
            assert flow.state is FlowState.COMPLETE and info.end == "closed"
            assert _kept(info)[:2] == [(UP, TEXT, 6, b"secret"), (DOWN, TEXT, 6, b"secret")]
            assert info.close_code == 1000 and info.closing_handshake
            row = summarize(flow)
            assert row[S.SCHEME] == "wss" and row[S.STATUS] == 101
            assert flow_line(flow) == (
                f"WS wss://localhost:{port}/secure -> 101 closed 1000, 1 msgs up 6 B, 1 down 6 B"
            )

    run(scenario())


# A raw client sending the upgrade in absolute form


class RawWsClient:
    """A WebSocket client speaking to the proxy itself (no CONNECT), with
    wsproto, in absolute form as a proxy-aware client may."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: deque[Event] = deque()

    @classmethod
    async def open(cls, proxy_port: int, host: str, target: str, deflate: bool) -> RawWsClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
        client = cls(reader, writer)
        extensions = [PerMessageDeflate()] if deflate else []
        await client.send(Request(host=host, target=target, extensions=extensions))
        accepted = await client.next_event()
        assert isinstance(accepted, AcceptConnection), accepted
        return client

    async def send(self, event: Event) -> None:
        self.writer.write(self.ws.send(event))
        await self.writer.drain()

    async def next_event(self) -> Event:
        async with asyncio.timeout(TIMEOUT):
            while not self.pending:
                self.pending.extend(self.ws.events())
                if not self.pending:
                    data = await self.reader.read(65536)
                    self.ws.receive_data(data or None)
        return self.pending.popleft()

    async def message(self) -> str | bytes:
        """The next message, its fragments joined."""
        parts: list[Any] = []
        while True:
            event = await self.next_event()
            assert isinstance(event, TextMessage | BytesMessage), event
            parts.append(event.data)
            if event.message_finished:
                return "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)

    async def close(self) -> None:
        await self.send(CloseConnection(code=1000, reason="client done"))
        answer = await self.next_event()
        assert isinstance(answer, CloseConnection), answer
        assert await self.reader.read() == b""  # the server closes first
        self.writer.close()


@pytest.mark.parametrize("scheme", ["http", "ws"])
@pytest.mark.parametrize("deflate", [True, False], ids=["deflate", "plain"])
def test_an_upgrade_in_absolute_form(scheme: str, deflate: bool) -> None:
    async def scenario() -> None:
        async with ws_origin() as port, running_proxy() as proxy:
            host = f"127.0.0.1:{port}"
            client = await RawWsClient.open(proxy.port, host, f"{scheme}://{host}/abs?q", deflate)
            await client.send(TextMessage(data="over the proxy"))
            assert await client.message() == "over the proxy"
            await client.send(BytesMessage(data=b"\x00\x01" * 5000))
            assert await client.message() == b"\x00\x01" * 5000
            await client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            info = _info(flow)
            assert flow.request.scheme == "http" and flow.tunnel_id is None
            assert flow.state is FlowState.COMPLETE and info.end == "closed"
            assert _kept(info) == [
                (UP, TEXT, 14, b"over the proxy"),
                (DOWN, TEXT, 14, b"over the proxy"),
                (UP, BINARY, 10000, b"\x00\x01" * 5000),
                (DOWN, BINARY, 10000, b"\x00\x01" * 5000),
                (UP, CLOSE, 13, b"client done"),
                (DOWN, CLOSE, 13, b"client done"),
            ]
            assert [m.compressed for m in info.messages][:4] == [deflate] * 4
            assert (info.close_code, info.close_reason, info.closed_by) == (1000, "client done", UP)
            assert flow_line(flow) == (
                f"WS ws://{host}/abs?q -> 101 closed 1000, 2 msgs up 9.8 KiB, 2 down 9.8 KiB"
            )

    run(scenario())


def test_a_frame_sent_with_the_upgrade_request_is_relayed() -> None:
    """A client that does not wait for the 101 before its first frame: the
    bytes the request parser read past the head go on after it."""

    async def scenario() -> None:
        async with ws_origin() as port, running_proxy() as proxy:
            host = f"127.0.0.1:{port}"
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            client = RawWsClient(reader, writer)
            head = client.ws.send(Request(host=host, target=f"http://{host}/early"))
            # wsproto refuses to frame before the 101: frame by hand.
            frame = b"\x81\x85\x00\x00\x00\x00early"
            writer.write(head + frame)
            await writer.drain()
            assert isinstance(await client.next_event(), AcceptConnection)
            assert await client.message() == "early"
            await client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert _kept(_info(flow))[:2] == [(UP, TEXT, 5, b"early"), (DOWN, TEXT, 5, b"early")]

    run(scenario())


# The service's reads


def test_ws_messages_and_ws_message_through_the_service() -> None:
    async def scenario() -> None:
        async with ws_origin() as origin_port, engine_pair() as pair:
            port = await pair.start()
            async with ws_connect(f"ws://127.0.0.1:{origin_port}/svc", port) as ws:
                for i in range(5):
                    await ws.send(f"message {i} " + "x" * 1000)
                    await ws.recv()
            await pair.caught_up()
            [flow] = [f for f in pair.store if f.websocket is not None]
            row = pair.shown()[flow.id]
            assert row.is_websocket and row.scheme == "ws" and row.status == 101
            assert row.websocket == (5, 5, 5 * 1010, 5 * 1010, 1000)

            page = await pair.request("ws_messages", id=flow.id, after=-1, limit=4, preview=10)
            assert (page["first_seq"], page["next_seq"], page["open"]) == (0, 12, False)
            messages = [message_from_wire(m) for m in page["messages"]]
            assert [(m.seq, m.direction) for m in messages] == [
                (0, UP),
                (1, DOWN),
                (2, UP),
                (3, DOWN),
            ]
            assert messages[2].payload == b"message 1 " and messages[2].size == 1010
            assert messages[2].compressed and messages[2].truncated

            rest = await pair.request("ws_messages", id=flow.id, after=3)
            seqs = [message_from_wire(m).seq for m in rest["messages"]]
            assert seqs == list(range(4, 12))
            assert message_from_wire(rest["messages"][-1]).close_code == 1000

            one = await pair.request("ws_message", id=flow.id, seq=4)
            whole = message_from_wire(one["message"])
            assert whole.payload == b"message 2 " + b"x" * 1000 and not whole.truncated
            assert (await pair.request("ws_message", id=flow.id, seq=99)) == {"message": None}

            detail = flow_from_wire((await pair.request("detail", id=flow.id))["flow"])
            assert detail.flow.websocket is not None
            assert detail.flow.websocket.msgs_up == 5 and detail.flow.websocket.end == "closed"

            # Not a WebSocket flow, or no flow: an empty page.
            empty = await pair.request("ws_messages", id=flow.tunnel_id)
            assert not empty["messages"] and (empty["next_seq"], empty["open"]) == (0, False)
            assert (await pair.request("ws_message", id=12345, seq=0)) == {"message": None}
            with pytest.raises(EngineError):
                await pair.request("ws_messages", id=flow.id, after="0")
            with pytest.raises(EngineError):
                await pair.request("ws_messages", id=flow.id, limit=-1)
            with pytest.raises(EngineError):
                await pair.request("ws_message", id=flow.id)

    asyncio.run(scenario())


def test_a_page_follows_a_socket_still_open() -> None:
    async def scenario() -> None:
        async with ws_origin() as origin_port, engine_pair() as pair:
            port = await pair.start()
            async with ws_connect(f"ws://127.0.0.1:{origin_port}/", port) as ws:
                await ws.send("one")
                await ws.recv()

                def kept(count: int) -> Callable[[], bool]:
                    return lambda: any(
                        f.websocket is not None and f.websocket.next_seq == count
                        for f in pair.store
                    )

                await until(kept(2), what="the first echo recorded")
                [flow] = [f for f in pair.store if f.websocket is not None]
                page = await pair.request("ws_messages", id=flow.id)
                assert page["open"] is True and page["next_seq"] == 2
                await ws.send("two")
                await ws.recv()
                await until(kept(4), what="the second echo recorded")
                later = await pair.request("ws_messages", id=flow.id, after=page["next_seq"] - 1)
                assert [message_from_wire(m).payload for m in later["messages"]] == [b"two", b"two"]

    asyncio.run(scenario())


# Upgrades that are not WebSocket


def test_an_h2c_upgrade_is_forwarded_without_it() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request(
                "GET",
                f"{origin.base}/h2c",
                [
                    (b"Upgrade", b"h2c"),
                    (b"Connection", b"Upgrade, HTTP2-Settings"),
                    (b"HTTP2-Settings", b"AAMAAABkAARAAAAAAAIAAAAA"),
                ],
            )
            assert (answer.status, answer.body) == (200, b"hello /h2c")
            [received] = origin.requests
            names = {name.lower() for name, _ in received.headers}
            assert not names & {b"upgrade", b"connection", b"http2-settings"}
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.COMPLETE and flow.websocket is None

    run(scenario())


def test_a_refused_websocket_upgrade_is_an_ordinary_response() -> None:
    async def forbid(req: Received) -> Reply:
        assert (b"upgrade", b"websocket") in req.headers
        return Reply(403, [(b"Content-Type", b"text/plain")], b"no sockets here")

    async def scenario() -> None:
        async with Origin(forbid) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request(
                "GET",
                f"{origin.base}/ws",
                [
                    (b"Upgrade", b"websocket"),
                    (b"Connection", b"Upgrade"),
                    (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
                    (b"Sec-WebSocket-Version", b"13"),
                ],
            )
            assert (answer.status, answer.body) == (403, b"no sockets here")
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.websocket is None and flow.state is FlowState.COMPLETE
            assert summarize(flow)[S.SCHEME] == "http"

    run(scenario())


SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"


@pytest.mark.parametrize(
    "headers",
    [[], [(b"Upgrade", b"h2c"), (b"Connection", b"Upgrade, HTTP2-Settings")]],
    ids=["plain request", "h2c request"],
)
def test_an_upstream_switching_protocols_unasked_is_502(headers: list[tuple[bytes, bytes]]) -> None:
    async def switch(req: Received) -> bytes:
        return SWITCH + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"

    async def scenario() -> None:
        async with Origin(switch) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/plain", headers)
            assert answer.status == 502
            assert b"switched protocols" in answer.body
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED and flow.websocket is None
            assert flow.error is not None and flow.error.kind == "bad-response"
            assert "switched protocols" in flow.error.message

    run(scenario())


# The headless line


def test_headless_prints_the_websocket_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "--headless", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def readline() -> str:
        assert proc.stdout is not None
        return await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), TIMEOUT)

    async def scenario() -> None:
        first = await readline()
        assert first.startswith("listening on 127.0.0.1:"), first
        proxy_port = int(first.rsplit(":", 1)[1])
        async with ws_origin() as port:
            async with ws_connect(f"ws://127.0.0.1:{port}/live", proxy_port) as ws:
                await ws.send("0123456789")
                await ws.recv()
                await ws.send(b"abc")
                await ws.recv()
            lines = [await readline(), await readline()]
        assert (
            f"WS ws://127.0.0.1:{port}/live -> 101 closed 1000, 2 msgs up 13 B, 2 down 13 B\n"
            in (lines)
        ), lines

    try:
        asyncio.run(scenario())
    finally:
        proc.kill()
        proc.communicate(timeout=10)
