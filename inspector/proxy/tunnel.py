"""CONNECT tunnels: answer 200, look at the client's first bytes, then
intercept TLS, parse plain HTTP, or relay bytes untouched.

- A TLS ClientHello is intercepted: the client side is upgraded to TLS with
  a leaf certificate for the SNI name (or the CONNECT host), and the HTTP
  inside becomes flows linked to the tunnel. Ignored hosts, or interception
  turned off, pass through instead.
- Plain HTTP is parsed as flows, as if the client had sent it directly.
- Anything else, or a client that stays silent (SMTP, SSH and other
  server-speaks-first protocols), is relayed raw both ways, half-closes
  included.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import h11

from inspector.core.events import (
    TunnelClosed,
    TunnelFailed,
    TunnelOpened,
    TunnelPassthrough,
    TunnelTlsEstablished,
)
from inspector.core.flow import Flow, FlowError, FlowState, Response, TlsInfo, TunnelInfo
from inspector.proxy.context import EngineContext
from inspector.proxy.errors import ClientGone, UpstreamError
from inspector.proxy.stream import ByteStream, Stream, StreamClosed
from inspector.proxy.tls import TlsError, TlsStream

if TYPE_CHECKING:
    from inspector.proxy.client import ClientConnection

UNTRUSTED_ALERTS = {
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "TLSV1_ALERT_DECRYPT_ERROR",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
}
"""Alerts a client sends when it rejects the certificate we presented."""
NOT_TLS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNEXPECTED_RECORD",
    "WRONG_SSL_VERSION",
}
UNTRUSTED = "the client does not trust Inspector's CA; install it"
HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"TRACE ")


class ServerContexts(Protocol):
    """Where interception gets a ready server-side SSL context per name,
    and the onboarding page its certificate."""

    def server_context(self, name: str) -> ssl.SSLContext: ...
    def ca_cert_pem(self) -> bytes: ...
    def ca_cert_der(self) -> bytes: ...
    def ca_fingerprint(self) -> str: ...


class HostFilter(Protocol):
    def matches(self, host: str, port: int) -> bool: ...


@dataclass(slots=True)
class TunnelContext:
    """What the HTTP inside a tunnel needs to know about it."""

    flow_id: int
    scheme: str
    host: str
    port: int
    info: TunnelInfo


def is_tls_client_hello(data: bytes) -> bool:
    # A TLS record: content type 22 (handshake), major version 3, then a
    # handshake of type 1 (ClientHello) once the 5-byte header is in.
    return (
        len(data) >= 3
        and data[0] == 0x16
        and data[1] == 0x03
        and (len(data) < 6 or data[5] == 0x01)
    )


def looks_like_http(data: bytes) -> bool:
    return data.startswith(HTTP_METHODS)


async def open_tunnel(client: ClientConnection, flow: Flow) -> None:
    """Serve a CONNECT request to its end; the client connection is the
    tunnel's from here on and closes afterwards."""
    ctx = client.ctx
    host, port = flow.request.host, flow.request.port
    info = TunnelInfo()
    flow.tunnel = info
    raw = client.stream
    assert isinstance(raw, Stream)
    try:
        data = client.h11.send(
            h11.Response(status_code=200, headers=[], reason=b"Connection Established")
        )
        await client.send(data or b"")
    except (h11.LocalProtocolError, ClientGone):
        _finish(ctx, flow, FlowError("client-closed", "client went away before the tunnel opened"))
        return
    # Bytes the client sent right behind CONNECT (often its ClientHello)
    # were read by h11; hand them back to the stream.
    raw.unread(client.h11.trailing_data[0])
    flow.response = Response(status=200, reason="Connection Established")
    flow.t_response_start = time.time()
    ctx.sink.emit(TunnelOpened(flow.id))

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(ctx.settings.tunnel_peek_timeout):
            await raw.wait_readable()
    first = raw.peek()
    if not first and raw.at_eof:
        _finish(ctx, flow, None)
        return
    tunnel = TunnelContext(flow.id, "https", host, port, info)
    try:
        if is_tls_client_hello(first):
            if (
                ctx.certs is None
                or not ctx.settings.intercept_tls
                or ctx.ignore.matches(host, port)
            ):
                await _relay(client, flow, "passthrough")
            else:
                await _intercept(client, flow, tunnel)
        elif looks_like_http(first):
            info.mode = "http"
            tunnel.scheme = "http"
            await client.serve_inner(raw, tunnel)
            _finish(ctx, flow, None)
        else:
            await _relay(client, flow, "raw")
    except asyncio.CancelledError:
        _finish(ctx, flow, FlowError("shutdown", "the proxy stopped"))
        raise


async def _intercept(client: ClientConnection, flow: Flow, tunnel: TunnelContext) -> None:
    ctx = client.ctx
    assert ctx.certs is not None
    certs = ctx.certs
    raw = client.stream
    assert isinstance(raw, Stream)
    tunnel.info.mode = "intercept"
    try:
        context = certs.server_context(tunnel.host)
    except Exception as exc:
        _finish(ctx, flow, FlowError("ca", f"cannot issue a certificate for {tunnel.host}: {exc}"))
        raw.abort()
        return
    tls = TlsStream.server(raw, context)
    sni: list[str] = []

    def on_sni(sslobj: ssl.SSLObject, name: str | None) -> int | None:
        if name:
            sni.append(name)
            if name != tunnel.host:
                try:
                    sslobj.context = certs.server_context(name)
                except Exception:
                    return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    # Contexts are shared between connections, so the context's callback
    # is one function that dispatches to this connection's handler.
    context.sni_callback = _dispatch_sni
    setattr(tls.ssl_object, _SNI_HANDLER, on_sni)
    try:
        async with asyncio.timeout(ctx.settings.request_head_timeout):
            await tls.handshake()
    except TlsError as exc:
        _finish(ctx, flow, _client_tls_error(exc))
        raw.abort()
        return
    except (StreamClosed, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else "closed the connection"
        _finish(
            ctx,
            flow,
            FlowError(
                "client-tls",
                f"the client {reason} during the TLS handshake (does it trust Inspector's CA?)",
            ),
        )
        raw.abort()
        return
    tls.sni = sni[0] if sni else None
    details = tls.details()
    tunnel.info.client_tls = TlsInfo(details.version, details.cipher, details.alpn, tls.sni)
    if tls.sni:
        tunnel.host = tls.sni
    ctx.sink.emit(TunnelTlsEstablished(flow.id, "client"))
    await client.serve_inner(tls, tunnel)
    _finish(ctx, flow, None)


_SNI_HANDLER = "_inspector_on_sni"


def _dispatch_sni(
    sslobj: ssl.SSLSocket | ssl.SSLObject, name: str | None, _context: ssl.SSLContext
) -> int | None:
    handler = getattr(sslobj, _SNI_HANDLER, None)
    if handler is None or not isinstance(sslobj, ssl.SSLObject):
        return None
    result: int | None = handler(sslobj, name)
    return result


def _client_tls_error(exc: TlsError) -> FlowError:
    if exc.reason in UNTRUSTED_ALERTS:
        return FlowError("client-untrusted", UNTRUSTED)
    if exc.reason in NOT_TLS:
        return FlowError(
            "client-not-tls", f"the client sent something that is not TLS ({exc.reason})"
        )
    return FlowError("client-tls", f"TLS handshake with the client failed: {exc.reason or exc}")


async def _relay(client: ClientConnection, flow: Flow, mode: str) -> None:
    """Relay bytes untouched between the client and the CONNECT target."""
    ctx = client.ctx
    info = flow.tunnel
    assert info is not None
    info.mode = mode
    raw = client.stream
    assert isinstance(raw, Stream)
    host, port = flow.request.host, flow.request.port
    try:
        async with asyncio.timeout(ctx.settings.connect_timeout):
            upstream, address = await ctx.pool.open_raw(host, port)
    except TimeoutError:
        _finish(ctx, flow, FlowError("connect-timeout", f"connecting to {host}:{port} timed out"))
        raw.abort()
        return
    except UpstreamError as exc:
        _finish(ctx, flow, FlowError(exc.kind, exc.message))
        raw.abort()
        return
    flow.upstream_addr = address
    flow.t_upstream_connected = time.time()
    ctx.sink.emit(TunnelPassthrough(flow.id))

    def count_up(n: int) -> None:
        info.bytes_up += n

    def count_down(n: int) -> None:
        info.bytes_down += n

    try:
        results = await asyncio.gather(
            _pump(raw, upstream, count_up),
            _pump(upstream, raw, count_down),
            return_exceptions=True,
        )
    finally:
        upstream.close()
    failure = next((r for r in results if isinstance(r, BaseException)), None)
    if failure is None:
        _finish(ctx, flow, None)
    elif isinstance(failure, StreamClosed):
        _finish(ctx, flow, FlowError("tunnel-reset", str(failure)))
    else:
        if isinstance(failure, Exception):
            # A bug, logged by the caller; the flow still ends, not pending.
            _finish(ctx, flow, FlowError("internal", f"tunnel relay failed: {failure!r}"))
        raise failure


async def _pump(source: ByteStream, sink: ByteStream, count: Callable[[int], None]) -> None:
    """Copy until ``source`` ends, then half-close ``sink``. On an error,
    abort both so the other direction ends too."""
    try:
        while data := await source.read():
            count(len(data))
            await sink.send(data)
    except Exception:
        source.abort()
        sink.abort()
        raise
    sink.write_eof()


def _finish(ctx: EngineContext, flow: Flow, error: FlowError | None) -> None:
    flow.t_end = time.time()
    if error is None:
        flow.state = FlowState.COMPLETE
        ctx.sink.emit(TunnelClosed(flow.id))
    else:
        flow.error = error
        flow.state = FlowState.FAILED
        ctx.sink.emit(TunnelFailed(flow.id))
