"""The engine: a listening socket, its client connections and the upstream
pool, started and stopped as one.

It runs on whatever asyncio loop it is started on and owns no global state,
so the desktop app can host it on a thread of its own and tests can run
several side by side. Stopping never relies on ``Server.wait_closed()``,
which waits for every keep-alive client: it stops accepting, gives busy
connections a short grace period, then aborts whatever is left.

On readiness loops (every loop on Linux and macOS, qasync's and uvloop's
included) the engine accepts itself rather than through ``loop.create_server``: out of
file descriptors, asyncio's accept loop keeps calling ``accept()`` up to
``backlog`` times per wake-up, logging each failure with a traceback and
scheduling a retry for each (CPython gh-151615), which here meant about a
thousand error logs a second and a fifth of a core for as long as the
shortage lasted. ``_Listener`` pauses once, says so once, and tries again
after ``ACCEPT_RETRY_DELAY``. Proactor loops (Windows) accept by completion,
not readiness, and keep asyncio's server.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import socket
from typing import cast

from inspector.core.events import (
    EventSink,
    ListenFailed,
    ProxyStarted,
    ProxyStopped,
    WarningRaised,
)
from inspector.core.flow import authority
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.proxy.client import ClientConnection
from inspector.proxy.context import EngineContext, HostFilter, ServerContexts
from inspector.proxy.errors import ListenError
from inspector.proxy.recorder import FlowRecorder
from inspector.proxy.stream import Stream
from inspector.proxy.upstream import Resolver, UpstreamPool

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 5.0
"""Seconds between sweeps of idle pooled connections."""
BACKLOG = 1024
"""Pending connections the kernel queues: a browser opens dozens at once."""
ACCEPT_BATCH = 128
"""Connections accepted per wake-up, so a burst cannot hold the loop long."""
ACCEPT_RETRY_DELAY = 0.5
"""Out of file descriptors (or kernel memory), accepting pauses this long:
connections finishing meanwhile free descriptors, and pending clients wait
in the backlog instead of the loop spinning on a listening socket that
stays readable."""


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
        self.ctx = EngineContext(
            settings=settings,
            recorder=FlowRecorder(store, sink),
            sink=sink,
            pool=pool,
            certs=certs,
        )
        if ignore is not None:
            self.ctx.ignore = ignore
        self._listeners: list[_Listener | asyncio.Server] = []
        self._attaching: set[asyncio.Task[None]] = set()
        self._clients: dict[ClientConnection, asyncio.Task[None]] = {}
        self._bound: list[tuple[str, int]] = []
        self._local_ips: frozenset[str] = frozenset()
        self._tagged: dict[tuple[str, int], str] = {}
        """Tagged listening addresses and the client name each stands for."""

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound; valid after ``start``."""
        if not self._bound:
            raise RuntimeError("the proxy is not listening")
        return self._bound[0]

    @property
    def running(self) -> bool:
        return bool(self._listeners)

    @property
    def connection_count(self) -> int:
        return len(self._clients)

    async def start(self) -> tuple[str, int]:
        """Bind and start accepting. Raises ListenError with a clear message."""
        host, port = self.settings.listen_host, self.settings.listen_port
        try:
            sockets = await _bind(host, port)
        except OSError as exc:
            message = _listen_message(host, port, exc)
            self.ctx.sink.emit(ListenFailed(host, port, message))
            raise ListenError(message) from None
        self._bound = [(str(sock.getsockname()[0]), int(sock.getsockname()[1])) for sock in sockets]
        for sock in sockets:
            await self._serve(sock)
        if any(ipaddress.ip_address(ip).is_unspecified for ip, _ in self._bound):
            self._local_ips = _local_addresses()
        bound_host, bound_port = self._bound[0]
        self.ctx.listen = authority(bound_host, bound_port)
        self.ctx.tasks.spawn(self._sweep_pool(), name="pool-sweeper")
        self.ctx.sink.emit(ProxyStarted(bound_host, bound_port))
        return bound_host, bound_port

    async def listen_tagged(self, name: str, port: int = 0) -> tuple[str, int]:
        """Listen on one more loopback port, ``port`` or any free one, for
        the client ``name`` alone: every flow accepted on it carries the
        name. A launched browser or terminal is told this port, so which
        app made a flow is known from where it connected, whatever it sends.
        The same name gets the same port while the server runs. Raises
        ListenError."""
        for address, tag in self._tagged.items():
            if tag == name:
                return address
        if not self.running:
            raise ListenError("the proxy is not running")
        bound_host = self.address[0]
        # Launched clients run on this machine: loopback even when the
        # main address is a wildcard, and one address, so one port.
        host = bound_host if ipaddress.ip_address(bound_host).is_loopback else "127.0.0.1"
        try:
            (sock,) = await _bind(host, port)
        except OSError as exc:
            raise ListenError(_listen_message(host, port, exc)) from None
        address = (str(sock.getsockname()[0]), int(sock.getsockname()[1]))
        self._tagged[address] = name
        self._bound.append(address)
        await self._serve(sock)
        return address

    @property
    def tagged(self) -> dict[str, tuple[str, int]]:
        """Client names and the address each one's port is bound to."""
        return {name: address for address, name in self._tagged.items()}

    async def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        if accepts_by_readiness(loop):
            listener = _Listener(self, sock)
            listener.start()
            self._listeners.append(listener)
        else:
            server = await loop.create_server(self._new_stream, sock=sock, backlog=BACKLOG)
            self._listeners.append(server)

    async def stop(self) -> None:
        """Stop accepting, let busy exchanges finish within the grace period,
        abort everything else, and return."""
        listeners, self._listeners = self._listeners, []
        self._tagged.clear()
        if not listeners:
            return
        for listener in listeners:
            listener.close()
        if self._attaching:
            # Accepted sockets still becoming transports: let them finish
            # (a loop turn), so none is left open behind the stop.
            await asyncio.wait(list(self._attaching), timeout=1.0)
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

    def _attach(self, sock: socket.socket) -> None:
        """Make a transport and a client connection for an accepted socket."""
        task = self.ctx.tasks.spawn(self._make_transport(sock), name="accept")
        self._attaching.add(task)
        task.add_done_callback(self._attaching.discard)

    async def _make_transport(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(self._new_stream, sock)
        except OSError:
            sock.close()  # the client vanished already
        except BaseException:
            sock.close()
            raise

    def _accepted(self, stream: Stream) -> None:
        name = self._tagged.get(stream.sockname, "")
        client = ClientConnection(self.ctx, stream, client_name=name)
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


def accepts_by_readiness(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` can watch a listening socket for readiness, which
    ``_Listener`` needs: selector loops (qasync's on POSIX included) and
    uvloop can; proactor loops (Windows) cannot."""
    if isinstance(loop, asyncio.SelectorEventLoop):
        return True
    return type(loop).__module__.startswith("uvloop")


class _Listener:
    """One listening socket and its accept loop (see the module docstring
    for why not asyncio's)."""

    def __init__(self, owner: ProxyServer, sock: socket.socket) -> None:
        self._owner = owner
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = asyncio.get_running_loop()
        self._retry: asyncio.TimerHandle | None = None
        self._paused = False

    def start(self) -> None:
        self._retry = None
        self._loop.add_reader(self._fd, self._accept)

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._loop.remove_reader(self._fd)
        self._sock.close()

    def _accept(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                sock, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                if self._paused:
                    # Only now, with every queued client taken, is the
                    # shortage over; saying so earlier would repeat the
                    # warning at every pause of one shortage.
                    self._paused = False
                    log.warning("accepting connections again")
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                self._pause(exc)
                return
            sock.setblocking(False)
            self._owner._attach(sock)

    def _pause(self, exc: OSError) -> None:
        """Stop watching the socket for a while; say so once per shortage."""
        self._loop.remove_reader(self._fd)
        self._retry = self._loop.call_later(ACCEPT_RETRY_DELAY, self.start)
        if self._paused:
            return
        self._paused = True
        message = (
            f"cannot accept connections ({exc.strerror or exc}); "
            f"retrying every {ACCEPT_RETRY_DELAY:g} s"
        )
        log.warning("%s", message)
        self._owner.ctx.sink.emit(WarningRaised("accept", self._owner.ctx.listen, message))


async def _bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` resolves to, as
    ``loop.create_server`` would make them: address reuse on POSIX, and
    IPv6 sockets IPv6-only so each family has its own."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if os.name == "posix":
                # A restart may bind at once despite TIME_WAIT; on Windows the
                # option would instead let another process share the port.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


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
