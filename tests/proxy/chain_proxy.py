"""A small upstream proxy for chaining tests, on 127.0.0.1 port 0: it
serves absolute-form requests (re-framed with h11, keep-alive kept) and
CONNECT tunnels, optionally asks for Basic credentials (407), maps host
names to local addresses so tests never resolve real names, and records
every request head it saw."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11


@dataclass
class Seen:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    connection: int
    """Which client connection it came on (1, 2, ...)."""

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class ChainProxy:
    credentials: tuple[str, str] | None = None
    hosts: dict[str, str] = field(default_factory=dict)
    """Names the proxy resolves itself (anything else is dialled as is)."""
    refuse_connect: tuple[int, bytes] | None = None
    """Answer every CONNECT with this status and reason."""
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> ChainProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for _ in range(8):
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.sleep(0)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        if self.credentials is None:
            return True
        user, password = self.credentials
        expected = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
        return any(k.lower() == b"proxy-authorization" and v == expected for k, v in headers)

    def _address(self, host: str, port: int) -> tuple[str, int]:
        return self.hosts.get(host, host), port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await _next(conn, reader)
                if not isinstance(event, h11.Request):
                    return
                headers = list(event.headers.raw_items())
                self.seen.append(Seen(event.method, event.target, headers, number))
                body = b""
                if event.method != b"CONNECT":
                    while True:
                        item = await _next(conn, reader)
                        if isinstance(item, h11.Data):
                            body += bytes(item.data)
                        elif isinstance(item, h11.EndOfMessage):
                            break
                        else:
                            return
                if not self._authorized(headers):
                    await _answer(
                        conn,
                        writer,
                        407,
                        [(b"Proxy-Authenticate", b'Basic realm="chain"')],
                        b"proxy authentication required",
                    )
                elif event.method == b"CONNECT":
                    await self._tunnel(conn, reader, writer, event.target.decode())
                    return
                else:
                    await self._forward(conn, writer, event, headers, body)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _forward(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        event: h11.Request,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        url = urlsplit(event.target.decode())
        if url.scheme != "http" or not url.hostname:
            await _answer(conn, writer, 400, [], b"absolute form expected")
            return
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        host, port = self._address(url.hostname, url.port or 80)
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            await _answer(conn, writer, 502, [], b"chain proxy: origin unreachable")
            return
        try:
            kept = [(k, v) for k, v in headers if k.lower() not in (b"proxy-authorization",)]
            up = h11.Connection(h11.CLIENT)
            data = up.send(h11.Request(method=event.method, target=path, headers=kept)) or b""
            if body:
                data += up.send(h11.Data(data=body)) or b""
            data += up.send(h11.EndOfMessage()) or b""
            up_writer.write(data)
            response = await _next(up, up_reader)
            assert isinstance(response, h11.Response)
            parts = []
            while True:
                item = await _next(up, up_reader)
                if isinstance(item, h11.Data):
                    parts.append(bytes(item.data))
                elif isinstance(item, h11.EndOfMessage):
                    break
            relayed = [
                (k, v)
                for k, v in response.headers.raw_items()
                if k.lower() not in (b"connection", b"content-length", b"transfer-encoding")
            ]
            await _answer(conn, writer, response.status_code, relayed, b"".join(parts))
        finally:
            up_writer.close()

    async def _tunnel(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: str,
    ) -> None:
        if self.refuse_connect is not None:
            status, reason = self.refuse_connect
            writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n" % (status, reason))
            await writer.drain()
            return
        name, _, port_text = target.rpartition(":")
        host, port = self._address(name.strip("[]"), int(port_text))
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        leftover = conn.trailing_data[0]
        if leftover:
            up_writer.write(bytes(leftover))
        self._writers.add(up_writer)
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _answer(
    conn: h11.Connection,
    writer: asyncio.StreamWriter,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    headers = [*headers, (b"Content-Length", str(len(body)).encode())]
    data = conn.send(h11.Response(status_code=status, headers=headers)) or b""
    data += conn.send(h11.Data(data=body)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    writer.write(data)
    await writer.drain()


async def _next(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Event:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        conn.receive_data(await reader.read(65536))
