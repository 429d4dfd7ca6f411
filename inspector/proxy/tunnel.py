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
from collections.abc import Callable

from inspector.core.flow import Flow, FlowError, TlsInfo
from inspector.proxy.context import TunnelContext
from inspector.proxy.errors import ClientGone, UpstreamError
from inspector.proxy.exchange import ClientSide
from inspector.proxy.stream import RELAY_READ, ByteStream, Stream, StreamClosed
from inspector.proxy.tls import TlsError, TlsStream

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


async def open_tunnel(client: ClientSide, flow: Flow) -> None:
    """Serve a CONNECT request to its end; the client connection is the
    tunnel's from here on and closes afterwards."""
    ctx = client.ctx
    recorder = ctx.recorder
    host, port = flow.request.host, flow.request.port
    try:
        raw = await client.take_over()
    except ClientGone:
        recorder.tunnel_closed(
            flow, FlowError("client-closed", "client went away before the tunnel opened")
        )
        return
    recorder.tunnel_opened(flow)

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(ctx.settings.tunnel_peek_timeout):
            await raw.wait_readable()
    first = raw.peek()
    if not first and raw.at_eof:
        recorder.tunnel_closed(flow)
        return
    tunnel = TunnelContext(flow, "https", host, port)
    try:
        if is_tls_client_hello(first):
            if (
                ctx.certs is None
                or not ctx.settings.intercept_tls
                or ctx.ignore.matches(host, port)
            ):
                await _relay(client, flow, raw, "passthrough")
            else:
                await _intercept(client, raw, tunnel)
        elif looks_like_http(first):
            recorder.tunnel_mode(flow, "http")
            tunnel.scheme = "http"
            await client.serve_inner(raw, tunnel)
            recorder.tunnel_closed(flow)
        else:
            await _relay(client, flow, raw, "raw")
    except asyncio.CancelledError:
        recorder.tunnel_closed(flow, FlowError("shutdown", "the proxy stopped"))
        raise


async def _intercept(client: ClientSide, raw: Stream, tunnel: TunnelContext) -> None:
    ctx = client.ctx
    recorder, flow = ctx.recorder, tunnel.flow
    assert ctx.certs is not None
    certs = ctx.certs
    recorder.tunnel_mode(flow, "intercept")
    minting = recorder.clock()
    try:
        context = certs.server_context(tunnel.host)
    except Exception as exc:
        recorder.tunnel_closed(
            flow, FlowError("ca", f"cannot issue a certificate for {tunnel.host}: {exc}")
        )
        raw.abort()
        return
    # A cached certificate costs microseconds; a new one is the proxy's time.
    recorder.proxy_added(flow, recorder.clock() - minting)
    tls = TlsStream.server(raw, context)
    sni: list[str] = []

    def on_sni(sslobj: ssl.SSLObject, name: str | None) -> int | None:
        if name:
            sni.append(name)
            if name != tunnel.host:
                minting = recorder.clock()
                try:
                    sslobj.context = certs.server_context(name)
                except Exception:
                    return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
                recorder.proxy_added(flow, recorder.clock() - minting)
        return None

    # Contexts are shared between connections, so the context's callback
    # is one function that dispatches to this connection's handler.
    context.sni_callback = _dispatch_sni
    setattr(tls.ssl_object, _SNI_HANDLER, on_sni)
    try:
        async with asyncio.timeout(ctx.settings.request_head_timeout):
            await tls.handshake()
    except TlsError as exc:
        recorder.tunnel_closed(flow, _client_tls_error(exc))
        raw.abort()
        return
    except (StreamClosed, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else "closed the connection"
        recorder.tunnel_closed(
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
    recorder.tunnel_tls(
        flow, "client", TlsInfo(details.version, details.cipher, details.alpn, tls.sni)
    )
    if tls.sni:
        tunnel.host = tls.sni
    await client.serve_inner(tls, tunnel)
    recorder.tunnel_closed(flow)


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


async def _relay(client: ClientSide, flow: Flow, raw: Stream, mode: str) -> None:
    """Relay bytes untouched between the client and the CONNECT target."""
    ctx = client.ctx
    recorder = ctx.recorder
    recorder.tunnel_mode(flow, mode)
    host, port = flow.request.host, flow.request.port
    try:
        async with asyncio.timeout(ctx.settings.connect_timeout):
            upstream, address = await ctx.pool.open_tunnel(host, port)
    except TimeoutError:
        recorder.tunnel_closed(
            flow, FlowError("connect-timeout", f"connecting to {host}:{port} timed out")
        )
        raw.abort()
        return
    except UpstreamError as exc:
        recorder.tunnel_closed(flow, FlowError(exc.kind, exc.message))
        raw.abort()
        return
    recorder.tunnel_relaying(flow, address)

    def count_up(n: int) -> None:
        recorder.tunnel_bytes(flow, up=n)

    def count_down(n: int) -> None:
        recorder.tunnel_bytes(flow, down=n)

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
        recorder.tunnel_closed(flow)
    elif isinstance(failure, StreamClosed):
        recorder.tunnel_closed(flow, FlowError("tunnel-reset", str(failure)))
    else:
        if isinstance(failure, Exception):
            # A bug, logged by the caller; the flow still ends, not pending.
            recorder.tunnel_closed(flow, FlowError("internal", f"tunnel relay failed: {failure!r}"))
        raise failure


async def _pump(source: ByteStream, sink: ByteStream, count: Callable[[int], None]) -> None:
    """Copy until ``source`` ends, then half-close ``sink``. On an error,
    abort both so the other direction ends too."""
    try:
        while data := await source.read(RELAY_READ):
            count(len(data))
            await sink.send(data)
    except Exception:
        source.abort()
        sink.abort()
        raise
    sink.write_eof()
