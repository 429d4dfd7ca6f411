"""HTTPS new tunnels per second, Inspector's modes and the peer side by side.

Each tunnel is a fresh connection, a CONNECT, a TLS handshake with the
proxy (interception, with the proxy's CA trusted by the client), one GET
that the proxy forwards over verified TLS to a local origin, and a close:
the same work as ``bench_tunnels.py``, whose origin and client this reuses.
Every mode is started once and kept for the run; each round loads them one
after the other (rotating the order) and the origin directly, and figures
are medians over rounds, ratios taken per round.

Run as ``python -m tests.bench.bench_https [--quick] [--rounds N]
[--seconds S] [--peers mitmproxy] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from inspector.core.certs import CertStore
from tests.bench import peers, targets
from tests.bench.bench_engine import git_revision
from tests.bench.bench_tunnels import origin, run_load
from tests.bench.output import publish

DEFAULT_MODES = ("headless", "desktop")


async def measured_load(
    proc: targets.Proc | None,
    port: int,
    ctx: ssl.SSLContext,
    seconds: float,
    concurrency: int,
) -> dict[str, float]:
    """One load, with the CPU the proxy and this process (the client and
    the origin, which share it) used meanwhile, as % of one core: on 2
    cores a client near 100% means the figure is the client's ceiling, not
    the proxy's."""
    started = time.perf_counter()
    own = time.process_time()
    proxy_cpu = proc.cpu_seconds() if proc is not None else 0.0
    result = await run_load(proc.port if proc else None, port, ctx, seconds, concurrency)
    wall = time.perf_counter() - started
    result["driver_cpu_pct"] = (time.process_time() - own) / wall * 100
    if proc is not None:
        result["proxy_cpu_pct"] = (proc.cpu_seconds() - proxy_cpu) / wall * 100
    return result


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-https-"))
    upstream = CertStore.load_or_create(work / "upstream")
    proxy_ca = CertStore.load_or_create(work / "inspector")
    server, port = await origin(upstream.server_context("localhost"))
    modes = list(args.modes)
    extra: dict[str, Any] = {"confdir": work / "inspector", "upstream_ca": upstream.ca_cert_path}
    versions: dict[str, str] = {}
    failures: list[str] = []
    if "mitmproxy" in args.peers:
        peers.add_mitmdump(work, modes, extra, versions, failures)
    procs: dict[str, targets.Proc] = {}
    contexts: dict[str, ssl.SSLContext] = {
        "direct": ssl.create_default_context(cafile=str(upstream.ca_cert_path))
    }
    loop = asyncio.get_running_loop()
    try:
        for mode in list(modes):
            try:
                procs[mode] = await loop.run_in_executor(
                    None, targets.start, targets.Launch(mode, bench=["--probe-ms", "0"], **extra)
                )
                if mode == "mitmdump":
                    ca = peers.wait_for_ca(work / "mitmproxy")
                else:
                    ca = proxy_ca.ca_cert_path
                contexts[mode] = ssl.create_default_context(cafile=str(ca))
                # Warm the leaf and upstream caches.
                warm = await run_load(procs[mode].port, port, contexts[mode], 0.5, args.concurrency)
                if not warm["tunnels_per_s"]:
                    raise RuntimeError(f"no tunnel completed ({warm['errors']} errors)")
            except (RuntimeError, OSError, ssl.SSLError) as exc:
                failures.append(f"{mode}: {exc}")
                modes.remove(mode)
                if mode in procs:
                    await loop.run_in_executor(None, targets.stop, procs.pop(mode))
        results: dict[str, list[dict[str, float]]] = {m: [] for m in ["direct", *modes]}
        for index in range(args.rounds):
            order = ["direct", *modes]
            shift = index % len(order)
            for mode in order[shift:] + order[:shift]:
                results[mode].append(
                    await measured_load(
                        procs.get(mode), port, contexts[mode], args.seconds, args.concurrency
                    )
                )
    finally:
        for proc in procs.values():
            await loop.run_in_executor(None, targets.stop, proc)
        server.close()
        upstream.close()
        proxy_ca.close()
    table = []
    for mode, runs in results.items():
        row: dict[str, Any] = {
            "mode": mode,
            **{key: statistics.median(r[key] for r in runs) for key in runs[0]},
            "all": [r["tunnels_per_s"] for r in runs],
        }
        for other in ("headless", "mitmdump"):
            if other in results and other != mode and mode != "direct":
                row[f"vs_{other}"] = statistics.median(
                    a["tunnels_per_s"] / b["tunnels_per_s"]
                    for a, b in zip(runs, results[other], strict=True)
                    if b["tunnels_per_s"]
                )
        table.append(row)
    return {
        "config": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "peers": versions,
            "revision": git_revision(),
        },
        "table": table,
        "failures": failures,
    }


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [
        f"HTTPS new tunnels (CONNECT + TLS + one GET), {c['concurrency']} concurrent, "
        f"medians of {c['rounds']} x {c['seconds']:g} s",
        f"{'mode':<16} {'tunnels/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'/headless':>9} "
        f"{'/mitmdump':>9} {'errors':>6} {'proxy CPU%':>10} {'client+origin CPU%':>18}",
    ]
    for r in summary["table"]:
        vh = f"{r['vs_headless']:.2f}" if "vs_headless" in r else ""
        vm = f"{r['vs_mitmdump']:.2f}" if "vs_mitmdump" in r else ""
        proxy_cpu = f"{r['proxy_cpu_pct']:.0f}" if "proxy_cpu_pct" in r else "-"
        lines.append(
            f"{r['mode']:<16} {r['tunnels_per_s']:>9,.0f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} "
            f"{vh:>9} {vm:>9} {r['errors']:>6.0f} {proxy_cpu:>10} {r['driver_cpu_pct']:>18.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--modes", type=lambda s: s.split(","), default=list(DEFAULT_MODES))
    parser.add_argument("--peers", type=lambda s: [p for p in s.split(",") if p], default=[])
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 1.0
    started = time.monotonic()
    summary = asyncio.run(bench(args))
    summary["config"]["elapsed_s"] = round(time.monotonic() - started, 1)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
