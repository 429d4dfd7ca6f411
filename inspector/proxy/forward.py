"""Forwarding one plain-HTTP request upstream and streaming the answer back.

Bodies stream in both directions a chunk at a time, each write awaiting room
in the receiving transport, so memory stays flat however large the body;
the flow keeps a capture of each body up to the capture limit.

A request without a body that fails on a reused pooled connection before
any response byte is retried once on a fresh connection: the server may
have closed the idle connection just as it was picked (RFC 9112 section
9.3.1 allows retrying such idempotent-in-effect requests).
"""

from __future__ import annotations

import asyncio
from typing import overload

import h11

from inspector.core import http_rules
from inspector.core.capture import BodyCapture
from inspector.core.events import WarningRaised
from inspector.core.flow import Flow, Headers, HeaderSeq, Response, authority, bracketed
from inspector.core.http_rules import (
    MAX_HEAD_SIZE,
    MessageRejected,
    Target,
    check_framing,
    find_header,
    forwardable_headers,
    relayable_response_headers,
    upgrade_request_headers,
)
from inspector.core.rules import Plan
from inspector.core.websocket import is_websocket_upgrade
from inspector.proxy.context import EngineContext
from inspector.proxy.errors import ClientError, ClientGone, UpstreamError
from inspector.proxy.exchange import ClientSide
from inspector.proxy.intercept import on_request, on_response, wants_response
from inspector.proxy.stream import StreamClosed
from inspector.proxy.throttle import Throttled
from inspector.proxy.upstream import Origin, UpstreamConnection
from inspector.proxy.websocket import relay_websocket

Head = h11.Response | h11.InformationalResponse
"""A final response head, or a 101 that switched to WebSocket."""


async def forward(client: ClientSide, flow: Flow, method: bytes, target: Target) -> bool:
    """Forward the request; True when the client connection may be reused.

    Raises UpstreamError (answered by the caller, or turned into a cut
    connection once the response has started), ClientError, ClientGone,
    Aborted (a breakpoint's flow aborted).
    """
    ctx = client.ctx
    points = ctx.breakpoints
    plan: Plan | None = None
    if points is not None and points.rules.any_active:
        outgoing = await on_request(client, flow, method, target, points)
        if outgoing.answered is not None:
            return outgoing.answered  # a rule answered it
        client, method, target = outgoing.client, outgoing.method, outgoing.target
        plan = outgoing.plan
    websocket = is_websocket_upgrade(flow.request.headers)
    if websocket:
        headers = upgrade_request_headers(flow.request.headers)
    else:
        headers = forwardable_headers(flow.request.headers)
    if find_header(flow.request.headers, b"host") is None:
        headers = [(b"Host", _authority(target).encode("ascii")), *headers]
    try:
        out = h11.Request(
            method=method, target=target.path.encode("latin-1"), headers=_listed(headers)
        )
    except h11.LocalProtocolError as exc:
        raise ClientError(400, "bad-request", f"cannot forward this request: {exc}") from None

    conn: UpstreamConnection | None = None
    try:
        origin = (target.scheme, target.host, target.port)
        conn, response = await _start(client, flow, out, origin, websocket)
        ctx.recorder.request_head_sent(flow)
        if response is None:
            expect = find_header(flow.request.headers, b"expect")
            expects_continue = expect is not None and expect.lower() == b"100-continue"
            response = await _send_body_and_read_head(client, conn, flow, expects_continue)
        ctx.recorder.response_head_received(flow)
        if isinstance(response, h11.InformationalResponse):
            # 101: the WebSocket owns both connections from here on.
            switched, conn = conn, None
            await relay_websocket(client, switched, flow, response)
            return False
        if wants_response(flow, points, plan):
            assert points is not None
            recorded = _response_of(response)

            def let_go() -> None:
                # Read whole: the upstream is free while the flow is held.
                nonlocal conn
                assert conn is not None
                _release(ctx, conn, target.host)
                conn = None

            kept = await on_response(
                client, conn, flow, response, recorded, points, plan or Plan(), let_go
            )
            keep_alive = await _relay_response(
                client, conn, flow, kept.head, recorded, kept.chunks, kept.complete
            )
        else:
            keep_alive = await _relay_response(client, conn, flow, response)
        if conn is not None:
            _release(ctx, conn, target.host)
            conn = None
        if isinstance(client, Throttled):
            ctx.recorder.proxy_added(flow, client.paced)
        ctx.recorder.finished(flow)
        return keep_alive
    finally:
        if conn is not None:
            ctx.pool.discard(conn)


def _release(ctx: EngineContext, conn: UpstreamConnection, host: str) -> None:
    """Give the upstream connection back after a whole response."""
    reusable = conn.finish_cycle()
    if not reusable and conn.h11.our_state is h11.IDLE:
        ctx.sink.emit(
            WarningRaised("stray-bytes", host, "upstream sent bytes after the end of a response")
        )
    ctx.pool.checkin(conn, reusable)


async def _start(
    client: ClientSide, flow: Flow, out: h11.Request, origin: Origin, websocket: bool
) -> tuple[UpstreamConnection, Head | None]:
    """Get a connection and send the request head. For a request without a
    body, also send its end and read the response head (returned); a body
    is left to the caller (None returned).

    A bodiless request that fails on a reused pooled connection before any
    response byte is retried once on a fresh connection.
    """
    pool, recorder = client.ctx.pool, client.ctx.recorder
    has_body = http_rules.has_body(out.headers.raw_items())
    recorder.upstream_wanted(flow)
    for attempt in (1, 2):
        conn = pool.checkout(origin, websocket) if attempt == 1 else None
        reused = conn is not None
        if conn is None:
            conn = await pool.connect(origin, websocket)
        recorder.upstream_connected(
            flow, conn.address, conn.tls, not reused, conn.t_dns, conn.t_connected
        )
        tunnel = client.tunnel
        if tunnel is not None and conn.tls is not None and tunnel.info.upstream_tls is None:
            recorder.tunnel_tls(tunnel.flow, "upstream", conn.tls)
        try:
            await conn.send(conn.outgoing(out, origin))
            if has_body:
                return conn, None
            client.finish_request_nowait()
            await conn.send(h11.EndOfMessage())
            recorder.request_sent(flow)
            return conn, await _read_response_head(client, conn)
        except (StreamClosed, _StaleConnection):
            pool.discard(conn)
            if reused and not has_body and attempt == 1:
                continue
            raise UpstreamError(
                502, "upstream-closed", "upstream closed the connection without responding"
            ) from None
        except BaseException:
            pool.discard(conn)
            raise
    raise AssertionError("unreachable")


_UNASKED_SWITCH = "upstream switched protocols unasked (only WebSocket upgrades are relayed)"


class _StaleConnection(Exception):
    """The upstream closed before sending any byte of a response."""


@overload
async def _read_response_head(client: ClientSide, conn: UpstreamConnection) -> Head: ...


@overload
async def _read_response_head(
    client: ClientSide, conn: UpstreamConnection, until_informational: bool
) -> Head | None: ...


async def _read_response_head(
    client: ClientSide, conn: UpstreamConnection, until_informational: bool = False
) -> Head | None:
    """Read up to the final response head, relaying 1xx answers to the
    client. With ``until_informational``, return None after relaying the
    first 1xx (the client may now send its body)."""
    timeout = client.ctx.settings.response_head_timeout
    hung_up = False

    def on_hangup() -> None:
        # While waiting on the upstream, a client that hangs up aborts the
        # upstream connection (the exchange then ends as "client closed")
        # rather than holding it until the response timeout.
        nonlocal hung_up
        hung_up = True
        conn.stream.abort()

    with client.hangup(on_hangup):
        try:
            return await _read_head_events(client, conn, timeout, until_informational)
        except (UpstreamError, _StaleConnection):
            if hung_up:
                raise ClientGone from None
            raise


async def _read_head_events(
    client: ClientSide, conn: UpstreamConnection, timeout: float, until_informational: bool
) -> Head | None:
    while True:
        try:
            event = await conn.next_event(timeout)
        except TimeoutError:
            raise UpstreamError(
                504, "response-timeout", f"upstream sent no response within {timeout:g} s"
            ) from None
        except (h11.RemoteProtocolError, StreamClosed) as exc:
            if not conn.received_any:
                raise _StaleConnection from None
            if "_SWITCH_UPGRADE" in str(exc):
                # h11 refuses a 101 to a request that proposed no upgrade
                # before it is an event (the h2c upgrade is not forwarded).
                raise UpstreamError(502, "bad-response", _UNASKED_SWITCH) from None
            raise UpstreamError(
                502, "bad-response", f"invalid response from upstream: {exc}"
            ) from None
        if isinstance(event, h11.InformationalResponse):
            if event.status_code == 101:
                # h11 lets a 101 through only for the upgrade the request
                # proposed (a WebSocket's); any other it refuses above.
                if conn.h11.their_state is h11.SWITCHED_PROTOCOL:
                    return event
                raise UpstreamError(502, "bad-response", _UNASKED_SWITCH)
            relayed = h11.InformationalResponse(
                status_code=event.status_code,
                headers=_listed(
                    relayable_response_headers(event.status_code, event.headers.raw_items())
                ),
                reason=event.reason,
            )
            data = client.send_informational(relayed)
            if data is None:
                continue  # an HTTP/1.0 client cannot take 1xx; drop it
            if data:
                await client.send(data)
            if until_informational:
                return None
            continue
        if isinstance(event, h11.Response):
            # h11 enforces its size limit only while a head is incomplete; a
            # head that arrived whole in one large read needs checking here.
            if conn.received_bytes > MAX_HEAD_SIZE and _response_head_size(event) > MAX_HEAD_SIZE:
                raise UpstreamError(502, "bad-response", "upstream response head over 64 KiB")
            conn.check_answer(event.status_code)
            return event
        if isinstance(event, h11.ConnectionClosed):
            raise _StaleConnection
        raise UpstreamError(502, "bad-response", f"unexpected upstream event {event!r}")


async def _send_body_and_read_head(
    client: ClientSide, conn: UpstreamConnection, flow: Flow, expects_continue: bool
) -> Head:
    settings = client.ctx.settings
    if expects_continue:
        # The client waits for 100 Continue before sending its body; the
        # upstream may send that, or a final answer that makes the body moot.
        # Whichever side speaks first decides.
        up = asyncio.ensure_future(conn.stream.wait_readable())
        down = asyncio.ensure_future(client.wait_readable())
        try:
            await asyncio.wait(
                (up, down),
                timeout=settings.response_head_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            up.cancel()
            down.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
        if conn.stream.buffered or conn.stream.at_eof:
            early = await _head_or_error(client, conn, until_informational=True)
            if early is not None:
                return early

    capture = BodyCapture(settings.body_capture_limit)
    upstream_gone = False
    while True:
        event = await client.next_body_event(settings.client_idle_timeout)
        if isinstance(event, h11.Data):
            capture.add(event.data)
            if not upstream_gone:
                try:
                    await conn.send(h11.Data(data=event.data))
                except StreamClosed:
                    # The upstream may have answered early (413, 401) and
                    # closed; keep reading the client, then read the answer.
                    upstream_gone = True
        elif isinstance(event, h11.EndOfMessage):
            if not upstream_gone:
                try:
                    await conn.send(h11.EndOfMessage())
                except StreamClosed:
                    upstream_gone = True
            break
    client.ctx.recorder.request_sent(flow, capture)
    response = await _head_or_error(client, conn)
    assert response is not None
    return response


async def _head_or_error(
    client: ClientSide, conn: UpstreamConnection, until_informational: bool = False
) -> Head | None:
    try:
        return await _read_response_head(client, conn, until_informational)
    except _StaleConnection:
        raise UpstreamError(
            502, "upstream-closed", "upstream closed the connection without responding"
        ) from None


def _response_of(event: h11.Response) -> Response:
    """The flow's record of a response head; UpstreamError when its
    framing is faulty: "the proxy MUST close the connection to the server,
    discard the received response, and send a 502 (Bad Gateway) response
    to the client" (RFC 9112 section 6.3); the caller discards the
    connection when this raises."""
    raw_headers = event.headers.raw_items()
    try:
        check_framing(raw_headers, event.http_version)
    except MessageRejected as exc:
        raise UpstreamError(502, "bad-response", f"invalid response from upstream: {exc}") from None
    return Response(
        status=event.status_code,
        reason=event.reason.decode("latin-1"),
        version=event.http_version.decode("ascii", "replace"),
        headers=raw_headers,
    )


async def _relay_response(
    client: ClientSide,
    conn: UpstreamConnection | None,
    flow: Flow,
    event: h11.Response,
    response: Response | None = None,
    prefix: list[bytes] | None = None,
    complete: bool = False,
) -> bool:
    """Send the response head and stream the body to the client.

    Whatever the upstream already sent is written in one go: the head, the
    body and its end usually arrive in one read, and writing them together
    saves a system call per request. Nothing is held back while waiting for
    more, so streaming stays live. A response a breakpoint held comes with
    its ``response`` record and the ``prefix`` of its body already read
    (all of it when ``complete``, and then ``conn`` is already let go).
    """
    ctx = client.ctx
    recorder = ctx.recorder
    if response is None:
        response = _response_of(event)
    headers = relayable_response_headers(event.status_code, event.headers.raw_items())
    if client.body_unread:
        # A final answer before the request body (Expect: 100-continue
        # refused): the body will not be read, so this connection ends
        # with this response, and the client is told (RFC 9110 10.1.1).
        headers = [*headers, (b"Connection", b"close")]
    try:
        head = client.start_response(
            h11.Response(
                status_code=event.status_code, headers=_listed(headers), reason=event.reason
            )
        )
    except h11.LocalProtocolError as exc:
        raise UpstreamError(502, "bad-response", f"invalid response from upstream: {exc}") from None
    recorder.response_started(flow, response)

    pending: list[bytes] = [head] if head else []
    capture = BodyCapture(ctx.settings.body_capture_limit)
    timeout = ctx.settings.response_head_timeout
    try:
        for chunk in prefix or ():
            capture.add(chunk)
            data = client.frame(h11.Data(data=chunk))
            if data:
                pending.append(data)
        if prefix:
            recorder.response_bytes(flow, capture.size)
        if complete or conn is None:
            pending.append(client.frame(h11.EndOfMessage()))
            await client.send(b"".join(pending))
            return True
        while True:
            try:
                item = conn.poll()
                if item is None:
                    if pending:
                        await client.send(b"".join(pending))
                        pending.clear()
                    await conn.fill(timeout)
                    continue
            except TimeoutError:
                raise UpstreamError(
                    504, "body-timeout", f"upstream stalled for {timeout:g} s mid-body"
                ) from None
            except (h11.RemoteProtocolError, StreamClosed):
                if pending:
                    await client.send(b"".join(pending))
                raise UpstreamError(
                    502,
                    "truncated",
                    f"upstream closed the connection after {capture.size} bytes of body",
                ) from None
            if isinstance(item, h11.Data):
                capture.add(item.data)
                recorder.response_bytes(flow, capture.size)
                data = client.frame(h11.Data(data=item.data))
                if data:
                    pending.append(data)
            elif isinstance(item, h11.EndOfMessage):
                data = client.frame(h11.EndOfMessage())
                if data:
                    pending.append(data)
                if pending:
                    await client.send(b"".join(pending))
                break
    finally:
        recorder.response_body(flow, capture)
    return True


def _listed(headers: HeaderSeq) -> Headers:
    """Headers as h11 takes them."""
    return headers if isinstance(headers, list) else list(headers)


def _response_head_size(event: h11.Response) -> int:
    size = len(event.reason) + 15
    for name, value in event.headers.raw_items():
        size += len(name) + len(value) + 4
    return size


def _authority(target: Target) -> str:
    if target.port == 80:
        return bracketed(target.host)
    return authority(target.host, target.port)
