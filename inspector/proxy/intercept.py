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
from dataclasses import dataclass, field

import h11

from inspector.core import rule_apply
from inspector.core.flow import Flow, Headers, Response
from inspector.core.http_rules import Target, find_header
from inspector.core.rule_actions import (
    BreakpointAction,
    Delay,
    MapRemote,
    RemoveHeader,
    ReplaceBody,
    SetHeader,
    Throttle,
)
from inspector.core.rules import REQUEST, RESPONSE, Plan, Step
from inspector.proxy.breakpoints import Breakpoints, Release
from inspector.proxy.context import EngineContext
from inspector.proxy.errors import Aborted, ClientGone
from inspector.proxy.exchange import ClientSide
from inspector.proxy.held_body import Buffered, read_request_body
from inspector.proxy.rule_answer import answer
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
                client = Buffered(origin, [body], True)
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
                    client = Buffered(origin, [body], True)
                    recorder.request_held(flow, body, False)
                _commit_request(client.ctx, flow, verb, target, headers)
        elif action.final:
            answered = await answer(client, flow, rule, action)
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
    chunks, whole = await read_request_body(client, flow)
    body = b"".join(chunks)
    client.ctx.recorder.request_held(flow, body, not whole)
    return Buffered(client, chunks, whole), body, whole


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
