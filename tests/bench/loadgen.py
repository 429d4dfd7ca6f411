"""Load generator for the engine benchmarks: GETs through a forward proxy.

Closed-loop load: each of ``N`` connections sends one request, waits for the
whole response, records the latency and sends the next, for a fixed
duration after a short warm-up. Through a proxy the requests are
absolute-form (``GET http://origin/ HTTP/1.1``); with ``--direct`` they go to
the origin itself in origin form, which measures the client's own ceiling.
``--close`` opens a new connection per request instead of keeping them alive.

Two clients do the work:

- ``wrk`` when it is on PATH (``--client auto``), with a generated Lua script
  that sets the absolute-form path and prints a JSON summary;
- a built-in client otherwise: callback-only ``asyncio.Protocol``
  connections with pre-built request bytes and ``Content-Length`` framing
  only, no coroutine or future per request, optionally spread over several
  processes (``--procs``) that start together.

``--download N`` instead fetches ``/bytes/N`` once over a plain blocking
socket and reports MB/s.

Run as ``python -m tests.bench.loadgen --origin 127.0.0.1:P [--proxy
127.0.0.1:Q] ...``; it prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

USER_AGENT = "inspector-bench/1"
MiB = 1024 * 1024


@dataclass
class LoadResult:
    client: str
    connections: int
    close: bool
    duration: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    total_requests: int
    """Requests completed including the warm-up, for CPU per request."""


@dataclass
class DownloadResult:
    size: int
    seconds: float
    mb_s: float
    """MiB per second of body received."""


def parse_addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def build_request(origin: tuple[str, int], path: str, via_proxy: bool, close: bool) -> bytes:
    authority = f"{origin[0]}:{origin[1]}"
    target = f"http://{authority}{path}" if via_proxy else path
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {authority}",
        f"User-Agent: {USER_AGENT}",
        "Accept: */*",
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


# The built-in client


class _Recorder:
    """Latencies of the requests completed inside the measured window."""

    def __init__(self) -> None:
        self.latencies = array.array("d")
        self.errors = 0
        self.completed = 0
        self.window_start = 0.0
        self.window_end = 0.0

    def done(self, started: float, now: float) -> None:
        self.completed += 1
        if self.window_start <= now < self.window_end:
            self.latencies.append(now - started)


def _response_length(head: bytes) -> int:
    """Body length from the head; -1 when the response has no
    ``Content-Length`` (unsupported: the benchmark origin always sends it)."""
    pos = head.find(b"Content-Length:")
    if pos == -1:
        pos = head.lower().find(b"content-length:")
        if pos == -1:
            return -1
    end = head.find(b"\r\n", pos)
    return int(head[pos + 15 : end if end != -1 else len(head)])


class _KeepAlive(asyncio.Protocol):
    """One keep-alive connection in a closed loop."""

    def __init__(self, request: bytes, recorder: _Recorder, stop_at: float) -> None:
        self.request = request
        self.recorder = recorder
        self.stop_at = stop_at
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.need = -1
        """Total bytes of the current response once its head is in."""
        self.started = 0.0
        self.closing = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def start(self) -> None:
        assert self.transport is not None
        self.started = time.perf_counter()
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
                self.recorder.errors += 1
                self._close()
                return
            self.need = end + 4 + length
        if len(buffer) < self.need:
            self.buffer = buffer
            return
        # One request in flight per connection: anything past the response is
        # a framing error, which the benchmark origin never causes.
        self.buffer = b""
        self.need = -1
        now = time.perf_counter()
        self.recorder.done(self.started, now)
        if now >= self.stop_at:
            self._close()
            return
        self.started = now
        assert self.transport is not None
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            # The server closed a connection it should have kept alive (or
            # cut a response short): that connection's load is lost.
            self.recorder.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


class _OneShot(asyncio.Protocol):
    """One request on a fresh connection, read to the end of its body."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.buffer = b""
        self.need = -1
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end == -1:
                return
            length = _response_length(self.buffer[:end])
            if length < 0 or not self.buffer.startswith(b"HTTP/1.1 200"):
                self._finish(False)
                return
            self.need = end + 4 + length
        if len(self.buffer) >= self.need:
            self._finish(True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(self.need >= 0 and len(self.buffer) >= self.need)

    def _finish(self, ok: bool) -> None:
        if not self.done.done():
            self.done.set_result(ok)
        if self.transport is not None:
            self.transport.close()


async def _run_keepalive(
    target: tuple[str, int], request: bytes, connections: int, warmup: float, duration: float
) -> _Recorder:
    loop = asyncio.get_running_loop()
    recorder = _Recorder()
    now = time.perf_counter()
    recorder.window_start = now + warmup
    recorder.window_end = recorder.window_start + duration
    protocols: list[_KeepAlive] = []
    for _ in range(connections):
        _transport, protocol = await loop.create_connection(
            lambda: _KeepAlive(request, recorder, recorder.window_end), *target
        )
        protocols.append(protocol)
    now = time.perf_counter()
    recorder.window_start = now + warmup
    recorder.window_end = recorder.window_start + duration
    for protocol in protocols:
        protocol.stop_at = recorder.window_end
        protocol.start()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(warmup + duration + 10):
            await asyncio.gather(*(p.closed for p in protocols))
    return recorder


async def _run_close(
    target: tuple[str, int], request: bytes, connections: int, warmup: float, duration: float
) -> _Recorder:
    loop = asyncio.get_running_loop()
    recorder = _Recorder()
    recorder.window_start = time.perf_counter() + warmup
    recorder.window_end = recorder.window_start + duration

    async def slot() -> None:
        while True:
            started = time.perf_counter()
            if started >= recorder.window_end:
                return
            try:
                _transport, protocol = await loop.create_connection(
                    lambda: _OneShot(request), *target
                )
                ok = await protocol.done
            except OSError:
                ok = False
            if ok:
                recorder.done(started, time.perf_counter())
            else:
                recorder.errors += 1

    await asyncio.gather(*(slot() for _ in range(connections)))
    return recorder


def _worker(
    target: tuple[str, int],
    request: bytes,
    connections: int,
    close: bool,
    warmup: float,
    duration: float,
    go: Callable[[], object],
    out: multiprocessing.connection.Connection,
) -> None:
    go()
    runner = _run_close if close else _run_keepalive
    recorder = asyncio.run(runner(target, request, connections, warmup, duration))
    out.send((recorder.latencies.tobytes(), recorder.errors, recorder.completed))
    out.close()


def run_builtin(
    target: tuple[str, int],
    request: bytes,
    connections: int,
    close: bool,
    warmup: float,
    duration: float,
    procs: int,
) -> LoadResult:
    procs = max(1, min(procs, connections))
    latencies: list[float] = []
    errors = completed = 0
    if procs == 1:
        runner = _run_close if close else _run_keepalive
        recorder = asyncio.run(runner(target, request, connections, warmup, duration))
        latencies = recorder.latencies.tolist()
        errors = recorder.errors
        completed = recorder.completed
    else:
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(procs)
        pipes = []
        workers = []
        for index in range(procs):
            share = connections // procs + (1 if index < connections % procs else 0)
            receiver, sender = ctx.Pipe(duplex=False)
            worker = ctx.Process(
                target=_worker,
                args=(target, request, share, close, warmup, duration, barrier.wait, sender),
            )
            worker.start()
            sender.close()
            pipes.append(receiver)
            workers.append(worker)
        for receiver in pipes:
            raw, worker_errors, worker_completed = receiver.recv()
            completed += worker_completed
            values = array.array("d")
            values.frombytes(raw)
            latencies.extend(values)
            errors += worker_errors
        for worker in workers:
            worker.join()
    latencies.sort()
    return LoadResult(
        client="builtin" if procs == 1 else f"builtin x{procs}",
        connections=connections,
        close=close,
        duration=duration,
        requests=len(latencies),
        errors=errors,
        rps=len(latencies) / duration,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        total_requests=completed,
    )


# wrk

_WRK_SCRIPT = """
wrk.method = "GET"
wrk.path = "{path}"
wrk.headers["Host"] = "{authority}"
wrk.headers["User-Agent"] = "{user_agent}"
wrk.headers["Accept"] = "*/*"
{close_line}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {{\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, "
    .. "\\"p50_us\\": %d, \\"p99_us\\": %d}}\\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(
    target: tuple[str, int],
    origin: tuple[str, int],
    via_proxy: bool,
    connections: int,
    close: bool,
    duration: float,
    warmup_requests: int = 0,
) -> LoadResult:
    authority = f"{origin[0]}:{origin[1]}"
    script = _WRK_SCRIPT.format(
        path=f"http://{authority}/" if via_proxy else "/",
        authority=authority,
        user_agent=USER_AGENT,
        close_line='wrk.headers["Connection"] = "close"' if close else "",
    )
    seconds = max(1, round(duration))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        path = handle.name
    try:
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                path,
                f"http://{target[0]}:{target[1]}/",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        )
    finally:
        os.unlink(path)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON "))
    data = json.loads(line[8:])
    elapsed = data["duration_us"] / 1e6
    return LoadResult(
        client="wrk",
        connections=connections,
        close=close,
        duration=elapsed,
        requests=data["requests"],
        errors=data["errors"],
        rps=data["requests"] / elapsed,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        total_requests=data["requests"] + warmup_requests,
    )


# Download


def download(target: tuple[str, int], origin: tuple[str, int], via_proxy: bool, size: int) -> float:
    """Fetch ``/bytes/size``; return the seconds from request to last byte."""
    request = build_request(origin, f"/bytes/{size}", via_proxy, close=True)
    buffer = bytearray(1024 * 1024)
    view = memoryview(buffer)
    with socket.create_connection(target, timeout=60) as sock:
        started = time.perf_counter()
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the response head")
            head += chunk
        end = head.index(b"\r\n\r\n")
        length = _response_length(head[:end])
        if length != size:
            raise ConnectionError(f"unexpected response head: {head[:end]!r}")
        left = length - (len(head) - end - 4)
        while left > 0:
            n = sock.recv_into(view, min(left, len(buffer)))
            if not n:
                raise ConnectionError(f"closed with {left} bytes of body missing")
            left -= n
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origin", required=True, metavar="HOST:PORT")
    parser.add_argument("--proxy", metavar="HOST:PORT", help="forward proxy to load")
    parser.add_argument("--direct", action="store_true", help="load the origin itself")
    parser.add_argument("-c", "--connections", type=int, default=10)
    parser.add_argument("-d", "--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--close", action="store_true", help="a new connection per request")
    parser.add_argument("--client", choices=("auto", "wrk", "builtin"), default="auto")
    parser.add_argument(
        "--procs",
        type=int,
        default=1,
        help="built-in client processes (only on machines with cores to spare: on 2 cores a "
        "second client process starves the proxy and evens out any difference)",
    )
    parser.add_argument("--download", type=int, metavar="BYTES", help="fetch /bytes/N once")
    args = parser.parse_args(argv)
    if bool(args.proxy) == bool(args.direct):
        parser.error("give exactly one of --proxy and --direct")
    origin = parse_addr(args.origin)
    target = origin if args.direct else parse_addr(args.proxy)
    via_proxy = not args.direct

    if args.download:
        seconds = download(target, origin, via_proxy, args.download)
        result: LoadResult | DownloadResult = DownloadResult(
            args.download, seconds, args.download / MiB / seconds
        )
    else:
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        request = build_request(origin, "/", via_proxy, args.close)
        if use_wrk:
            warmed = 0
            if args.warmup > 0:
                warm = run_builtin(
                    target, request, args.connections, args.close, 0.0, args.warmup, 1
                )
                warmed = warm.total_requests
            result = run_wrk(
                target, origin, via_proxy, args.connections, args.close, args.duration, warmed
            )
        else:
            result = run_builtin(
                target,
                request,
                args.connections,
                args.close,
                args.warmup,
                args.duration,
                args.procs,
            )
    print(json.dumps(asdict(result)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
