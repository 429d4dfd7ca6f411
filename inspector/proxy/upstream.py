"""Upstream connections and the pool that keeps them alive between requests.

A connection is keyed by ``(scheme, host, port, via)``: ``via`` is empty
for a direct connection, else the upstream proxy's ``host:port``. Through
an upstream proxy, plain HTTP uses one key for every origin (``host`` is
``*``): its requests go in absolute form, so one connection to the proxy
carries requests for many origins. Everything else gets a CONNECT tunnel
per origin, keyed by that origin. One is put back in the
pool only when its last exchange ended cleanly with both h11 state machines
ready for another cycle and nothing unexpected buffered: after an error, a
truncated body, or a HEAD/204/304 answer followed by stray bytes, the
connection is closed instead, because its framing can no longer be trusted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import cast

import h11

from inspector.core.flow import TlsInfo, authority, bracketed
from inspector.core.hostmatch import HostPatterns
from inspector.core.http_rules import MAX_HEAD_SIZE
from inspector.core.settings import ProxySettings
from inspector.core.upstream_proxy import (
    DIRECT,
    Route,
    UpstreamProxy,
    parse_bypass,
    parse_upstream_proxy,
    route,
)
from inspector.proxy.errors import UpstreamError
from inspector.proxy.stream import READ_SIZE, ByteStream, Stream, StreamClosed
from inspector.proxy.tls import TlsError, TlsStream
from inspector.proxy.upstream_tls import upstream_context

Origin = tuple[str, str, int]
"""``(scheme, host, port)`` of the server a request is for."""
PoolKey = tuple[str, str, int, str]
"""``(scheme, host, port, via)``; see the module's docstring."""
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> IP addresses``; raises UpstreamError on failure."""


class UpstreamConnection:
    def __init__(
        self,
        key: PoolKey,
        stream: ByteStream,
        address: tuple[str, int],
        tls: TlsInfo | None = None,
        route: Route = DIRECT,
    ) -> None:
        self.key = key
        self.stream = stream
        self.address = address
        self.tls = tls
        self.route = route
        """Direct, or through the upstream proxy (absolute form or tunnel)."""
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_SIZE)
        self.idle_since = 0.0
        self._loop = asyncio.get_running_loop()
        self.exchanges = 0
        self.received_any = False
        """Whether any response byte arrived in the current exchange."""
        self.received_bytes = 0
        """Bytes read in the current exchange (head size checks)."""
        self.t_dns: float | None = None
        """When the address was resolved (None for an IP literal)."""
        self.t_connected: float | None = None
        """When TCP was up (before any TLS handshake)."""

    async def send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            await self.stream.send(data)

    def outgoing(self, request: h11.Request, origin: Origin) -> h11.Request:
        """``request`` (in origin form) as this connection sends it: in
        absolute form, with the upstream proxy's credentials, when it goes
        to the upstream proxy as plain HTTP; else unchanged."""
        proxy = self.route.via
        if proxy is None or not self.route.absolute_form:
            return request
        _scheme, host, port = origin
        where = bracketed(host) if port == 80 else authority(host, port)
        path = b"" if request.target == b"*" else request.target
        headers = list(request.headers.raw_items())
        credentials = proxy.authorization
        if credentials is not None:
            headers.append((b"Proxy-Authorization", credentials))
        return h11.Request(
            method=request.method,
            target=b"http://" + where.encode("latin-1") + path,
            headers=headers,
            http_version=request.http_version,
        )

    def check_answer(self, status: int) -> None:
        """A 407 on the absolute-form route is the upstream proxy's, not
        the origin's: the client's proxy (Inspector) cannot answer that
        challenge, so it is an UpstreamError naming the upstream proxy."""
        proxy = self.route.via
        if status == 407 and proxy is not None and self.route.absolute_form:
            raise UpstreamError(502, "upstream-proxy-auth", _auth_required(proxy))

    async def next_event(self, timeout: float) -> h11.Event:
        """The next h11 event from the upstream, reading as needed.

        Raises TimeoutError when no byte arrives for ``timeout`` seconds and
        h11.RemoteProtocolError on malformed or truncated input.
        """
        while True:
            event = self.poll()
            if event is not None:
                return event
            await self.fill(timeout)

    def poll(self) -> h11.Event | None:
        """The next event if it can be had without reading, else None."""
        event = self.h11.next_event()
        if event is h11.NEED_DATA:
            return None
        if event is h11.PAUSED:
            raise h11.RemoteProtocolError("response data after the end of the exchange")
        return cast(h11.Event, event)

    async def fill(self, timeout: float) -> None:
        """Read once from the upstream into the parser (b"" at EOF)."""
        data = await self.stream.read(READ_SIZE, self._loop.time() + timeout)
        if data:
            self.received_any = True
            self.received_bytes += len(data)
        self.h11.receive_data(data)

    def finish_cycle(self) -> bool:
        """After a complete exchange: ready the state machine for the next
        one and say whether the connection may be reused."""
        conn = self.h11
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        self.exchanges += 1
        self.received_any = False
        self.received_bytes = 0
        return self.clean

    @property
    def clean(self) -> bool:
        """Idle and usable: no stray bytes, peer still there."""
        return (
            not self.stream.is_closing
            and not self.stream.buffered
            and not self.stream.at_eof
            and not self.h11.trailing_data[0]
            and self.h11.our_state is h11.IDLE
        )

    def close(self) -> None:
        self.stream.abort()


class UpstreamPool:
    def __init__(
        self,
        settings: ProxySettings,
        is_self: Callable[[str, int], bool] | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._settings = settings
        self._is_self = is_self or (lambda host, port: False)
        self._resolve = resolver or resolve
        self._tls_context: ssl.SSLContext | None = None
        self._idle: dict[PoolKey, list[UpstreamConnection]] = {}
        self._active: set[UpstreamConnection] = set()
        self._parsed: tuple[str | None, str] | None = None
        self._upstream: tuple[UpstreamProxy | None, HostPatterns] = (None, HostPatterns())

    @property
    def idle_count(self) -> int:
        return sum(len(conns) for conns in self._idle.values())

    @property
    def active_count(self) -> int:
        return len(self._active)

    def route(self, origin: Origin, tunnel: bool = False) -> Route:
        """How ``origin`` is reached under the current settings (which a
        ``configure`` changes in place); ``tunnel`` asks for a byte
        stream to the origin, as a WebSocket needs."""
        settings = self._settings
        current = (settings.upstream_proxy, settings.upstream_bypass)
        if current != self._parsed:
            proxy = parse_upstream_proxy(current[0]) if current[0] else None
            self._upstream = (proxy, parse_bypass(current[1]))
            self._parsed = current
        proxy, bypass = self._upstream
        scheme, host, port = origin
        return route(proxy, bypass, scheme, host, port, tunnel=tunnel)

    def checkout(self, origin: Origin, tunnel: bool = False) -> UpstreamConnection | None:
        """The most recently used live idle connection for ``origin``, if any."""
        key = _pool_key(origin, self.route(origin, tunnel))
        conns = self._idle.get(key)
        deadline = time.monotonic() - self._settings.upstream_idle_timeout
        while conns:
            conn = conns.pop()
            # The parser was checked for leftovers at checkin; what can have
            # changed since is the socket (stray bytes, a close).
            stream = conn.stream
            if (
                conn.idle_since >= deadline
                and not stream.buffered
                and not stream.at_eof
                and not stream.is_closing
            ):
                self._active.add(conn)
                return conn
            conn.close()
        return None

    def checkin(self, conn: UpstreamConnection, reusable: bool) -> None:
        """Return a connection after an exchange; it is closed unless
        ``reusable`` and still clean."""
        self._active.discard(conn)
        if not reusable or not conn.clean:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        conns = self._idle.setdefault(conn.key, [])
        conns.append(conn)
        if len(conns) > self._settings.upstream_max_idle_per_host:
            conns.pop(0).close()

    def discard(self, conn: UpstreamConnection) -> None:
        self._active.discard(conn)
        conn.close()

    def sweep(self) -> int:
        """Close idle connections past their timeout or closed by the peer;
        return how many were closed."""
        deadline = time.monotonic() - self._settings.upstream_idle_timeout
        closed = 0
        for key in list(self._idle):
            keep = []
            for conn in self._idle[key]:
                if conn.idle_since >= deadline and conn.clean:
                    keep.append(conn)
                else:
                    conn.close()
                    closed += 1
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        return closed

    def close_all(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        for conn in list(self._active):
            conn.close()
        self._active.clear()

    def reset_tls(self) -> None:
        """Forget the upstream TLS context (its settings changed); the next
        new connection builds it again. Pooled connections keep theirs."""
        self._tls_context = None

    @property
    def tls_context(self) -> ssl.SSLContext:
        """Built on first use: loading the trust store costs milliseconds."""
        if self._tls_context is None:
            self._tls_context = upstream_context(self._settings)
        return self._tls_context

    async def connect(self, origin: Origin, tunnel: bool = False) -> UpstreamConnection:
        """Open a new connection: resolve, refuse loops, connect (to the
        upstream proxy, through a CONNECT tunnel for anything but plain
        HTTP, when the route says so), and for https handshake with the
        upstream's certificate verified.

        Raises UpstreamError: 502 on DNS failure, refusal, a TLS failure
        or the upstream proxy refusing, 504 on timeout, 508 when the
        address is the proxy's own.
        """
        scheme, host, port = origin
        way = self.route(origin, tunnel)
        key = _pool_key(origin, way)
        settings = self._settings
        stage: list[str] = []
        try:
            async with asyncio.timeout(settings.connect_timeout):
                stamps: list[float] = []
                stream, address = await self._open(way, host, port, stamps, stage)
                t_connected = time.time()
                if scheme != "https":
                    conn = UpstreamConnection(key, stream, address, route=way)
                else:
                    conn = await self._handshake(key, stream, address, way)
                conn.t_dns = stamps[0] if stamps else None
                conn.t_connected = t_connected
        except TimeoutError:
            raise UpstreamError(
                504, "connect-timeout", _timed_out(way, host, port, stage, settings.connect_timeout)
            ) from None
        self._active.add(conn)
        return conn

    async def open_tunnel(self, host: str, port: int) -> tuple[Stream, tuple[str, int]]:
        """A byte stream to ``host:port`` for a passthrough or raw tunnel:
        direct, or through a CONNECT tunnel the upstream proxy opens.
        Raises UpstreamError as ``connect`` does; no timeout of its own."""
        way = self.route(("https", host, port), tunnel=True)
        return await self._open(way, host, port, None, [])

    async def _open(
        self,
        way: Route,
        host: str,
        port: int,
        stamps: list[float] | None,
        stage: list[str],
    ) -> tuple[Stream, tuple[str, int]]:
        proxy = way.via
        if proxy is None:
            return await self.open_raw(host, port, stamps)
        stage.append("proxy")
        try:
            stream, address = await self.open_raw(proxy.host, proxy.port, stamps)
        except UpstreamError as exc:
            raise _proxy_unreachable(proxy, exc) from None
        if way.tunnel:
            stage.append("connect")
            try:
                await _connect_through(stream, proxy, host, port)
            except BaseException:
                stream.abort()
                raise
        return stream, address

    async def open_raw(
        self, host: str, port: int, stamps: list[float] | None = None
    ) -> tuple[Stream, tuple[str, int]]:
        """A plain TCP stream to ``host:port`` (tunnels relay over these).
        Raises UpstreamError as ``connect`` does; no timeout of its own.
        ``stamps`` gets the time the name was resolved (a name, not an IP
        literal)."""
        addresses = await self._resolve(host, port)
        if stamps is not None and not _is_literal(host):
            stamps.append(time.time())
        for ip in addresses:
            if self._is_self(ip, port):
                raise UpstreamError(
                    508, "loop", f"{host}:{port} is this proxy itself (request loop)"
                )
        return await _connect_any(addresses, host, port)

    async def _handshake(
        self, key: PoolKey, raw: Stream, address: tuple[str, int], way: Route
    ) -> UpstreamConnection:
        _scheme, host, port, _via = key
        tls = TlsStream.client(raw, self.tls_context, host)
        try:
            await tls.handshake()
        except TlsError as exc:
            raw.abort()
            if exc.verify_message or exc.reason == "CERTIFICATE_VERIFY_FAILED":
                why = exc.verify_message or exc.reason
                raise UpstreamError(
                    502, "upstream-cert", f"the certificate of {host}:{port} is not valid: {why}"
                ) from None
            raise UpstreamError(
                502,
                "upstream-tls",
                f"TLS handshake with {host}:{port} failed: {exc.reason or exc}",
            ) from None
        except StreamClosed:
            raw.abort()
            raise UpstreamError(
                502, "upstream-tls", f"{host}:{port} closed the connection during the TLS handshake"
            ) from None
        details = tls.details()
        info = TlsInfo(details.version, details.cipher, details.alpn, host)
        return UpstreamConnection(key, tls, address, info, way)


def _pool_key(origin: Origin, way: Route) -> PoolKey:
    scheme, host, port = origin
    proxy = way.via
    if proxy is None:
        return (scheme, host, port, "")
    if way.absolute_form:
        return (scheme, "*", 0, proxy.authority)
    return (scheme, host, port, proxy.authority)


async def _connect_through(stream: Stream, proxy: UpstreamProxy, host: str, port: int) -> None:
    """Ask the upstream proxy for a tunnel to ``host:port`` (RFC 9110
    section 9.3.6) and leave ``stream`` at its first byte. Raises
    UpstreamError naming the upstream proxy when it refuses or fails."""
    target = authority(host, port).encode("latin-1")
    headers = [(b"Host", target)]
    credentials = proxy.authorization
    if credentials is not None:
        headers.append((b"Proxy-Authorization", credentials))
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_SIZE)
    data = conn.send(h11.Request(method=b"CONNECT", target=target, headers=headers)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    where = f"upstream proxy {proxy.authority}"
    try:
        await stream.send(data)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.read(READ_SIZE))
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            break
    except StreamClosed:
        raise UpstreamError(
            502, "upstream-proxy", f"{where} closed the connection before answering CONNECT"
        ) from None
    except h11.RemoteProtocolError as exc:
        raise UpstreamError(
            502, "upstream-proxy", f"{where} sent an invalid answer to CONNECT: {exc}"
        ) from None
    if isinstance(event, h11.ConnectionClosed):
        raise UpstreamError(
            502, "upstream-proxy", f"{where} closed the connection before answering CONNECT"
        )
    if not isinstance(event, h11.Response):
        raise UpstreamError(502, "upstream-proxy", f"{where} sent an invalid answer to CONNECT")
    status = event.status_code
    if status == 407:
        raise UpstreamError(502, "upstream-proxy-auth", _auth_required(proxy))
    if not 200 <= status < 300:
        reason = event.reason.decode("latin-1", "replace")
        raise UpstreamError(
            502,
            "upstream-proxy",
            f"{where} refused CONNECT to {authority(host, port)}: {status} {reason}".rstrip(),
        )
    # Bytes after the 200 are the origin's (a server-first protocol).
    stream.unread(bytes(conn.trailing_data[0]))


def _auth_required(proxy: UpstreamProxy) -> str:
    message = f"upstream proxy {proxy.authority} answered 407: authentication required"
    if proxy.username is not None:
        return f"{message} (the credentials given were refused)"
    return message


def _proxy_unreachable(proxy: UpstreamProxy, exc: UpstreamError) -> UpstreamError:
    where = f"upstream proxy {proxy.authority}"
    if exc.kind == "connect-refused":
        return UpstreamError(502, "upstream-proxy", f"{where} refused the connection")
    if exc.kind == "connect-failed":
        reason = exc.message.rpartition(": ")[2]
        return UpstreamError(502, "upstream-proxy", f"cannot connect to {where}: {reason}")
    if exc.kind == "dns":
        return UpstreamError(502, "upstream-proxy", f"{where}: {exc.message}")
    return exc


def _timed_out(way: Route, host: str, port: int, stage: list[str], limit: float) -> str:
    proxy = way.via
    if proxy is not None and stage and stage[-1] == "connect":
        return (
            f"upstream proxy {proxy.authority} did not open a tunnel to "
            f"{authority(host, port)} within {limit:g} s"
        )
    if proxy is not None and stage == ["proxy"]:
        return f"connecting to upstream proxy {proxy.authority} timed out after {limit:g} s"
    return f"connecting to {host}:{port} timed out after {limit:g} s"


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve(host: str, port: int) -> list[str]:
    """Resolve with the system resolver; IP literals skip the lookup."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UpstreamError(502, "dns", f"DNS lookup for {host} failed: {exc.strerror}") from None
    except UnicodeError:
        raise UpstreamError(502, "dns", f"invalid host name {host!r}") from None
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = str(sockaddr[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UpstreamError(502, "dns", f"DNS lookup for {host} returned no address")
    return addresses


async def _connect_any(
    addresses: list[str], host: str, port: int
) -> tuple[Stream, tuple[str, int]]:
    loop = asyncio.get_running_loop()
    last: OSError | None = None
    for ip in addresses:
        try:
            _transport, stream = await loop.create_connection(Stream, ip, port)
        except OSError as exc:
            last = exc
            continue
        return stream, (ip, port)
    if isinstance(last, ConnectionRefusedError):
        raise UpstreamError(502, "connect-refused", f"connection to {host}:{port} refused")
    reason = last.strerror if last is not None and last.strerror else str(last)
    raise UpstreamError(502, "connect-failed", f"cannot connect to {host}:{port}: {reason}")
