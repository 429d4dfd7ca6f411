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
from collections.abc import Awaitable
from typing import Any, Protocol

from inspector.core import onboarding
from inspector.core.flow import Flow, Request
from inspector.core.http_rules import Target, find_header, has_body
from inspector.core.protocol import ProtocolError, field
from inspector.core.websocket import is_websocket_upgrade
from inspector.proxy.context import EngineContext
from inspector.proxy.flow_reads import BodySource, ReadsHost
from inspector.proxy.outgoing import CLIENT_ADDR, send_flow
from inspector.proxy.server import ProxyServer

MAX_COUNT = 100
MAX_CONCURRENCY = 10


class ReplayHost(ReadsHost, Protocol):
    """What replaying needs of the engine service."""

    @property
    def server(self) -> ProxyServer | None: ...


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
            await send_flow(ctx, flow, method, target)

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(flows)))))
    finally:
        # Cancelled (the proxy stopping): what never went out ends too.
        for flow in flows:
            if not flow.finished:
                ctx.recorder.failed(flow, "cancelled", "the proxy stopped before the replay ended")
