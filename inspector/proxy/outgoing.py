"""Requests the engine sends itself: replays and composed requests.

Such a request has no client connection. ``send_flow`` carries a flow
already created (its request complete, body and all) through the path a
proxied request takes (``forward.forward``: the upstream pool, TLS to the
origin verified as configured, the same timeouts, the same error kinds),
so it is recorded like any other flow. ``NoClient`` is the ``ClientSide``
standing in for the missing client: it has the whole body at hand and lets
the answer go once the flow has captured it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import h11

from inspector.core.flow import Flow, Response
from inspector.core.http_rules import Target
from inspector.proxy import pages
from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.errors import ClientGone, ProxyError
from inspector.proxy.forward import forward
from inspector.proxy.stream import ByteStream, Stream

log = logging.getLogger(__name__)

CLIENT_ADDR = ("", 0)
"""The engine itself sends these requests: there is no client."""


async def send_flow(ctx: EngineContext, flow: Flow, method: bytes, target: Target) -> None:
    """Send ``flow``'s request and record what comes back; any failure
    ends the flow failed, never escapes."""
    client = NoClient(ctx, flow.request.body)
    ctx.recorder.sending_replay(flow)
    try:
        await forward(client, flow, method, target)
    except ProxyError as exc:
        failed(ctx, flow, exc)
    except Exception as exc:
        log.exception("flow %d, sent by the engine, failed unexpectedly", flow.id)
        failed(ctx, flow, ProxyError(500, "internal", f"internal proxy error: {exc!r}"))


def failed(ctx: EngineContext, flow: Flow, error: ProxyError) -> None:
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


class NoClient:
    """The ``ClientSide`` of a request the engine sends: the body is all
    here, and what the upstream answers goes nowhere but into the flow."""

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
        raise ClientGone  # refused before sending: no upgrade goes out

    async def take_over(self) -> Stream:
        raise ClientGone

    async def serve_inner(self, stream: ByteStream, tunnel: TunnelContext) -> None:
        raise ClientGone
