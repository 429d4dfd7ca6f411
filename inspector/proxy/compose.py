"""The ``send`` request: the engine sends a request written by hand.

The composer's request (method, URL, headers in order, body) is checked
and framed by ``core.compose`` and sent as a new flow, marked ``composed``,
through the path a proxied request takes (``outgoing.send_flow``), so it
is recorded, kept in the session file and shown like any other flow.
Breakpoints never hold a composed flow: its author is already looking.

The reply names the new flow as soon as it exists; with ``wait`` it comes
once the flow is over, with the status and the error, if any.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol

from inspector.core.compose import composed_request
from inspector.core.flow import Flow
from inspector.core.http_rules import Target
from inspector.core.protocol import ProtocolError, field
from inspector.proxy.outgoing import CLIENT_ADDR, send_flow
from inspector.proxy.server import ProxyServer

NOT_RUNNING = "the proxy is not running; start it to send requests"


class SendHost(Protocol):
    """What sending needs of the engine service."""

    @property
    def server(self) -> ProxyServer | None: ...


class FlowSend:
    """The ``send`` request: ``method``, ``url``, ``headers`` ([name,
    value] binaries), optional ``body`` and ``wait`` in; ``{"id": N}`` out,
    or with ``wait`` ``{"id", "status", "error"}`` once the flow is over."""

    def __init__(self, host: SendHost) -> None:
        self._host = host

    def __call__(self, args: dict[str, Any]) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        method = field(args, "method", str, "send")
        url = field(args, "url", str, "send")
        headers = _headers(args.get("headers", []))
        body = args.get("body", b"")
        if not isinstance(body, bytes):
            raise ProtocolError("'send' needs 'body' as bin")
        wait = args.get("wait", False)
        if not isinstance(wait, bool):
            raise ProtocolError("'send' needs 'wait' as bool")
        request, target = composed_request(method, url, headers, body)
        server = self._host.server
        if server is None or not server.running:
            raise ValueError(NOT_RUNNING)
        ctx = server.ctx
        flow = ctx.recorder.created(CLIENT_ADDR, request, composed=True)
        sending = ctx.tasks.spawn(_send(server, flow, method.encode("ascii"), target), name="send")
        if wait:
            return _outcome(flow, sending)
        return {"id": flow.id}


def _headers(value: Any) -> list[tuple[bytes, bytes]]:
    if not isinstance(value, list | tuple):
        raise ProtocolError("'send' needs 'headers' as a list of [name, value] pairs")
    pairs = []
    for pair in value:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(part, bytes) for part in pair)
        ):
            raise ProtocolError("'send' needs each header as [bin name, bin value]")
        pairs.append((pair[0], pair[1]))
    return pairs


async def _send(server: ProxyServer, flow: Flow, method: bytes, target: Target) -> None:
    ctx = server.ctx
    try:
        await send_flow(ctx, flow, method, target)
    finally:
        # Cancelled (the proxy stopping): the flow ends all the same.
        if not flow.finished:
            ctx.recorder.failed(flow, "cancelled", "the proxy stopped before the request ended")


async def _outcome(flow: Flow, sending: asyncio.Task[None]) -> dict[str, Any]:
    await asyncio.wait([sending])
    response, error = flow.response, flow.error
    return {
        "id": flow.id,
        "status": response.status if response is not None else 0,
        "error": error.message if error is not None else None,
    }
