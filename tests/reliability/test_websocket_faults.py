"""WebSocket faults on either side of the proxy: a side closing in the
middle of a frame, a frame header announcing 2^40 bytes, frames masked
the wrong way, a peer that never finishes the closing handshake, and a
reset mid-stream. Both ends are raw sockets, so whatever happens the
bytes one side wrote must be exactly those the other side read; the flow
must end in a state that says what happened; and the engine must settle
back to idle with no task or socket left behind."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from wsproto.frame_protocol import CloseReason, FrameProtocol

import inspector.proxy.websocket as relay
from inspector.core.flow import Flow, FlowState
from inspector.core.websocket import BINARY, CLOSE, DOWN, PING, PONG, TEXT, UP, WebSocketInfo
from tests.core.test_ws_decode import client_frame, frame
from tests.proxy.harness import Proxy, run, running_proxy
from tests.reliability import helpers
from tests.reliability.helpers import RawOrigin, leak_check

TIMEOUT = 30.0
"""Generous: the machine running the suite may be slow and busy."""

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)
CLIENT_CLOSE = client_frame(CLOSE, struct.pack("!H", 1000) + b"bye")
SERVER_CLOSE = frame(CLOSE, struct.pack("!H", 1000) + b"bye")


def _upgrade(port: int) -> bytes:
    return (
        f"GET http://127.0.0.1:{port}/socket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {KEY.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class End:
    """One end of a relayed WebSocket, keeping all it wrote and all it read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.sent = bytearray()
        self.got = bytearray()
        self.finished = asyncio.Event()
        """For the origin's end: its connection is aborted once set."""

    async def send(self, data: bytes) -> None:
        self.sent += data
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, size: int) -> bytes:
        async with asyncio.timeout(TIMEOUT):
            data = await self.reader.readexactly(size)
        self.got += data
        return data

    async def read_to_end(self) -> bytes:
        """All until the proxy closes or resets this connection."""
        start = len(self.got)
        async with asyncio.timeout(TIMEOUT):
            with contextlib.suppress(ConnectionResetError):
                while chunk := await self.reader.read(65536):
                    self.got += chunk
        return bytes(self.got[start:])

    def half_close(self) -> None:
        self.writer.write_eof()

    async def close(self) -> None:
        """An orderly close (FIN), everything received having been read."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    def reset(self) -> None:
        helpers.reset(self.writer)


@dataclass
class Socket:
    proxy: Proxy
    client: End
    server: End

    async def flow(self) -> Flow:
        await self.proxy.wait_flows(1, TIMEOUT)
        [flow] = self.proxy.store
        return flow

    def assert_relayed_exactly(self, flow: Flow) -> None:
        assert bytes(self.server.got) == bytes(self.client.sent)
        assert bytes(self.client.got) == bytes(self.server.sent)
        info = _info(flow)
        assert (info.wire_up, info.wire_down) == (len(self.client.sent), len(self.server.sent))


@contextlib.asynccontextmanager
async def websocket(first_up: bytes = b"", first_down: bytes = b"") -> AsyncIterator[Socket]:
    """A proxy, an origin and a client, the upgrade done in absolute form;
    ``first_up`` goes in the same write as the request, ``first_down`` in
    the same write as the 101. Around it all, the leak check."""
    ends: asyncio.Queue[End] = asyncio.Queue()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await origin.read_head(reader)
        end = End(reader, writer)
        end.sent += first_down
        writer.write(ACCEPT + first_down)
        await writer.drain()
        ends.put_nowait(end)
        await end.finished.wait()

    origin = RawOrigin(script)
    async with running_proxy() as proxy, leak_check(proxy), origin:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        client = End(reader, writer)
        client.sent += first_up
        writer.write(_upgrade(origin.port) + first_up)
        async with asyncio.timeout(TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
            server = await ends.get()
        assert head.startswith(b"HTTP/1.1 101 "), head
        try:
            yield Socket(proxy, client, server)
        finally:
            server.finished.set()
            writer.transport.abort()


def _info(flow: Flow) -> WebSocketInfo:
    assert flow.websocket is not None
    return flow.websocket


def _failed(flow: Flow, kind: str, message: str) -> None:
    assert flow.state is FlowState.FAILED, flow
    assert flow.error is not None and flow.error.kind == kind, flow.error
    assert flow.error.message.startswith(message), flow.error
    assert _info(flow).end == flow.error.message


def _kept(flow: Flow) -> list[tuple[int, int, int, bytes]]:
    return [(m.direction, m.opcode, m.size, m.payload) for m in _info(flow).messages]


# A clean exchange first: what the faults are measured against


def test_a_long_exchange_both_ways_is_relayed_exactly() -> None:
    """Frames in the same writes as the request and the 101, a megabyte
    and more each way with backpressure, a closing handshake."""
    client_proto = FrameProtocol(client=True, extensions=[])
    server_proto = FrameProtocol(client=False, extensions=[])
    first_up = client_proto.send_data(b"early")
    first_down = server_proto.send_data(b"also early")
    sizes = [0, 1, 125, 126, 65535, 65536, 300_000, 700_000]
    up = b"".join(client_proto.send_data(bytes([n % 251]) * n) for n in sizes)
    down = b"".join(server_proto.send_data("é" * (n // 2)) for n in sizes)
    up += client_proto.ping(b"ping") + client_proto.send_data(b"frag", fin=False)
    up += client_proto.send_data(b"mented", fin=True)
    down += server_proto.pong(b"ping")

    async def scenario() -> None:
        async with websocket(first_up, first_down) as ws:
            await asyncio.gather(
                ws.client.send(up),
                ws.server.send(down),
                ws.client.read(len(first_down) + len(down)),
                ws.server.read(len(first_up) + len(up)),
            )
            await ws.client.send(client_proto.close(CloseReason.NORMAL_CLOSURE, "done"))
            await ws.server.read(len(ws.client.sent) - len(ws.server.got))
            await ws.server.send(server_proto.close(CloseReason.NORMAL_CLOSURE, "done"))
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        assert flow.state is FlowState.COMPLETE and flow.error is None
        info = _info(flow)
        assert info.end == "closed" and info.note == ""
        assert (info.close_code, info.closed_by, info.closing_handshake) == (1000, UP, True)
        assert (info.msgs_up, info.msgs_down) == (len(sizes) + 2, len(sizes) + 1)
        assert info.bytes_up == sum(sizes) + len(b"early") + len(b"fragmented")
        kept = _kept(flow)
        assert [k[2] for k in kept if k[0] == UP and k[1] == BINARY] == [5, *sizes, 10]
        assert (UP, PING, 4, b"ping") in kept and (DOWN, PONG, 4, b"ping") in kept

    run(scenario())


# A side closing in the middle of a frame


def test_the_client_closing_mid_frame() -> None:
    partial = client_frame(BINARY, b"x" * 100)[:60]

    async def scenario() -> None:
        async with websocket() as ws:
            await ws.client.send(client_frame(TEXT, b"whole") + partial)
            ws.client.half_close()
            await ws.server.read_to_end()
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-truncated", "the client closed the connection in the middle of a frame")
        assert _kept(flow) == [(UP, TEXT, 5, b"whole")]

    run(scenario())


def test_the_origin_closing_mid_frame() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(frame(TEXT, b"whole") + frame(BINARY, b"y" * 1000)[:500])
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-truncated", "the server closed the connection in the middle of a frame")
        assert _kept(flow) == [(DOWN, TEXT, 5, b"whole")]

    run(scenario())


def test_closing_in_the_middle_of_a_fragmented_message() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(frame(TEXT, b"first of two", fin=False))
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-truncated", "the server closed")
        assert _kept(flow) == []

    run(scenario())


# A frame header announcing more than anyone will send


@pytest.mark.parametrize("side", ["client", "server"])
def test_a_frame_of_2_to_the_40_bytes_then_a_close(side: str) -> None:
    body = bytes(range(256)) * 1024

    async def scenario() -> None:
        async with websocket() as ws:
            if side == "client":
                # Masked with a zero key, which leaves the body as it is.
                huge = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"\x00" * 4
                await ws.client.send(huge + body)
                ws.client.half_close()
                await ws.server.read_to_end()
                await ws.server.close()
                await ws.client.read_to_end()
            else:
                huge = bytes([0x82, 127]) + struct.pack("!Q", 1 << 40)
                await ws.server.send(huge + body)
                await ws.server.close()
                await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-truncated", f"the {side} closed the connection in the middle of a frame")
        info = _info(flow)
        assert info.messages == type(info.messages)() and info.note == ""

    run(scenario())


def test_a_length_no_parser_accepts_stops_decoding_not_relaying() -> None:
    """2^63 and up is forbidden (RFC 6455 section 5.2): the decoder gives
    up with a note; the bytes still pass both ways."""

    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(bytes([0x82, 127]) + struct.pack("!Q", 1 << 63) + b"z" * 100)
            await ws.client.read(110)
            await ws.client.send(client_frame(TEXT, b"still decoded this way"))
            await ws.server.read(len(ws.client.sent))
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        assert flow.state is FlowState.COMPLETE and flow.error is None
        info = _info(flow)
        assert info.end == "closed without a close frame"
        assert (
            info.note == "decoding stopped (server side): 8-byte payload length with non-zero MSB"
        )
        assert _kept(flow) == [(UP, TEXT, 22, b"still decoded this way")]

    run(scenario())


# Masking the wrong way


def test_an_origin_masking_its_frames() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(client_frame(TEXT, b"masked by mistake"))
            await ws.client.read(len(ws.server.sent))
            await ws.client.send(CLIENT_CLOSE)
            await ws.server.read(len(CLIENT_CLOSE))
            await ws.server.send(client_frame(CLOSE, struct.pack("!H", 1000)))
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        assert flow.state is FlowState.COMPLETE and flow.error is None
        info = _info(flow)
        assert (
            info.note == "decoding stopped (server side): client received unexpected masked frame"
        )
        assert (info.end, info.close_code, info.closed_by) == ("closed", 1000, UP)
        assert not info.closing_handshake  # the origin's close went undecoded
        assert _kept(flow) == [(UP, CLOSE, 5, b"bye")]

    run(scenario())


def test_a_client_not_masking_its_frames() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.client.send(frame(TEXT, b"unmasked") + frame(CLOSE, b"\x03\xe8"))
            await ws.server.read(len(ws.client.sent))
            await ws.server.send(SERVER_CLOSE)
            await ws.server.close()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        assert flow.state is FlowState.COMPLETE and flow.error is None
        info = _info(flow)
        assert info.note == (
            "decoding stopped (client side): server received unexpected unmasked frame"
        )
        assert (info.end, info.close_code, info.closed_by) == ("closed", 1000, DOWN)
        assert _kept(flow) == [(DOWN, CLOSE, 5, b"bye")]

    run(scenario())


# A closing handshake that never finishes


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The grace a closing peer gets, made short: these tests wait it out.
    Everything they check passed before the grace began, so however slow
    the machine, the outcome is the same."""
    monkeypatch.setattr(relay, "CLOSE_GRACE", 0.2)


@pytest.mark.usefixtures("short_grace")
def test_an_origin_that_never_answers_a_close_frame() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.client.send(client_frame(TEXT, b"last") + CLIENT_CLOSE)
            await ws.server.read(len(ws.client.sent))
            # Neither answers nor closes: the proxy cuts both after the grace.
            await asyncio.gather(ws.client.read_to_end(), ws.server.read_to_end())
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-close-timeout", "the closing handshake did not finish within 0.2 s")
        info = _info(flow)
        assert (info.close_code, info.closed_by, info.closing_handshake) == (1000, UP, False)

    run(scenario())


@pytest.mark.usefixtures("short_grace")
def test_a_client_that_never_answers_nor_closes() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(SERVER_CLOSE)
            await ws.server.close()
            # The client reads the close and the end, and stays connected.
            assert await ws.client.read_to_end() == SERVER_CLOSE
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-close-timeout", "the closing handshake did not finish")
        info = _info(flow)
        assert (info.close_code, info.closed_by, info.closing_handshake) == (1000, DOWN, False)

    run(scenario())


@pytest.mark.usefixtures("short_grace")
def test_a_half_close_without_a_close_frame_gets_the_grace_too() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(frame(TEXT, b"hello?"))
            await ws.client.read(len(ws.server.sent))
            await ws.client.send(client_frame(TEXT, b"and I am gone"))
            ws.client.half_close()
            # The origin reads to the end and keeps its side open.
            await ws.server.read_to_end()
            await ws.client.read_to_end()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-close-timeout", "the closing handshake did not finish")
        assert _info(flow).close_code is None

    run(scenario())


# A reset mid-stream


def test_the_origin_resetting_between_frames() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(frame(TEXT, b"one"))
            await ws.client.read(len(ws.server.sent))
            ws.server.reset()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        _failed(flow, "ws-reset", "the server connection was reset")
        assert _kept(flow) == [(DOWN, TEXT, 3, b"one")]

    run(scenario())


def test_the_origin_resetting_mid_frame() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.server.send(frame(BINARY, b"b" * 200)[:100])
            await ws.client.read(100)
            ws.server.reset()
            await ws.client.read_to_end()
            await ws.client.close()
            flow = await ws.flow()
            ws.assert_relayed_exactly(flow)
        # The reset is what happened; the cut frame follows from it.
        _failed(flow, "ws-reset", "the server connection was reset")

    run(scenario())


def test_the_client_resetting() -> None:
    async def scenario() -> None:
        async with websocket() as ws:
            await ws.client.send(client_frame(TEXT, b"hi"))
            await ws.server.read(len(ws.client.sent))
            await ws.server.send(frame(TEXT, b"hello"))
            await ws.client.read(len(ws.server.sent))
            ws.client.reset()
            await ws.server.read_to_end()
            await ws.server.close()
            flow = await ws.flow()
            assert bytes(ws.server.got) == bytes(ws.client.sent)
            assert bytes(ws.client.got) == bytes(ws.server.sent)
        _failed(flow, "ws-reset", "the client connection was reset")
        assert _kept(flow) == [(UP, TEXT, 2, b"hi"), (DOWN, TEXT, 5, b"hello")]

    run(scenario())


def test_a_write_to_a_side_that_was_reset_blames_that_side() -> None:
    """The origin half-closes, then resets: having seen its FIN the proxy
    no longer reads it, and learns of the reset writing the client's next
    frame to it. The failure is the server's connection, not the client's."""

    async def scenario() -> None:
        async with websocket() as ws:
            ws.server.half_close()
            assert await ws.client.read_to_end() == b""  # the end passed on
            ws.server.reset()
            async with asyncio.timeout(TIMEOUT):
                while not all(f.finished for f in ws.proxy.store):
                    with contextlib.suppress(ConnectionError):
                        await ws.client.send(client_frame(TEXT, b"anyone?"))
                    await asyncio.sleep(0.01)
            flow = await ws.flow()
        _failed(flow, "ws-reset", "the server connection was reset: connection lost")

    run(scenario())
