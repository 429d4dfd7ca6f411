"""A fast loopback origin server for the engine benchmarks.

It is an ``asyncio.Protocol`` that parses only what a benchmark sends: it
splits request heads on the blank line, reads the target from the request
line, skips a ``Content-Length`` body if there is one, and answers every
request with one small fixed ``200`` (with ``Content-Length``, kept alive),
so that the origin costs as little CPU as possible and never becomes what is
measured. Two paths are special:

- ``/bytes/N`` streams ``N`` bytes in 64 KiB writes, honouring the
  transport's flow control, for MB/s measurements;
- ``/__stats`` answers JSON counts of connections accepted and requests
  served, so a benchmark can tell how many upstream connections a proxy
  opened (pool churn shows up there).

Run as ``python -m tests.bench.origin [--port P]``; it prints
``listening on 127.0.0.1:PORT`` once ready and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

CHUNK = 64 * 1024
MAX_HEAD = 64 * 1024
BODY = b"hello from the benchmark origin\n"
FIXED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)
_ZEROS = bytes(CHUNK)


class Stats:
    """What the origin has served so far."""

    __slots__ = ("connections", "requests")

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0


class OriginProtocol(asyncio.Protocol):
    """One client connection: pipelined requests answered in order."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.skip = 0
        """Request body bytes still to discard."""
        self.streaming: asyncio.Task[None] | None = None
        self.pending: list[bytes] = []
        """Requests queued behind a streaming /bytes/N answer."""
        self.can_write: asyncio.Event = asyncio.Event()
        self.can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        if self.skip:
            if len(data) <= self.skip:
                self.skip -= len(data)
                return
            data = data[self.skip :]
            self.skip = 0
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end == -1:
                if len(buffer) > MAX_HEAD:
                    self._close()
                    return
                break
            head = buffer[:end]
            buffer = buffer[end + 4 :]
            length = _content_length(head)
            if length:
                if len(buffer) < length:
                    self.skip = length - len(buffer)
                    buffer = b""
                else:
                    buffer = buffer[length:]
            self.stats.requests += 1
            self._answer(head)
            if self.skip:
                break
        self.buffer = buffer

    def _answer(self, head: bytes) -> None:
        if self.streaming is not None:
            self.pending.append(head)
            return
        line_end = head.find(b"\r\n")
        line = head if line_end == -1 else head[:line_end]
        parts = line.split(b" ")
        target = parts[1] if len(parts) > 2 else b"/"
        assert self.transport is not None
        if target.startswith(b"/bytes/"):
            try:
                size = int(target[7:])
            except ValueError:
                size = 0
            self.streaming = asyncio.ensure_future(self._stream(size))
        elif target == b"/__stats":
            body = json.dumps(
                {"connections": self.stats.connections, "requests": self.stats.requests}
            ).encode()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
        else:
            self.transport.write(FIXED_RESPONSE)

    async def _stream(self, size: int) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: " + str(size).encode() + b"\r\n\r\n"
        )
        left = size
        try:
            while left > 0:
                if transport.is_closing():
                    return
                if not self.can_write.is_set():
                    await self.can_write.wait()
                    continue
                n = min(left, CHUNK)
                transport.write(_ZEROS if n == CHUNK else _ZEROS[:n])
                left -= n
        finally:
            self.streaming = None
        pending, self.pending = self.pending, []
        for head in pending:
            self._answer(head)

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.can_write.set()
        if self.streaming is not None:
            self.streaming.cancel()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _content_length(head: bytes) -> int:
    """The request's Content-Length, 0 when absent (benchmarks never chunk)."""
    pos = head.lower().find(b"\r\ncontent-length:")
    if pos == -1:
        return 0
    end = head.find(b"\r\n", pos + 2)
    value = head[pos + 17 : end if end != -1 else len(head)]
    try:
        return int(value.strip())
    except ValueError:
        return 0


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, printing the bound address first."""
    loop = asyncio.get_running_loop()
    stats = Stats()
    server = await loop.create_server(
        lambda: OriginProtocol(stats), host, port, reuse_address=True, backlog=1024
    )
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
