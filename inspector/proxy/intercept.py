"""Holding a flow at a breakpoint, on its way out and on its way back.

``hold_request`` runs before any upstream connection is opened: it reads
the request body (up to the capture limit; a ``100-continue`` client is
told to go ahead), holds the flow until a resume or abort request lets it
go, and hands back what to send: the method, the target and a
``ClientSide`` that serves the (possibly edited) body from memory, then
whatever of it is still to come.

``read_response`` reads a response the way a breakpoint wants it: whole,
up to the capture limit, so the caller can give the upstream connection
back before the flow waits; a body over the limit, a server-sent event
stream, or one that stalls with no end in sight is held at its head, with
what arrived so far. ``hold_response`` then waits and applies the edit.

A held flow waits as long as it takes; only the client hanging up ends
the wait (the flow then fails as "client closed").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import h11

from inspector.core.flow import Flow, Response
from inspector.core.http_rules import Target, find_header
from inspector.core.rules import REQUEST, RESPONSE
from inspector.proxy.breakpoints import Breakpoints, Release
from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.errors import Aborted, ClientGone
from inspector.proxy.exchange import ClientSide
from inspector.proxy.stream import ByteStream, Stream
from inspector.proxy.upstream import UpstreamConnection

STREAM_TYPES = (b"text/event-stream", b"multipart/x-mixed-replace", b"application/x-ndjson")
"""Responses that may never end: held at their head."""
STALL = 1.0
"""A response body with no byte for this long and no end yet is taken
for a stream and held at its head."""


@dataclass(slots=True)
class HeldRequest:
    client: ClientSide
    method: bytes
    target: Target
    rule: int
    """The breakpoint that held it (it may hold the response too)."""


async def hold_request(
    client: ClientSide, flow: Flow, method: bytes, target: Target, points: Breakpoints
) -> HeldRequest | None:
    """Hold ``flow`` at its request if a breakpoint matches; None when
    none does and nothing was read."""
    rules = points.rules
    rule = None
    if not rules.needs_bodies(REQUEST):
        rule = rules.breakpoint_for(flow, REQUEST)
        if rule is None:
            return None
    chunks, complete = await _read_request_body(client, flow)
    body = b"".join(chunks)
    client.ctx.recorder.request_held(flow, body, not complete)
    buffered = _Buffered(client, chunks, complete)
    if rule is None:
        rule = rules.breakpoint_for(flow, REQUEST)
        if rule is None:
            return HeldRequest(buffered, method, target, 0)
    release = await _wait(client, points, flow, REQUEST, body, not complete)
    if release.headers is None:
        return HeldRequest(buffered, method, target, rule.id)
    new_target = release.target or target
    request = flow.request
    request.headers = release.headers
    client.ctx.recorder.request_edited(
        flow, release.method, new_target.scheme, new_target.host, new_target.port, new_target.path
    )
    if release.body is not None:
        buffered = _Buffered(client, [release.body], True)
        client.ctx.recorder.request_held(flow, release.body, False)
    return HeldRequest(buffered, release.method.encode("latin-1"), new_target, rule.id)


async def _read_request_body(client: ClientSide, flow: Flow) -> tuple[list[bytes], bool]:
    """The request body, up to the capture limit: (chunks, whole)."""
    settings = client.ctx.settings
    if not client.body_unread:
        return [], True
    expect = find_header(flow.request.headers, b"expect")
    if expect is not None and expect.lower() == b"100-continue":
        data = client.send_informational(h11.InformationalResponse(status_code=100, headers=[]))
        if data:
            await client.send(data)
        # The body is read here now; the upstream is not asked to wait for it.
        flow.request.headers = [(n, v) for n, v in flow.request.headers if n.lower() != b"expect"]
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await client.next_body_event(settings.client_idle_timeout)
        if isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
            size += len(event.data)
            if size > settings.body_capture_limit:
                return chunks, False
        elif isinstance(event, h11.EndOfMessage):
            return chunks, True


async def _wait(
    client: ClientSide, points: Breakpoints, flow: Flow, phase: str, body: bytes, head_only: bool
) -> Release:
    """Hold ``flow`` until it is let go; raises Aborted, or ClientGone if
    the client hangs up meanwhile."""
    recorder = client.ctx.recorder
    held = points.hold(flow, phase, body, head_only, time.time())
    gone = False

    def hung_up() -> None:
        nonlocal gone
        gone = True
        if not held.future.done():
            held.future.cancel()

    recorder.paused(flow, phase)
    try:
        with client.hangup(hung_up) as watching:
            if not watching:
                raise ClientGone
            release = await held.future
    except asyncio.CancelledError:
        recorder.unpaused(flow, "gone")
        if gone:
            raise ClientGone from None
        raise
    except ClientGone:
        recorder.unpaused(flow, "gone")
        raise
    finally:
        points.let_go(flow.id)
    if release.abort:
        recorder.unpaused(flow, "aborted")
        raise Aborted(release.abort_reason, release.reset)
    recorder.unpaused(flow, "edited" if release.changed else "resumed", release.changed)
    return release


@dataclass(slots=True)
class HeldResponse:
    head: h11.Response
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False
    """The body was read to its end (the upstream can be let go)."""


def wants_response(flow: Flow, points: Breakpoints | None, rule: int) -> bool:
    """Whether the response must be read before it is sent on: a
    breakpoint may hold it (possibly only once its body is known)."""
    if points is None or flow.replay_of is not None or flow.composed:
        return False
    return bool(rule) or bool(points.rules.pausing(RESPONSE))


async def read_response(
    client: ClientSide, conn: UpstreamConnection, flow: Flow, head: h11.Response
) -> HeldResponse:
    """Read the response for a breakpoint: whole if it can be, else what
    came until it proved too large or streamed."""
    held = HeldResponse(head)
    kind = find_header(head.headers.raw_items(), b"content-type") or b""
    if kind.split(b";", 1)[0].strip().lower() in STREAM_TYPES:
        return held
    limit = client.ctx.settings.body_capture_limit
    size = 0
    while True:
        try:
            item = conn.poll()
            if item is None:
                await conn.fill(STALL)
                continue
        except TimeoutError:
            return held  # it may never end: hold the head
        if isinstance(item, h11.Data):
            held.chunks.append(bytes(item.data))
            size += len(item.data)
            if size > limit:
                return held
        elif isinstance(item, h11.EndOfMessage):
            held.complete = True
            return held


async def hold_response(
    client: ClientSide,
    flow: Flow,
    held: HeldResponse,
    response: Response,
    points: Breakpoints,
    rule: int,
) -> HeldResponse:
    """Hold the response if a breakpoint matches; the head (and body) to
    send once it is let go."""
    body = b"".join(held.chunks)
    response.body, response.body_size = body, len(body)
    client.ctx.recorder.response_held(flow, response)
    if points.rules.breakpoint_for(flow, RESPONSE, rule or None) is None:
        return held
    release = await _wait(client, points, flow, RESPONSE, body, not held.complete)
    if release.headers is None:
        return held
    response.status, response.reason = release.status, release.reason
    response.headers = release.headers
    chunks = held.chunks if release.body is None else [release.body]
    head = h11.Response(
        status_code=release.status,
        headers=release.headers,
        reason=release.reason.encode("latin-1", "replace"),
        http_version=held.head.http_version,
    )
    return HeldResponse(head, chunks, held.complete)


class _Buffered:
    """The client, with its request body (or the start of it) already
    read: served from memory first, then from the client."""

    def __init__(self, client: ClientSide, chunks: list[bytes], complete: bool) -> None:
        self._client = client
        self.ctx: EngineContext = client.ctx
        self.tunnel: TunnelContext | None = client.tunnel
        self._chunks = [c for c in chunks if c]
        self._complete = complete

    @property
    def peername(self) -> tuple[str, int]:
        return self._client.peername

    def finish_request_nowait(self) -> bool:
        return self._complete and not self._chunks

    async def next_body_event(self, timeout: float) -> h11.Event:
        if self._chunks:
            return h11.Data(data=self._chunks.pop(0))
        if self._complete:
            return h11.EndOfMessage()
        return await self._client.next_body_event(timeout)

    @property
    def body_unread(self) -> bool:
        return bool(self._chunks) or (not self._complete and self._client.body_unread)

    async def wait_readable(self) -> None:
        if self._chunks or self._complete:
            return
        await self._client.wait_readable()

    def send_informational(self, event: h11.InformationalResponse) -> bytes | None:
        return self._client.send_informational(event)

    def start_response(self, event: h11.Response) -> bytes:
        return self._client.start_response(event)

    def frame(self, event: h11.Data | h11.EndOfMessage) -> bytes:
        return self._client.frame(event)

    async def send(self, data: bytes) -> None:
        await self._client.send(data)

    def hangup(self, callback: Callable[[], None]) -> AbstractContextManager[bool]:
        return self._client.hangup(callback)

    def upgraded(self) -> tuple[ByteStream, bytes]:
        return self._client.upgraded()

    async def take_over(self) -> Stream:
        return await self._client.take_over()

    async def serve_inner(self, stream: ByteStream, tunnel: TunnelContext) -> None:
        await self._client.serve_inner(stream, tunnel)
