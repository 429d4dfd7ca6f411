"""HTTPS tunnel benchmark: new CONNECT tunnels per second, one request each.

Each tunnel is a fresh TCP connection to the proxy, a CONNECT, a TLS
handshake with the proxy (interception: a leaf certificate for the name,
cached after the first), one GET that the proxy forwards over a pooled TLS
connection to a local origin, and a close. The same client also measures
its own ceiling straight against the origin ("direct": a new TLS connection
per request). Run as ``python -m tests.bench.bench_tunnels [--seconds S]
[--concurrency N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from inspector.core.certs import CertStore

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def origin(context: ssl.SSLContext) -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(RESPONSE)
                await writer.drain()
                if b"connection: close" in head.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1]


async def one_tunnel(proxy: int | None, port: int, client_ctx: ssl.SSLContext) -> None:
    if proxy is None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy)
        writer.write(
            f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode("latin-1"))
        await writer.start_tls(client_ctx, server_hostname="localhost")
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read(-1)
    writer.close()
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(data[:80])


async def run_load(
    proxy: int | None, port: int, ctx: ssl.SSLContext, seconds: float, concurrency: int
) -> dict[str, float]:
    done = 0
    errors = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await one_tunnel(proxy, port, ctx)
            except (OSError, RuntimeError, ssl.SSLError, asyncio.IncompleteReadError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "tunnels_per_s": done / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan"),
        "errors": errors,
    }


def start_proxy(confdir: Path, upstream_ca: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "--headless",
            "-q",
            "--listen",
            "127.0.0.1:0",
            "--confdir",
            str(confdir),
            "--upstream-ca",
            str(upstream_ca),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("listening on"):
        proc.kill()
        raise RuntimeError(f"proxy did not start: {line!r}")
    return proc, int(line.rsplit(":", 1)[1])


async def bench(seconds: float, concurrency: int, rounds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-"))
    upstream = CertStore.load_or_create(work / "upstream")
    proxy_ca = CertStore.load_or_create(work / "proxy")
    server, port = await origin(upstream.server_context("localhost"))
    proc, proxy_port = start_proxy(work / "proxy", upstream.ca_cert_path)
    direct_ctx = ssl.create_default_context(cafile=str(upstream.ca_cert_path))
    proxy_ctx = ssl.create_default_context(cafile=str(proxy_ca.ca_cert_path))
    results: dict[str, list[dict[str, float]]] = {"direct": [], "inspector": []}
    try:
        await run_load(proxy_port, port, proxy_ctx, 0.5, concurrency)  # warm the caches
        for _ in range(rounds):
            results["direct"].append(await run_load(None, port, direct_ctx, seconds, concurrency))
            results["inspector"].append(
                await run_load(proxy_port, port, proxy_ctx, seconds, concurrency)
            )
    finally:
        proc.terminate()
        proc.wait(10)
        server.close()
        upstream.close()
        proxy_ca.close()
    return {
        who: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for who, runs in results.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    summary = asyncio.run(bench(args.seconds, args.concurrency, args.rounds))
    print(
        f"HTTPS new tunnels, {args.concurrency} concurrent, one GET each, medians of "
        f"{args.rounds} rounds x {args.seconds:g} s"
    )
    for who, row in summary.items():
        print(
            f"  {who:<10} {row['tunnels_per_s']:>8,.0f}/s  p50 {row['p50_ms']:6.1f} ms  "
            f"p99 {row['p99_ms']:6.1f} ms  errors {row['errors']:.0f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
