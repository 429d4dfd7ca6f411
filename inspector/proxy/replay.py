"""Replay: send a recorded flow's request again, as new flows.

The request goes out as it went the first time: method, URL, headers in
their order and the captured body, through the path a proxied request
takes (``forward.forward``: the upstream pool, TLS to the origin verified
as configured, the same timeouts, the same error kinds), so each replay is
recorded like any other flow, with ``replay_of`` naming the original.
There is no client to answer: ``_NoClient`` is the ``ClientSide`` that has
the whole body at hand and lets the answer go once the flow has captured
it.

The reply names the new flows as soon as they exist; the requests are sent
in the background, ``concurrency`` at a time. A flow whose request cannot
be sent again as it was (a tunnel, a WebSocket, a body not captured whole)
is refused with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

import h11

from inspector.core import onboarding
from inspector.core.flow import Flow, Request, Response
from inspector.core.http_rules import Target, find_header, has_body
from inspector.core.protocol import ProtocolError, field
from inspector.core.store import FlowStore
from inspector.core.websocket import is_websocket_upgrade
from inspector.proxy import pages
from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.errors import ClientGone, ProxyError
from inspector.proxy.forward import forward
from inspector.proxy.server import ProxyServer
from inspector.proxy.stream import ByteStream, Stream

log = logging.getLogger(__name__)

MAX_COUNT = 100
MAX_CONCURRENCY = 10
CLIENT_ADDR = ("", 0)
"""A replay has no client: the engine itself sends it."""


class BodySource(Protocol):
    async def read_bodies(self, flow_id: int) -> tuple[bytes, bytes]: ...


class ReplayHost(Protocol):
    """What replaying needs of the engine service."""

    @property
    def store(self) -> FlowStore: ...
    @property
    def server(self) -> ProxyServer | None: ...
    @property
    def bodies(self) -> BodySource | None: ...


def refusal(flow: Flow, body: bytes) -> str | None:
    """Why ``flow``'s request cannot be sent again as it was (its captured
    request body being ``body``), or None when it can."""
    request, name = flow.request, f"flow {flow.id}"
    if request.method == "CONNECT" or flow.tunnel is not None:
        return f"{name} is a CONNECT tunnel; replay the requests inside it instead"
    if flow.websocket is not None or is_websocket_upgrade(request.headers):
        return f"{name} is a WebSocket; its messages cannot be replayed"
    if request.scheme not in ("http", "https") or not request.host:
        return f"{name} was not sent to a server"
    if request.host == onboarding.HOST:
        return f"{name} was answered by the proxy itself"
    if not has_body(request.headers):
        return None
    if request.body_truncated:
        return f"only part of {name}'s request body was captured (the capture limit)"
    if flow.bodies_dropped or len(body) != request.body_size:
        return f"{name}'s request body is no longer kept"
    length = find_header(request.headers, b"content-length")
    if length is not None and length.strip() != str(len(body)).encode():
        return f"{name}'s request body did not arrive whole"
    if length is None and flow.t_request_sent is None and not flow.imported:
        return f"{name}'s request body did not arrive whole"
    return None


def _bounded(args: dict[str, Any], name: str, top: int) -> int:
    value = args.get(name, 1)
    if type(value) is not int or not 1 <= value <= top:
        raise ProtocolError(f"'replay' needs '{name}' from 1 to {top}")
    return value


class FlowReplay:
    """The ``replay`` request: ``id``, ``count`` (1 to 100) and
    ``concurrency`` (1 to 10) in, ``{"ids": [new flow ids]}`` out."""

    def __init__(self, host: ReplayHost) -> None:
        self._host = host

    def __call__(self, args: dict[str, Any]) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        flow_id = field(args, "id", int, "replay")
        count = _bounded(args, "count", MAX_COUNT)
        concurrency = _bounded(args, "concurrency", MAX_CONCURRENCY)
        host = self._host
        flow = host.store.get(flow_id)
        if flow is None:
            raise LookupError(f"no flow {flow_id}")
        if host.server is None or not host.server.running:
            raise ValueError("the proxy is not running; start it to replay")
        bodies = host.bodies
        if flow.bodies_on_disk and bodies is not None:
            return self._from_disk(flow, bodies, count, concurrency)
        return self._start(flow, flow.request.body, count, concurrency)

    async def _from_disk(
        self, flow: Flow, bodies: BodySource, count: int, concurrency: int
    ) -> dict[str, Any]:
        request_body, _response_body = await bodies.read_bodies(flow.id)
        return self._start(flow, request_body, count, concurrency)

    def _start(self, flow: Flow, body: bytes, count: int, concurrency: int) -> dict[str, Any]:
        why = refusal(flow, body)
        if why is not None:
            raise ValueError(f"cannot replay: {why}")
        server = self._host.server
        if server is None or not server.running:
            raise ValueError("the proxy is not running; start it to replay")
        ctx = server.ctx
        original = flow.request
        target = Target(original.scheme, original.host, original.port, original.target)
        method = original.method.encode("latin-1")
        flows = [
            ctx.recorder.created(CLIENT_ADDR, _copy(original, body), replay_of=flow.id)
            for _ in range(count)
        ]
        ctx.tasks.spawn(_send_all(ctx, flows, method, target, concurrency), name="replay")
        return {"ids": [f.id for f in flows]}


def _copy(request: Request, body: bytes) -> Request:
    return Request(
        method=request.method,
        scheme=request.scheme,
        host=request.host,
        port=request.port,
        target=request.target,
        version=request.version,
        headers=list(request.headers),
        body=body,
        body_size=len(body),
    )


async def _send_all(
    ctx: EngineContext, flows: list[Flow], method: bytes, target: Target, concurrency: int
) -> None:
    queue = iter(flows)

    async def worker() -> None:
        for flow in queue:
            await _send(ctx, flow, method, target)

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(flows)))))
    finally:
        # Cancelled (the proxy stopping): what never went out ends too.
        for flow in flows:
            if not flow.finished:
                ctx.recorder.failed(flow, "cancelled", "the proxy stopped before the replay ended")


async def _send(ctx: EngineContext, flow: Flow, method: bytes, target: Target) -> None:
    client = _NoClient(ctx, flow.request.body)
    ctx.recorder.sending_replay(flow)
    try:
        await forward(client, flow, method, target)
    except ProxyError as exc:
        _failed(ctx, flow, exc)
    except Exception as exc:
        log.exception("replay flow %d failed unexpectedly", flow.id)
        _failed(ctx, flow, ProxyError(500, "internal", f"internal proxy error: {exc!r}"))


def _failed(ctx: EngineContext, flow: Flow, error: ProxyError) -> None:
    """End ``flow`` as a proxied request ends: with the error answer a
    client would have had, unless its response had started."""
    if flow.response is not None:
        ctx.recorder.failed(flow, error.kind, error.message)
        return
    body = pages.error_body(error.message)
    response = Response(
        status=error.status,
        reason=pages.reason(error.status),
        headers=pages.error_headers(body, close=True),
        body=body,
        body_size=len(body),
    )
    ctx.recorder.failed(flow, error.kind, error.message, response)


class _NoClient:
    """The ``ClientSide`` of a replay: the body is all here, and what the
    upstream answers goes nowhere but into the flow."""

    tunnel: TunnelContext | None = None

    def __init__(self, ctx: EngineContext, body: bytes) -> None:
        self.ctx = ctx
        self._body = body
        self._done = False

    @property
    def peername(self) -> tuple[str, int]:
        return CLIENT_ADDR

    def finish_request_nowait(self) -> bool:
        self._done = True
        return True

    async def next_body_event(self, timeout: float) -> h11.Event:
        if self._body:
            body, self._body = self._body, b""
            return h11.Data(data=body)
        self._done = True
        return h11.EndOfMessage()

    @property
    def body_unread(self) -> bool:
        return not self._done

    async def wait_readable(self) -> None:
        return None

    def send_informational(self, event: h11.InformationalResponse) -> bytes | None:
        return b""

    def start_response(self, event: h11.Response) -> bytes:
        return b""

    def frame(self, event: h11.Data | h11.EndOfMessage) -> bytes:
        return b""

    async def send(self, data: bytes) -> None:
        return None

    @contextlib.contextmanager
    def hangup(self, callback: Callable[[], None]) -> Iterator[bool]:
        yield False

    def upgraded(self) -> tuple[ByteStream, bytes]:
        raise ClientGone  # refused before sending: no upgrade is replayed

    async def take_over(self) -> Stream:
        raise ClientGone

    async def serve_inner(self, stream: ByteStream, tunnel: TunnelContext) -> None:
        raise ClientGone
