"""A WebSocket after its 101: bytes relayed untouched both ways, messages
decoded from a copy.

Each direction is a pump: read what one side sent, write it to the other
(waiting for room there, so backpressure crosses the proxy both ways),
then hand the same bytes to that direction's decoder, whose messages the
recorder keeps. Decoding never touches the relayed bytes: when it fails
the flow gets a note and the bytes keep flowing.

A side that closes half-closes the other. Once a close frame has passed,
or one side has closed, the other gets ``CLOSE_GRACE`` seconds to finish
before both are cut, so a peer that never completes the closing
handshake cannot hold the connection forever.
"""

from __future__ import annotations

import asyncio

import h11

from inspector.core.flow import Flow, FlowError, Response
from inspector.core.http_rules import find_header, upgrade_response_headers
from inspector.core.websocket import DOWN, UP, WebSocketInfo
from inspector.core.ws_decode import DirectionDecoder
from inspector.proxy.errors import UpstreamError
from inspector.proxy.exchange import ClientSide
from inspector.proxy.stream import RELAY_READ, ByteStream, StreamClosed
from inspector.proxy.upstream import UpstreamConnection

CLOSE_GRACE = 10.0
"""Seconds the other side gets to finish once a close began."""


async def relay_websocket(
    client: ClientSide, conn: UpstreamConnection, flow: Flow, answer: h11.InformationalResponse
) -> None:
    """Send the 101 to the client and relay the WebSocket to its end."""
    ctx = client.ctx
    recorder = ctx.recorder
    raw_headers = answer.headers.raw_items()
    head = client.send_informational(
        h11.InformationalResponse(
            status_code=101,
            headers=list(upgrade_response_headers(raw_headers)),
            reason=answer.reason,
        )
    )
    if head is None:
        raise UpstreamError(502, "bad-response", "an HTTP/1.0 client cannot switch protocols")
    await client.send(head)
    recorder.response_started(
        flow,
        Response(
            status=101,
            reason=answer.reason.decode("latin-1"),
            version=answer.http_version.decode("ascii", "replace"),
            headers=raw_headers,
        ),
    )
    extensions = _text(find_header(raw_headers, b"sec-websocket-extensions"))
    info = WebSocketInfo(
        tls=flow.request.scheme == "https",
        protocol=_text(find_header(raw_headers, b"sec-websocket-protocol")),
        extensions=extensions,
    )
    recorder.websocket_opened(flow, info)
    downstream, from_client = client.upgraded()
    upstream = conn.stream
    from_server = bytes(conn.h11.trailing_data[0])
    session = _Session(client, flow, extensions)
    try:
        await session.run(downstream, upstream, from_client, from_server)
    except asyncio.CancelledError:
        recorder.websocket_closed(
            flow, "the proxy stopped", FlowError("shutdown", "the proxy stopped")
        )
        raise
    finally:
        ctx.pool.discard(conn)


class _Session:
    """The two pumps of one WebSocket and how it ended."""

    def __init__(self, client: ClientSide, flow: Flow, extensions: str) -> None:
        self.client = client
        self.flow = flow
        self.decoders = (DirectionDecoder(UP, extensions), DirectionDecoder(DOWN, extensions))
        self.noted = [False, False]
        self.failure: FlowError | None = None
        self.closing = asyncio.Event()
        """Set once a close frame passed or a side closed."""
        for direction, decoder in enumerate(self.decoders):
            if decoder.failed:
                self._note(direction)

    async def run(
        self, downstream: ByteStream, upstream: ByteStream, from_client: bytes, from_server: bytes
    ) -> None:
        up = asyncio.ensure_future(self._pump(UP, downstream, upstream, from_client))
        down = asyncio.ensure_future(self._pump(DOWN, upstream, downstream, from_server))
        watchdog = asyncio.ensure_future(self._watch(downstream, upstream))
        try:
            await asyncio.gather(up, down)
        finally:
            for task in (up, down, watchdog):
                task.cancel()
            await asyncio.gather(up, down, watchdog, return_exceptions=True)
        self._finish()

    async def _pump(
        self, direction: int, source: ByteStream, sink: ByteStream, first: bytes
    ) -> None:
        recorder = self.client.ctx.recorder
        # The side whose connection an error is about: the source's, except
        # while writing to the sink (the other side's).
        failing = direction
        try:
            data = first
            while True:
                if data:
                    recorder.websocket_bytes(self.flow, direction, len(data))
                    failing = 1 - direction
                    await sink.send(data)
                    failing = direction
                    self._decode(direction, data)
                data = await source.read(RELAY_READ)
                if not data:
                    break
        except (StreamClosed, ConnectionError) as exc:
            self._fail(failing, exc)
            source.abort()
            sink.abort()
            return
        if source.is_closing:
            # The read ended because the connection was lost (a reset), not
            # closed: a peer's FIN leaves the transport open for writing.
            self._fail(direction, None)
        self.closing.set()
        sink.write_eof()

    def _decode(self, direction: int, data: bytes) -> None:
        decoder = self.decoders[direction]
        if decoder.failed:
            return
        messages = decoder.feed(data)
        settings = self.client.ctx.settings
        if messages:
            self.client.ctx.recorder.websocket_messages(
                self.flow,
                direction,
                messages,
                settings.ws_max_messages,
                settings.ws_max_flow_bytes,
            )
            if any(m.close_code is not None for m in messages):
                self.closing.set()
        if decoder.failed:
            self._note(direction)

    def _note(self, direction: int) -> None:
        if not self.noted[direction]:
            self.noted[direction] = True
            self.client.ctx.recorder.websocket_undecodable(
                self.flow, direction, self.decoders[direction].failed
            )

    def _fail(self, side: int, exc: BaseException | None) -> None:
        """``side``'s connection failed (``UP`` is the client's)."""
        if self.failure is None:
            name = "client" if side == UP else "server"
            detail = f": {exc}" if exc is not None else ""
            self.failure = FlowError("ws-reset", f"the {name} connection was reset{detail}")

    async def _watch(self, downstream: ByteStream, upstream: ByteStream) -> None:
        await self.closing.wait()
        await asyncio.sleep(CLOSE_GRACE)
        if self.failure is None:
            self.failure = FlowError(
                "ws-close-timeout",
                f"the closing handshake did not finish within {CLOSE_GRACE:g} s",
            )
        downstream.abort()
        upstream.abort()

    def _finish(self) -> None:
        recorder = self.client.ctx.recorder
        info = self.flow.websocket
        assert info is not None
        if self.failure is None:
            for direction, decoder in enumerate(self.decoders):
                if decoder.incomplete:
                    side = "client" if direction == UP else "server"
                    self.failure = FlowError(
                        "ws-truncated", f"the {side} closed the connection in the middle of a frame"
                    )
                    break
        if self.failure is not None:
            recorder.websocket_closed(self.flow, self.failure.message, self.failure)
        elif info.close_code is None:
            recorder.websocket_closed(self.flow, "closed without a close frame")
        else:
            recorder.websocket_closed(self.flow, "closed")


def _text(value: bytes | None) -> str:
    return value.decode("latin-1") if value is not None else ""
