"""Test harness for the engine: a scriptable origin server, a raw client,
and a context manager running the proxy on 127.0.0.1 port 0."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import h11

from inspector.core.settings import ProxySettings
from inspector.core.sinks import ListSink
from inspector.core.store import FlowStore
from inspector.proxy.context import HostFilter, ServerContexts
from inspector.proxy.server import ProxyServer
from inspector.proxy.upstream import Resolver


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes | list[bytes] = b""
    """A body, or chunks streamed one write each."""


@dataclass
class Received:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    size: int = 0


Handler = Callable[[Received], Awaitable[Reply | bytes | None]]
"""Returns a Reply, raw bytes to write verbatim (then close), or None to
close without answering."""


async def _default_handler(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"text/plain")], b"hello " + req.target)


class Origin:
    """An HTTP/1.1 origin server on 127.0.0.1 port 0."""

    def __init__(
        self,
        handler: Handler = _default_handler,
        keep_bodies: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self.keep_bodies = keep_bodies
        self.tls = tls
        self.connections = 0
        self.requests: list[Received] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def __aenter__(self) -> Origin:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        # A connection accepted just before close() gets its handler a few
        # loop iterations later: keep aborting until none is left.
        for _ in range(8):
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.sleep(0)

    @property
    def base(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=1 << 20)
        try:
            while True:
                event = await _next(conn, reader)
                if not isinstance(event, h11.Request):
                    return
                parts: list[bytes] = []
                size = 0
                while True:
                    item = await _next(conn, reader)
                    if isinstance(item, h11.Data):
                        size += len(item.data)
                        if self.keep_bodies:
                            parts.append(bytes(item.data))
                    elif isinstance(item, h11.EndOfMessage):
                        break
                    else:
                        return
                received = Received(
                    event.method, event.target, list(event.headers), b"".join(parts), size
                )
                self.requests.append(received)
                reply = await self.handler(received)
                if reply is None:
                    return
                if isinstance(reply, bytes):
                    writer.write(reply)
                    await writer.drain()
                    return
                writer.write(
                    conn.send(h11.Response(status_code=reply.status, headers=reply.headers)) or b""
                )
                chunks = reply.body if isinstance(reply.body, list) else [reply.body]
                for chunk in chunks:
                    if chunk and event.method != b"HEAD":
                        writer.write(conn.send(h11.Data(data=chunk)) or b"")
                        await writer.drain()
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError):
            return
        except asyncio.CancelledError:
            # Python 3.11's start_server logs handler tasks that end
            # cancelled; a harness torn down mid-request ends quietly.
            return
        finally:
            self._writers.discard(writer)
            writer.close()


async def _next(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Event:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(65536))


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Client:
    """A raw client connection to the proxy, parsing answers with h11."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
    ) -> Answer:
        """Send one request in absolute form and read the answer."""
        hdrs = list(headers or [])
        if not any(k.lower() == b"host" for k, _ in hdrs):
            hdrs.insert(0, (b"Host", url.split("/")[2].encode()))
        if body and not any(
            k.lower() in (b"content-length", b"transfer-encoding") for k, _ in hdrs
        ):
            hdrs.append((b"Content-Length", str(len(body)).encode()))
        self.conn = _fresh_cycle(self.conn)
        data = self.conn.send(h11.Request(method=method, target=url, headers=hdrs)) or b""
        if body:
            data += self.conn.send(h11.Data(data=body)) or b""
        data += self.conn.send(h11.EndOfMessage()) or b""
        await self.send(data)
        return await self.read_answer(method)

    async def read_answer(self, method: str = "GET") -> Answer:
        if self.conn.our_state is h11.IDLE:
            # Raw bytes were sent around h11: tell it a request went out.
            self.conn.send(h11.Request(method=method, target="/", headers=[(b"Host", b"x")]))
            self.conn.send(h11.EndOfMessage())
        while True:
            event = await _next(self.conn, self.reader)
            if isinstance(event, h11.Response):
                break
        parts = []
        while True:
            item = await _next(self.conn, self.reader)
            if isinstance(item, h11.Data):
                parts.append(bytes(item.data))
            elif isinstance(item, h11.EndOfMessage):
                break
        return Answer(event.status_code, list(event.headers), b"".join(parts))

    async def read_all(self, timeout: float = 5.0) -> bytes:
        """Everything until the proxy closes the connection."""
        chunks = []
        async with asyncio.timeout(timeout):
            while chunk := await self.reader.read(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    async def closed_by_peer(self, timeout: float = 5.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                return await self.reader.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.writer.transport.abort()


def _fresh_cycle(conn: h11.Connection) -> h11.Connection:
    if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
        conn.start_next_cycle()
        return conn
    if conn.our_state is h11.IDLE:
        return conn
    return h11.Connection(h11.CLIENT)


@dataclass
class Proxy:
    server: ProxyServer
    store: FlowStore
    sink: ListSink

    @property
    def port(self) -> int:
        return self.server.address[1]

    async def client(self) -> Client:
        return await Client.connect(self.port)

    async def wait_flows(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` flows have finished."""
        async with asyncio.timeout(timeout):
            while sum(1 for f in self.store if f.finished) < count:
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_proxy(
    resolver: Resolver | None = None,
    certs: ServerContexts | None = None,
    ignore: HostFilter | None = None,
    **overrides: object,
) -> AsyncIterator[Proxy]:
    settings = ProxySettings(listen_host="127.0.0.1", listen_port=0)
    for name, value in overrides.items():
        setattr(settings, name, value)
    store = FlowStore()
    sink = ListSink()
    server = ProxyServer(settings, store, sink, resolver, certs, ignore)
    await server.start()
    try:
        yield Proxy(server, store, sink)
    finally:
        await server.stop()


def run(coro: Awaitable[object]) -> None:
    """Run one test scenario on a fresh loop."""

    async def main() -> None:
        await coro

    asyncio.run(main())
