"""The benchmark baseline: a bare h11 forward proxy that records nothing.

It is what a competent engineer would write as a plain forward proxy on
asyncio streams with h11 on both sides, and nothing more: absolute-form
requests are forwarded upstream in origin form, hop-by-hop headers are
dropped, both sides are kept alive, upstream connections are pooled per
``(host, port)``, and bodies stream through a chunk at a time with
``drain()`` for flow control. It keeps no flows, captures no bodies, emits no
events and has no timeouts: the gap between it and Inspector is the price of
everything Inspector does on top of moving bytes.

Run as ``python -m tests.bench.bare_proxy [--port P]``; it prints
``listening on 127.0.0.1:PORT`` once ready and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import cast

import h11

READ_SIZE = 64 * 1024
STREAM_LIMIT = 1024 * 1024
"""StreamReader buffer limit: the 64 KiB default pauses and resumes reading
around every 256 KiB socket read, which costs two epoll updates a chunk."""
MAX_IDLE_PER_HOST = 64
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"upgrade",
    }
)

PoolKey = tuple[str, int]


class BadRequest(Exception):
    """The client sent something this proxy will not forward."""


class Upstream:
    """One pooled connection to an origin."""

    __slots__ = ("conn", "key", "reader", "writer")

    def __init__(
        self, key: PoolKey, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.CLIENT)

    async def send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def next_event(self) -> h11.Event:
        conn = self.conn
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await self.reader.read(READ_SIZE))
                continue
            return cast(h11.Event, event)

    def close(self) -> None:
        self.writer.transport.abort()


class Pool:
    """Idle upstream connections per ``(host, port)``, most recent first out."""

    def __init__(self) -> None:
        self.idle: dict[PoolKey, list[Upstream]] = {}

    async def get(self, key: PoolKey) -> Upstream:
        idle = self.idle.get(key)
        while idle:
            up = idle.pop()
            if not up.writer.transport.is_closing() and not up.reader.at_eof():
                return up
            up.close()
        reader, writer = await asyncio.open_connection(key[0], key[1], limit=STREAM_LIMIT)
        return Upstream(key, reader, writer)

    def put(self, up: Upstream) -> None:
        conn = up.conn
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            up.close()
            return
        conn.start_next_cycle()
        idle = self.idle.setdefault(up.key, [])
        if len(idle) >= MAX_IDLE_PER_HOST:
            up.close()
            return
        idle.append(up)

    def close_all(self) -> None:
        for idle in self.idle.values():
            for up in idle:
                up.close()
        self.idle.clear()


class BareProxy:
    def __init__(self) -> None:
        self.pool = Pool()
        self.clients: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.clients.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await _next_event(conn, reader)
                if not isinstance(event, h11.Request):
                    return
                try:
                    await self.exchange(conn, reader, writer, event)
                except BadRequest as exc:
                    await _answer_error(conn, writer, 400, str(exc))
                    return
                except (OSError, h11.ProtocolError, EOFError):
                    if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                        await _answer_error(conn, writer, 502, "upstream failed")
                    return
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (OSError, h11.ProtocolError):
            pass
        finally:
            if conn.our_state is h11.ERROR:
                writer.transport.abort()
            else:
                writer.close()
            self.clients.discard(task)

    async def exchange(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
    ) -> None:
        host, port, path = _split_target(request.target)
        headers = _forwardable(request.headers.raw_items())
        if not any(name.lower() == b"host" for name, _ in headers):
            headers.insert(0, (b"Host", f"{host}:{port}".encode()))
        up = await self.pool.get((host, port))
        try:
            await up.send(h11.Request(method=request.method, target=path, headers=headers))
            while True:
                event = await _next_event(conn, reader)
                if isinstance(event, h11.Data):
                    await up.send(event)
                elif isinstance(event, h11.EndOfMessage):
                    await up.send(h11.EndOfMessage())
                    break
                else:
                    raise EOFError("client went away mid-request")
            while True:
                event = await up.next_event()
                if isinstance(event, h11.InformationalResponse):
                    continue
                if isinstance(event, h11.Response):
                    break
                raise EOFError(f"unexpected upstream event {event!r}")
            writer.write(
                conn.send(
                    h11.Response(
                        status_code=event.status_code,
                        headers=_forwardable(event.headers.raw_items()),
                        reason=event.reason,
                    )
                )
                or b""
            )
            await writer.drain()
            while True:
                item = await up.next_event()
                if isinstance(item, h11.Data):
                    writer.write(conn.send(h11.Data(data=item.data)) or b"")
                    await writer.drain()
                elif isinstance(item, h11.EndOfMessage):
                    writer.write(conn.send(h11.EndOfMessage()) or b"")
                    break
                else:
                    raise EOFError("upstream closed mid-body")
        except BaseException:
            up.close()
            raise
        self.pool.put(up)


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Event:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(READ_SIZE))
            continue
        return cast(h11.Event, event)


async def _answer_error(
    conn: h11.Connection, writer: asyncio.StreamWriter, status: int, message: str
) -> None:
    body = message.encode() + b"\n"
    with contextlib.suppress(h11.LocalProtocolError, OSError):
        data = conn.send(
            h11.Response(
                status_code=status,
                headers=[(b"Content-Length", str(len(body)).encode()), (b"Connection", b"close")],
            )
        )
        data = (data or b"") + (conn.send(h11.Data(data=body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        writer.write(data)
        await writer.drain()


def _split_target(target: bytes) -> tuple[str, int, bytes]:
    """``http://host[:port]/path`` -> ``(host, port, /path)``."""
    if not target.lower().startswith(b"http://"):
        raise BadRequest("only absolute http:// targets are forwarded")
    rest = target[7:]
    slash = rest.find(b"/")
    authority, path = (rest, b"/") if slash == -1 else (rest[:slash], rest[slash:])
    host, sep, port = authority.rpartition(b":")
    if not sep or not port.isdigit():
        host, port = authority, b"80"
    if not host:
        raise BadRequest("missing host")
    return host.decode("ascii"), int(port), path


def _forwardable(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP]


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, printing the bound address first."""
    proxy = BareProxy()
    server = await asyncio.start_server(proxy.handle, host, port, backlog=1024, limit=STREAM_LIMIT)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for task in list(proxy.clients):
        task.cancel()
    proxy.pool.close_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
