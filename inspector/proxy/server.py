"""The engine: a listening socket, its client connections and the upstream
pool, started and stopped as one.

It runs on whatever asyncio loop it is started on and owns no global state,
so the desktop app can host it on a thread of its own and tests can run
several side by side. Stopping never relies on ``Server.wait_closed()``,
which waits for every keep-alive client: it stops accepting, gives busy
connections a short grace period, then aborts whatever is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import socket
from typing import cast

from inspector.core.events import EventSink, ListenFailed, ProxyStarted, ProxyStopped
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.proxy.client import ClientConnection
from inspector.proxy.context import EngineContext
from inspector.proxy.errors import ListenError
from inspector.proxy.stream import Stream
from inspector.proxy.tunnel import HostFilter, ServerContexts
from inspector.proxy.upstream import Resolver, UpstreamPool

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 5.0
"""Seconds between sweeps of idle pooled connections."""


class ProxyServer:
    def __init__(
        self,
        settings: ProxySettings,
        store: FlowStore,
        sink: EventSink,
        resolver: Resolver | None = None,
        certs: ServerContexts | None = None,
        ignore: HostFilter | None = None,
    ) -> None:
        self.settings = settings
        pool = UpstreamPool(settings, self.is_self, resolver)
        self.ctx = EngineContext(settings=settings, store=store, sink=sink, pool=pool, certs=certs)
        if ignore is not None:
            self.ctx.ignore = ignore
        self._server: asyncio.Server | None = None
        self._clients: dict[ClientConnection, asyncio.Task[None]] = {}
        self._bound: list[tuple[str, int]] = []
        self._local_ips: frozenset[str] = frozenset()

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound; valid after ``start``."""
        if not self._bound:
            raise RuntimeError("the proxy is not listening")
        return self._bound[0]

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def connection_count(self) -> int:
        return len(self._clients)

    async def start(self) -> tuple[str, int]:
        """Bind and start accepting. Raises ListenError with a clear message."""
        host, port = self.settings.listen_host, self.settings.listen_port
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                self._new_stream, host, port, reuse_address=True, backlog=1024
            )
        except OSError as exc:
            message = _listen_message(host, port, exc)
            self.ctx.sink.emit(ListenFailed(host, port, message))
            raise ListenError(message) from None
        self._bound = [
            (str(sock.getsockname()[0]), int(sock.getsockname()[1]))
            for sock in self._server.sockets
        ]
        if any(ipaddress.ip_address(ip).is_unspecified for ip, _ in self._bound):
            self._local_ips = _local_addresses()
        bound_host, bound_port = self._bound[0]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.ctx.listen = f"{shown}:{bound_port}"
        self.ctx.tasks.spawn(self._sweep_pool(), name="pool-sweeper")
        self.ctx.sink.emit(ProxyStarted(bound_host, bound_port))
        return bound_host, bound_port

    async def stop(self) -> None:
        """Stop accepting, let busy exchanges finish within the grace period,
        abort everything else, and return."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.ctx.stopping = True
        busy = []
        for client, task in list(self._clients.items()):
            if client.busy:
                busy.append(task)
            else:
                client.stream.abort()
        if busy:
            await asyncio.wait(busy, timeout=self.settings.shutdown_grace)
        for client in list(self._clients):
            client.stream.abort()
        self.ctx.pool.close_all()
        await self.ctx.tasks.cancel_all(timeout=1.0)
        self._clients.clear()
        self.ctx.sink.emit(ProxyStopped())

    def is_self(self, ip: str, port: int) -> bool:
        """Whether (ip, port) reaches this proxy's own listening socket."""
        for bound_ip, bound_port in self._bound:
            if port != bound_port:
                continue
            if ip == bound_ip:
                return True
            bound = ipaddress.ip_address(bound_ip)
            addr = ipaddress.ip_address(ip)
            if bound.is_unspecified and (addr.is_loopback or ip in self._local_ips):
                return True
            if bound.is_loopback and addr.is_loopback and bound.version == addr.version:
                # 127.0.0.0/8 is all loopback, but only the bound address
                # connects; "localhost" resolving to 127.0.0.1 is the case
                # that matters and is caught above.
                continue
        return False

    def _new_stream(self) -> Stream:
        return _ServerStream(self)

    def _accepted(self, stream: Stream) -> None:
        client = ClientConnection(self.ctx, stream)
        task = self.ctx.tasks.spawn(client.run(), name=f"client-{stream.peername[1]}")
        self._clients[client] = task
        task.add_done_callback(lambda _t: self._clients.pop(client, None))

    async def _sweep_pool(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.ctx.pool.sweep()


class _ServerStream(Stream):
    def __init__(self, server: ProxyServer) -> None:
        super().__init__()
        self._owner = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self._owner.running:
            self._owner._accepted(self)
        else:
            cast(asyncio.Transport, transport).abort()


def _listen_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {host}:{port}: the port is already in use"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {host}:{port}: permission denied"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: no such local address"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _local_addresses() -> frozenset[str]:
    """This machine's own addresses, for loop detection on wildcard binds."""
    addresses: set[str] = set()
    with contextlib.suppress(OSError, UnicodeError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            addresses.add(str(info[4][0]))
    return frozenset(addresses)
