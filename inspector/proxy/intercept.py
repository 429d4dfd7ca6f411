"""Rules applied to a flow on its way out and on its way back, breakpoints
included.

``on_request`` runs before any upstream connection is opened. It asks the
rules which of them match (reading the request body first when a rule's
match or action needs it), then takes their request actions in order:
headers set and removed, the body rewritten, the target mapped elsewhere,
a delay, a breakpoint that holds the flow until a resume or abort request
lets it go, or a final action that answers the flow itself (a mock, a
local file, a block). It hands back what to send: the method, the target
and a ``ClientSide`` that serves the (possibly new) body from memory,
then whatever of it is still to come.

``on_response`` does the same with the response head, and when a rule
needs the body (a rewrite, a breakpoint, a body term) reads it whole, up
to the capture limit, so the upstream connection is let go before the
flow waits. A body over the limit, a server-sent event stream, or one
that stalls with no end in sight is held at its head, with what arrived.

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

from inspector.core import rule_apply
from inspector.core.flow import Flow, Headers, Response
from inspector.core.http_rules import Target, find_header
from inspector.core.rule_actions import (
    Block,
    BreakpointAction,
    Delay,
    MapLocal,
    MapRemote,
    RemoveHeader,
    ReplaceBody,
    Reply,
    SetHeader,
    Throttle,
)
from inspector.core.rules import REQUEST, RESPONSE, Plan, Rule, Step
from inspector.proxy import map_local, pages
from inspector.proxy.breakpoints import Breakpoints, Release
from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.errors import Aborted, ClientGone
from inspector.proxy.exchange import ClientSide
from inspector.proxy.stream import ByteStream, Stream
from inspector.proxy.throttle import Throttled
from inspector.proxy.upstream import UpstreamConnection

STREAM_TYPES = (b"text/event-stream", b"multipart/x-mixed-replace", b"application/x-ndjson")
"""Responses that may never end: held at their head."""
STALL = 1.0
"""A response body with no byte for this long and no end yet is taken
for a stream and held at its head."""


@dataclass(slots=True)
class Outgoing:
    """What goes upstream once the request's rules are done."""

    client: ClientSide
    method: bytes
    target: Target
    plan: Plan
    answered: bool | None = None
    """Set when a final action answered the flow: whether the client
    connection may be kept alive (nothing goes upstream)."""


def _needs_body(steps: list[Step]) -> bool:
    return any(isinstance(a, ReplaceBody | BreakpointAction) for _, a in steps)


async def on_request(
    client: ClientSide, flow: Flow, method: bytes, target: Target, points: Breakpoints
) -> Outgoing:
    rules, recorder = points.rules, client.ctx.recorder
    pause = points.may_hold(flow)
    origin = client
    body, whole = b"", True
    read = rules.needs_bodies(REQUEST)
    if read:
        client, body, whole = await _buffer(origin, flow)
    plan = rules.plan_request(flow, pause)
    if not plan.request:
        return Outgoing(client, method, target, plan)
    if not read and _needs_body(plan.request):
        client, body, whole = await _buffer(origin, flow)
    request = flow.request
    headers: Headers = list(request.headers)
    verb = method.decode("latin-1")
    for rule, action in plan.request:
        note = ""
        if isinstance(action, SetHeader):
            headers, note = rule_apply.set_header(action, headers)
        elif isinstance(action, RemoveHeader):
            headers, note = rule_apply.remove_header(action, headers)
        elif isinstance(action, MapRemote):
            target, headers, note = rule_apply.map_remote(action, target, headers)
        elif isinstance(action, ReplaceBody):
            new_headers, new_body, note = rule_apply.replace_body(action, headers, body, whole)
            if new_body is not None:
                headers, body = new_headers, new_body
                client = _Buffered(origin, [body], True)
                recorder.request_held(flow, body, False)
        elif isinstance(action, Delay):
            await asyncio.sleep(action.ms / 1000)
            note = f"delayed {action.ms} ms"
        elif isinstance(action, Throttle):
            note = _throttle_note(action)
        _commit_request(client.ctx, flow, verb, target, headers)
        if note:
            recorder.rule_applied(flow, rule.name, f"{action.type} {note}")
        if isinstance(action, BreakpointAction):
            release = await _wait(client, points, flow, REQUEST, body, not whole)
            if release.headers is not None:
                headers = release.headers
                verb = release.method or verb
                target = release.target or target
                if release.body is not None:
                    body = release.body
                    client = _Buffered(origin, [body], True)
                    recorder.request_held(flow, body, False)
                _commit_request(client.ctx, flow, verb, target, headers)
        elif action.final:
            answered = await _answer(client, flow, rule, action)
            return Outgoing(client, method, target, plan, answered)
    throttles = [a for _, a in plan.request if isinstance(a, Throttle)]
    if throttles:
        throttled = Throttled(client, throttles[-1])
        await throttled.latency()
        client = throttled
    return Outgoing(client, verb.encode("latin-1"), target, plan)


def _commit_request(
    ctx: EngineContext, flow: Flow, method: str, target: Target, headers: Headers
) -> None:
    flow.request.headers = headers
    ctx.recorder.request_edited(flow, method, target.scheme, target.host, target.port, target.path)


def _throttle_note(action: Throttle) -> str:
    down = f"{action.down_kbps:g}" if action.down_kbps else "unlimited"
    up = f"{action.up_kbps:g}" if action.up_kbps else "unlimited"
    return f"down {down} kbit/s, up {up} kbit/s, latency {action.latency_ms} ms"


async def _buffer(client: ClientSide, flow: Flow) -> tuple[ClientSide, bytes, bool]:
    """Read the request body (up to the capture limit): the client that
    serves it again, the body, and whether it is whole."""
    chunks, whole = await _read_request_body(client, flow)
    body = b"".join(chunks)
    client.ctx.recorder.request_held(flow, body, not whole)
    return _Buffered(client, chunks, whole), body, whole


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


async def _answer(client: ClientSide, flow: Flow, rule: Rule, action: object) -> bool:
    """A final action answers the flow; whether the connection may go on."""
    recorder = client.ctx.recorder
    if isinstance(action, Block) and action.reset:
        recorder.rule_applied(flow, rule.name, "block: connection reset")
        raise Aborted(f"blocked by rule {rule.name}", reset=True, kind="blocked")
    if isinstance(action, Block):
        text = f"Blocked by rule {rule.name}.\n".encode()
        headers: Headers = [(b"Content-Type", b"text/plain; charset=utf-8")]
        status, body, note = action.status, text, f"block: answered {action.status}"
    elif isinstance(action, Reply):
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in action.headers]
        status, body = action.status, action.body.encode("utf-8")
        note = f"reply: answered {status} ({len(body)} bytes)"
    else:
        assert isinstance(action, MapLocal)
        found = map_local.resolve(action, flow.request.target)
        status, headers = found.status, [(b"Content-Type", found.content_type)]
        if found.path is None:
            body, note = (found.message + "\n").encode(), found.message
        else:
            try:
                body = await map_local.read(found.path)
                note = f"map_local: answered from {found.path}"
            except OSError as exc:
                status, body = 500, f"map_local: {exc}\n".encode()
                headers, note = [(b"Content-Type", b"text/plain; charset=utf-8")], str(exc)
    recorder.rule_applied(flow, rule.name, note)
    keep = await _drain(client, flow)
    headers = [(n, v) for n, v in headers if n.lower() not in (b"content-length", b"connection")]
    headers.append((b"Content-Length", str(len(body)).encode()))
    if not keep:
        headers.append((b"Connection", b"close"))
    reason = pages.reason(status)
    data = client.start_response(h11.Response(status_code=status, headers=headers, reason=reason))
    if flow.request.method != "HEAD":
        data += client.frame(h11.Data(data=body))
    data += client.frame(h11.EndOfMessage())
    response = Response(
        status=status,
        reason=reason,
        headers=headers,
        body=body,
        body_size=len(body),
    )
    await client.send(data)
    recorder.finished(flow, response)
    return keep


async def _drain(client: ClientSide, flow: Flow) -> bool:
    """Read what is left of a request answered here (kept in the flow up
    to the capture limit); False when it is too large to wait for."""
    if not client.body_unread:
        return True
    chunks, whole = await _read_request_body(client, flow)
    if flow.request.body_size == 0:
        client.ctx.recorder.request_held(flow, b"".join(chunks), not whole)
    return whole


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
    """The body was read to its end (and the upstream let go)."""


def wants_response(flow: Flow, points: Breakpoints | None, plan: Plan | None) -> bool:
    """Whether some rule may act on the response."""
    if points is None:
        return False
    return bool(plan is not None and plan.response) or points.rules.judged_at_response


async def on_response(
    client: ClientSide,
    conn: UpstreamConnection,
    flow: Flow,
    head: h11.Response,
    response: Response,
    points: Breakpoints,
    plan: Plan,
    let_go: Callable[[], None],
) -> HeldResponse:
    """Apply the response's rules; the head (and body, read whole when
    ``complete``, the upstream then let go through ``let_go``) to send."""
    rules, recorder = points.rules, client.ctx.recorder
    held = HeldResponse(head)
    read = False
    if rules.needs_bodies(RESPONSE):
        await _read_response(client, conn, held, let_go)
        read = True
    _record_held(client, flow, held, response)
    plan = rules.plan_response(flow, plan, points.may_hold(flow))
    if not plan.response:
        return held
    if not read and _needs_body(plan.response):
        await _read_response(client, conn, held, let_go)
        _record_held(client, flow, held, response)
    headers: Headers = list(response.headers)
    status, reason = response.status, response.reason
    for rule, action in plan.response:
        note = ""
        if isinstance(action, SetHeader):
            headers, note = rule_apply.set_header(action, headers)
        elif isinstance(action, RemoveHeader):
            headers, note = rule_apply.remove_header(action, headers)
        elif isinstance(action, ReplaceBody):
            body = b"".join(held.chunks)
            new_headers, new_body, note = rule_apply.replace_body(
                action, headers, body, held.complete
            )
            if new_body is not None:
                headers, held.chunks = new_headers, [new_body]
        response.headers = headers
        _record_held(client, flow, held, response)
        if note:
            recorder.rule_applied(flow, rule.name, f"{action.type} {note}")
        if isinstance(action, BreakpointAction):
            body = b"".join(held.chunks)
            release = await _wait(client, points, flow, RESPONSE, body, not held.complete)
            if release.headers is not None:
                headers, status, reason = release.headers, release.status, release.reason
                if release.body is not None:
                    held.chunks = [release.body]
                response.status, response.reason, response.headers = status, reason, headers
                _record_held(client, flow, held, response)
    held.head = h11.Response(
        status_code=status,
        headers=headers,
        reason=reason.encode("latin-1", "replace"),
        http_version=head.http_version,
    )
    return held


def _record_held(client: ClientSide, flow: Flow, held: HeldResponse, response: Response) -> None:
    body = b"".join(held.chunks)
    response.body, response.body_size = body, len(body)
    client.ctx.recorder.response_held(flow, response)


async def _read_response(
    client: ClientSide, conn: UpstreamConnection, held: HeldResponse, let_go: Callable[[], None]
) -> None:
    """Read the body whole if it can be, else what came until it proved
    too large or streamed; a whole body lets the upstream go."""
    kind = find_header(held.head.headers.raw_items(), b"content-type") or b""
    if kind.split(b";", 1)[0].strip().lower() in STREAM_TYPES:
        return
    limit = client.ctx.settings.body_capture_limit
    size = 0
    while True:
        try:
            item = conn.poll()
            if item is None:
                await conn.fill(STALL)
                continue
        except TimeoutError:
            return  # it may never end: hold the head
        if isinstance(item, h11.Data):
            held.chunks.append(bytes(item.data))
            size += len(item.data)
            if size > limit:
                return
        elif isinstance(item, h11.EndOfMessage):
            held.complete = True
            let_go()
            return


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
