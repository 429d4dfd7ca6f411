"""One client connection: read request heads, then answer or forward each.

The connection loops over requests (keep-alive) until the client closes,
idles past its timeout, or something makes the framing untrustworthy. Every
request that got as far as a parsed head becomes a flow, including the ones
refused: bad input is an answer and a recorded error, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import cast

import h11

from inspector.core import onboarding
from inspector.core.flow import Flow, Headers, Request, Response
from inspector.core.http_rules import (
    MAX_HEAD_SIZE,
    MAX_REQUEST_LINE,
    MessageRejected,
    Target,
    check_connect,
    check_framing,
    check_head_size,
    find_header,
    parse_absolute_target,
    split_authority,
)
from inspector.proxy import auth, local, pages
from inspector.proxy.context import EngineContext, TunnelContext
from inspector.proxy.errors import Aborted, ClientError, ClientGone, ProxyError
from inspector.proxy.forward import forward
from inspector.proxy.stream import READ_SIZE, ByteStream, Stream, StreamClosed
from inspector.proxy.tls import TlsStream
from inspector.proxy.tunnel import open_tunnel

log = logging.getLogger(__name__)

_NOT_STARTED = (h11.IDLE, h11.SEND_RESPONSE)
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024
HEAD_PREVIEW = 256
"""Bytes of a refused head kept to show its request line."""


class ClientConnection:
    """One client connection; forwarding and tunnels see it as a
    ``ClientSide`` (``exchange.py``)."""

    def __init__(
        self,
        ctx: EngineContext,
        stream: ByteStream,
        tunnel: TunnelContext | None = None,
        client_name: str = "",
    ) -> None:
        self.ctx = ctx
        self.stream = stream
        self.tunnel = tunnel
        """Set for the HTTP spoken inside a CONNECT tunnel."""
        self.client_name = client_name
        """The launched client this connection came from, by the tagged
        port it reached (``ProxyServer.listen_tagged``); empty otherwise."""
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_SIZE)
        self.busy = False
        """True while an exchange is under way (shutdown grants these grace)."""
        self._loop = asyncio.get_running_loop()
        self._linger = False

    async def run(self) -> None:
        try:
            await self._serve()
        except ClientGone:
            pass
        except Exception:
            log.exception("client connection from %s:%s failed", *self.stream.peername)
        finally:
            if self._linger:
                await self._lingering_close()
            self.stream.close()

    async def _lingering_close(self) -> None:
        """After an error answer, half-close and discard what the client is
        still sending for a moment: closing a socket with unread input makes
        the kernel send a reset, which can destroy the answer before the
        client has read it (RFC 9112 section 9.6)."""
        self.stream.write_eof()
        discarded = 0
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                while discarded < LINGER_BYTES:
                    data = await self.stream.read()
                    if not data:
                        return
                    discarded += len(data)
        except (TimeoutError, ConnectionError):
            return

    async def _serve(self) -> None:
        first = True
        while True:
            head = await self._read_head(first)
            if head is None:
                return
            first = False
            self.busy = True
            try:
                keep_alive = await self._exchange(*head)
            finally:
                self.busy = False
            h = self.h11
            if not keep_alive or h.our_state is not h11.DONE or h.their_state is not h11.DONE:
                return
            if self.ctx.stopping:
                return
            h.start_next_cycle()

    # Reading

    async def _read_head(self, first: bool) -> tuple[h11.Request, int] | None:
        """The next request head and the bytes read for it, or None when the
        connection should close (peer closed, idle timeout, refused head)."""
        settings = self.ctx.settings
        h = self.h11
        loop = self._loop
        # A new connection must send its head promptly; a kept-alive one may
        # idle longer between requests, then gets the head timeout once its
        # next request starts arriving.
        idle_limit = settings.request_head_timeout if first else settings.client_idle_timeout
        deadline = loop.time() + idle_limit
        received = 0
        # The start of the head, for the refusal: h11 drops the lines it
        # fails to parse, and bytes pipelined behind the last request (say,
        # a body its framing did not announce, RFC 9112 section 6.3 item 6)
        # are in h11's buffer before anything is read here.
        start = b"" if first else h.trailing_data[0][:HEAD_PREVIEW]
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if exc.error_status_hint == 431:
                    self._refuse_head(
                        431, "head-too-large", "request head larger than 64 KiB", start
                    )
                elif (start or h.trailing_data[0]) and not self.stream.at_eof:
                    self._refuse_head(400, "bad-request", f"malformed request: {exc}", start)
                return None
            if isinstance(event, h11.Request):
                return event, received
            if event is not h11.NEED_DATA:
                return None
            if received > MAX_REQUEST_LINE:
                pending = h.trailing_data[0]
                if b"\n" not in pending[: MAX_REQUEST_LINE + 2]:
                    self._refuse_head(
                        414,
                        "uri-too-long",
                        f"request line longer than {MAX_REQUEST_LINE} bytes",
                        pending,
                    )
                    return None
            try:
                data = await self.stream.read(READ_SIZE, deadline)
            except TimeoutError:
                if received or h.trailing_data[0]:
                    limit = settings.request_head_timeout
                    self._refuse_head(
                        408,
                        "client-timeout",
                        f"request head not complete within {limit:g} s",
                        h.trailing_data[0],
                    )
                return None
            if data and not received and not first:
                deadline = loop.time() + settings.request_head_timeout
            if not start:
                start = data[:HEAD_PREVIEW]
            received += len(data)
            h.receive_data(data)

    @property
    def peername(self) -> tuple[str, int]:
        return self.stream.peername

    async def next_body_event(self, timeout: float) -> h11.Event:
        """The next request event (body data, end of message).

        Raises ClientGone when the client disconnected, ClientError on a
        malformed body or a client silent for ``timeout`` seconds.
        """
        h = self.h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if self.stream.at_eof:
                    raise ClientGone from None
                raise ClientError(400, "bad-request", f"malformed request body: {exc}") from None
            if event is h11.PAUSED:
                raise ClientError(400, "bad-request", "request data after the end of the request")
            if event is not h11.NEED_DATA:
                return cast(h11.Event, event)
            try:
                data = await self.stream.read(READ_SIZE, self._loop.time() + timeout)
            except TimeoutError:
                raise ClientError(
                    408, "client-timeout", f"client sent nothing for {timeout:g} s"
                ) from None
            h.receive_data(data)

    def finish_request_nowait(self) -> bool:
        """Consume the rest of the request if it is already here (no body, or
        a body fully buffered); True when the request is complete."""
        h = self.h11
        while h.their_state is h11.SEND_BODY:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError:
                return False
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return False
        # MUST_CLOSE is a complete request from a client that asked to close
        # afterwards (Connection: close, or HTTP/1.0). A request that asked
        # to switch protocols (CONNECT, an upgrade) is complete too, but is
        # not counted here: refused, its connection closes.
        return h.their_state is h11.DONE or h.their_state is h11.MUST_CLOSE

    @property
    def body_unread(self) -> bool:
        return self.h11.their_state is h11.SEND_BODY

    async def wait_readable(self) -> None:
        await self.stream.wait_readable()

    async def serve_inner(self, stream: ByteStream, tunnel: TunnelContext) -> None:
        """Serve the HTTP spoken inside a tunnel, on ``stream``."""
        await ClientConnection(self.ctx, stream, tunnel, self.client_name).run()

    def upgraded(self) -> tuple[ByteStream, bytes]:
        return self.stream, bytes(self.h11.trailing_data[0])

    async def take_over(self) -> Stream:
        raw = self.stream
        assert isinstance(raw, Stream)
        try:
            data = self.h11.send(
                h11.Response(status_code=200, headers=[], reason=b"Connection Established")
            )
        except h11.LocalProtocolError:
            raise ClientGone from None
        await self.send(data or b"")
        # Bytes the client sent right behind CONNECT (often its ClientHello)
        # were read by h11; hand them back to the stream.
        raw.unread(self.h11.trailing_data[0])
        return raw

    # Writing

    @property
    def response_started(self) -> bool:
        return self.h11.our_state not in _NOT_STARTED

    def send_informational(self, event: h11.InformationalResponse) -> bytes | None:
        try:
            return self.h11.send(event) or b""
        except h11.LocalProtocolError:
            return None

    def start_response(self, event: h11.Response) -> bytes:
        return self.h11.send(event) or b""

    def frame(self, event: h11.Data | h11.EndOfMessage) -> bytes:
        return self.h11.send(event) or b""

    async def send(self, data: bytes) -> None:
        try:
            await self.stream.send(data)
        except StreamClosed:
            raise ClientGone from None

    @contextlib.contextmanager
    def hangup(self, callback: Callable[[], None]) -> Iterator[bool]:
        raw = self.stream.raw if isinstance(self.stream, TlsStream) else self.stream
        if not isinstance(raw, Stream) or raw.at_eof:
            yield False
            return
        raw.on_hangup = callback
        try:
            yield True
        finally:
            raw.on_hangup = None

    # Exchanges

    async def _exchange(self, event: h11.Request, received: int) -> bool:
        """Handle one request; True when the connection may be kept alive."""
        ctx = self.ctx
        target_text = event.target.decode("latin-1")
        method = event.method.decode("ascii", "replace")
        raw_headers = event.headers.raw_items()
        request = Request(
            method=method,
            target=target_text,
            version=event.http_version.decode("ascii", "replace"),
            headers=auth.redact(raw_headers),
        )
        target: Target | None = None
        refusal: ProxyError | None = None
        tunnel = self.tunnel
        try:
            check_head_size(raw_headers, len(event.method) + len(event.target) + 10)
            if received > MAX_HEAD_SIZE and _head_size(event) > MAX_HEAD_SIZE:
                raise MessageRejected(431, "request head larger than 64 KiB")
            check_framing(raw_headers, event.http_version)
            if method == "CONNECT":
                if tunnel is not None:
                    raise MessageRejected(501, "CONNECT inside a tunnel is not supported")
                check_connect(raw_headers)
                request.host, request.port = split_authority(target_text, None)
                request.scheme = "tunnel"
            elif target_text.startswith("/") and tunnel is not None:
                target = Target(tunnel.scheme, tunnel.host, tunnel.port, target_text)
            elif not target_text.startswith("/") and target_text != "*":
                target = parse_absolute_target(target_text)
            if target is not None:
                request.scheme, request.host = target.scheme, target.host
                request.port, request.target = target.port, target.path
        except MessageRejected as exc:
            refusal = ClientError(exc.status, _kind_for(exc.status), exc.message)
            if target is None and method != "CONNECT":
                if tunnel is not None and target_text.startswith("/"):
                    request.scheme, request.host = tunnel.scheme, tunnel.host
                    request.port = tunnel.port
                _aim_for_display(request, target_text)
        credentials = ctx.settings.proxy_auth
        # Inside a tunnel the CONNECT that opened it was authenticated.
        if (
            refusal is None
            and credentials
            and tunnel is None
            and not auth.is_authorized(raw_headers, credentials)
        ):
            refusal = _auth_refusal(raw_headers)

        flow = ctx.recorder.created(
            self.stream.peername,
            request,
            tunnel.flow if tunnel is not None else None,
            client_name=self.client_name,
        )

        if refusal is not None:
            if refusal.status == 407:
                return await self.fail(flow, refusal, extra_headers=[auth.CHALLENGE])
            return await self.fail(flow, refusal, close=True)
        if method == "CONNECT":
            await open_tunnel(self, flow)
            return False
        try:
            if target is None:
                return await local.serve_help(self, flow)
            if target.host == onboarding.HOST:
                return await local.serve_onboarding(self, flow)
            return await forward(self, flow, event.method, target)
        except Aborted as exc:
            if exc.reset:
                self.stream.abort()
                self._mark_failed(flow, exc.kind, f"{exc.message} (connection reset)")
                return False
            return await self.fail(flow, exc)
        except ProxyError as exc:
            return await self.fail(flow, exc)
        except ClientGone:
            self._mark_failed(flow, "client-closed", "client disconnected before the end")
            return False
        except Exception as exc:
            log.exception("flow %d failed unexpectedly", flow.id)
            await self.fail(
                flow, ProxyError(500, "internal", f"internal proxy error: {exc!r}"), True
            )
            return False

    async def fail(
        self,
        flow: Flow,
        error: ProxyError,
        close: bool = False,
        extra_headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> bool:
        """Answer ``error`` if the response has not started (else cut the
        connection so the client sees the failure), and record it on the
        flow. Returns whether the connection may be kept alive."""
        if self.response_started:
            self.stream.abort()
            self._mark_failed(flow, error.kind, error.message)
            return False
        body = pages.error_body(error.message)
        close = close or not self.finish_request_nowait()
        h = self.h11
        headers = pages.error_headers(body, close) + list(extra_headers)
        data: bytes
        try:
            data = (
                h.send(
                    h11.Response(
                        status_code=error.status, headers=headers, reason=pages.reason(error.status)
                    )
                )
                or b""
            )
            if flow.request.method != "HEAD":
                data += h.send(h11.Data(data=body)) or b""
            data += h.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            data = pages.raw_error_response(error.status, error.message)
            close = True
        response = Response(
            status=error.status,
            reason=pages.reason(error.status),
            headers=headers,
            body=body,
            body_size=len(body),
        )
        self.ctx.recorder.failed(flow, error.kind, error.message, response)
        self._linger = close
        try:
            await self.stream.send(data)
        except StreamClosed:
            return False
        return not close

    def _mark_failed(self, flow: Flow, kind: str, message: str) -> None:
        self.ctx.recorder.failed(flow, kind, message)

    def _refuse_head(self, status: int, kind: str, message: str, start: bytes) -> None:
        """Answer a head that could not be parsed at all (``start`` being
        what arrived of it), record it, and let the caller close the
        connection."""
        body = pages.error_body(message)
        response = Response(
            status=status,
            reason=pages.reason(status),
            headers=pages.error_headers(body, close=True),
            body=body,
            body_size=len(body),
        )
        self.ctx.recorder.refused(
            self.stream.peername,
            _partial_request(start),
            response,
            kind,
            message,
            self.client_name,
        )
        self._linger = True
        with contextlib.suppress(StreamClosed):
            self.stream.write(pages.raw_error_response(status, message))


def _head_size(event: h11.Request) -> int:
    size = len(event.method) + len(event.target) + 12
    for name, value in event.headers.raw_items():
        size += len(name) + len(value) + 4
    return size


def _auth_refusal(headers: Headers) -> ClientError:
    if find_header(headers, b"proxy-authorization") is None:
        return ClientError(407, "auth", "proxy authentication required")
    return ClientError(407, "auth", "wrong proxy credentials")


def _kind_for(status: int) -> str:
    return {414: "uri-too-long", 431: "head-too-large", 501: "unsupported"}.get(
        status, "bad-request"
    )


def _partial_request(pending: bytes) -> Request:
    """What can be told of a request whose head did not parse, for display."""
    line = pending.split(b"\n", 1)[0][:200].decode("latin-1").strip()
    method, _, rest = line.partition(" ")
    target = rest.rpartition(" ")[0] if " HTTP/" in rest else rest
    request = Request(method=method[:20], target=target)
    _aim_for_display(request, target)
    return request


def _aim_for_display(request: Request, target: str) -> None:
    """Split an absolute-form target the proxy refused into host, port and
    path where it parses, so the refused flow reads like any other (its
    host in the Host column, not its whole URL in Path)."""
    if target.startswith("/") or "://" not in target:
        return
    with contextlib.suppress(MessageRejected):
        parsed = parse_absolute_target(target)
        request.scheme, request.host = parsed.scheme, parsed.host
        request.port, request.target = parsed.port, parsed.path
