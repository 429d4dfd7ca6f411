"""Burst client: a fixed number of small GETs through a forward proxy, as
fast as they go, or at a fixed rate.

``N`` keep-alive connections share one request budget: each sends an
absolute-form ``GET http://origin/``, waits for the whole response and
sends the next until the budget is spent (or ``--max-seconds`` pass, so a
slow target cannot hold the suite up; no request is cut short: those sent
by then are finished). Callback-only ``asyncio.Protocol`` connections with
pre-built request bytes, as in ``loadgen.py``'s built-in client, so the
client costs little CPU. Every latency is kept.

With ``--rate R`` the load is offered at R requests a second in all: each
connection sends on a fixed schedule (every ``c / R`` seconds, the
connections staggered), and a request whose answer comes after its next
slot sends the next at once. Latency is then given both from the actual
send and from the slot it was meant for (``*_corrected_ms``), which counts
the time a request waited behind a slow one instead of hiding it (the
coordinated omission of closed-loop clients).

Run as ``python -m tests.bench.burst --origin HOST:PORT --proxy HOST:PORT
[-n 50000] [-c 50] [--rate R]``; it prints one JSON object: requests sent,
completed, errors, seconds, req/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import sys
import time

from tests.bench.loadgen import _response_length, build_request, parse_addr, percentile


class _Budget:
    def __init__(self, total: int, deadline: float) -> None:
        self.total = total
        self.deadline = deadline
        self.sent = 0
        self.completed = 0
        self.errors = 0
        self.latencies = array.array("d")
        self.corrected = array.array("d")
        """From the slot each request was meant for (paced loads)."""

    def take(self) -> bool:
        if self.sent >= self.total or time.perf_counter() >= self.deadline:
            return False
        self.sent += 1
        return True


class _Conn(asyncio.Protocol):
    def __init__(self, request: bytes, budget: _Budget, interval: float = 0.0) -> None:
        self.request = request
        self.budget = budget
        self.interval = interval
        """Seconds between this connection's slots; 0: as fast as it goes."""
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.need = -1
        self.started = 0.0
        self.slot = 0.0
        self.busy = False
        self.closing = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def next(self) -> None:
        assert self.transport is not None
        if not self.budget.take():
            self.closing = True
            self.transport.close()
            return
        self.busy = True
        if self.interval:
            self.slot += self.interval
            delay = self.slot - time.perf_counter()
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, self._send)
                return
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.started = time.perf_counter()
        if not self.interval:
            self.slot = self.started
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if self.need < 0:
            end = buffer.find(b"\r\n\r\n")
            if end == -1:
                self.buffer = buffer
                return
            length = _response_length(buffer[:end])
            if length < 0 or not buffer.startswith(b"HTTP/1.1 200"):
                self.budget.errors += 1
                self.busy = False
                self.closing = True
                assert self.transport is not None
                self.transport.close()
                return
            self.need = end + 4 + length
        if len(buffer) < self.need:
            self.buffer = buffer
            return
        self.buffer = b""
        self.need = -1
        self.busy = False
        self.budget.completed += 1
        now = time.perf_counter()
        self.budget.latencies.append(now - self.started)
        self.budget.corrected.append(now - self.slot)
        self.next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing or self.busy:
            self.budget.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def run(
    proxy: tuple[str, int],
    origin: tuple[str, int],
    total: int,
    connections: int,
    limit: float,
    rate: float = 0.0,
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    request = build_request(origin, "/", via_proxy=True, close=False)
    budget = _Budget(total, float("inf"))
    interval = connections / rate if rate > 0 else 0.0
    conns: list[_Conn] = []
    for _ in range(connections):
        _transport, conn = await loop.create_connection(
            lambda: _Conn(request, budget, interval), *proxy
        )
        conns.append(conn)
    started = time.perf_counter()
    budget.deadline = started + limit
    for index, conn in enumerate(conns):
        # The first slot of each connection, staggered over one interval.
        conn.slot = started + interval * (index / connections - 1)
        conn.next()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit + 30):
            await asyncio.gather(*(c.closed for c in conns))
    elapsed = time.perf_counter() - started
    ordered = sorted(budget.latencies)
    corrected = sorted(budget.corrected)
    return {
        "requested": total,
        "connections": connections,
        "rate": rate,
        "sent": budget.sent,
        "completed": budget.completed,
        "errors": budget.errors,
        "seconds": elapsed,
        "rps": budget.completed / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(ordered, 0.50) * 1e3,
        "p99_ms": percentile(ordered, 0.99) * 1e3,
        "p999_ms": percentile(ordered, 0.999) * 1e3,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1e3,
        "p50_corrected_ms": percentile(corrected, 0.50) * 1e3,
        "p99_corrected_ms": percentile(corrected, 0.99) * 1e3,
        "max_corrected_ms": (corrected[-1] if corrected else 0.0) * 1e3,
        "timed_out": budget.sent < total,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origin", required=True, metavar="HOST:PORT")
    parser.add_argument("--proxy", required=True, metavar="HOST:PORT")
    parser.add_argument("-n", "--requests", type=int, default=50_000)
    parser.add_argument("-c", "--connections", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests a second in all (0: as fast as they go)"
    )
    args = parser.parse_args(argv)
    result = asyncio.run(
        run(
            parse_addr(args.proxy),
            parse_addr(args.origin),
            args.requests,
            args.connections,
            args.max_seconds,
            args.rate,
        )
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
