"""Proxy time against a real stall: does a 5 ms block of the engine's loop
show as 5 ms of proxy time, and nothing but the engine's own cost without it?

An in-process engine (``ProxyServer`` on 127.0.0.1 port 0) and a loopback
origin (``tests/proxy/harness.py``), the engine's recorder unchanged (its
real clock). ``--requests`` (300) GET requests go through one keep-alive
client connection, then through ``--concurrency`` (8) connections at once,
each time twice: as is (the baseline) and with the engine's loop blocked
``--stall-ms`` (5) milliseconds by ``time.sleep`` right after each request
head is recorded (a real stall: nothing else on the loop runs meanwhile).
Each flow's proxy time is read from its stamps (``core.timing.proxy_time``)
and the table prints median, p5 and p95 per part.

Target: sequential, the stalled median minus the baseline median within
1 ms of the stall. Under concurrency a stall also delays the other flows:
those still in their own proxy phase take it as proxy time, those waiting
on the network in that phase instead, so only the sequential figure has a
target; the concurrent one is printed for reading.

Run as ``python -m tests.bench.bench_proxy_time [--requests N]
[--concurrency N] [--stall-ms MS] [--json PATH]``; it takes a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from inspector.core.flow import Flow
from inspector.core.timing import proxy_time
from inspector.proxy.recorder import FlowRecorder
from tests.bench.output import publish
from tests.proxy.harness import Origin, running_proxy

TOLERANCE_MS = 1.0


def _stall(recorder: FlowRecorder, seconds: float) -> None:
    created = recorder.created

    def stalled(*args: Any, **kwargs: Any) -> Flow:
        flow = created(*args, **kwargs)
        time.sleep(seconds)
        return flow

    recorder.created = stalled  # type: ignore[method-assign]


async def _part(requests: int, concurrency: int, stall: float) -> list[float]:
    async with Origin(keep_bodies=False) as origin, running_proxy() as proxy:
        if stall:
            _stall(proxy.server.ctx.recorder, stall)
        url = f"{origin.base}/x"
        share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]

        async def one_client(count: int) -> None:
            client = await proxy.client()
            try:
                for _ in range(count):
                    answer = await client.request("GET", url)
                    assert answer.status == 200
            finally:
                client.close()

        await asyncio.gather(*(one_client(n) for n in share))
        await proxy.wait_flows(requests, timeout=60)
        values = [proxy_time(flow) for flow in proxy.store]
    return [v * 1000 for v in values if v is not None]


def _figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered),
        "p5_ms": ordered[int(0.05 * (len(ordered) - 1))],
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
    }


async def measure(requests: int, concurrency: int, stall_ms: float) -> dict[str, Any]:
    result: dict[str, Any] = {"stall_ms": stall_ms, "requests": requests}
    for label, conns in (("sequential", 1), ("concurrent", concurrency)):
        base = _figures(await _part(requests, conns, 0.0))
        stalled = _figures(await _part(requests, conns, stall_ms / 1000))
        result[label] = {
            "connections": conns,
            "baseline": base,
            "stalled": stalled,
            "added_ms": stalled["median_ms"] - base["median_ms"],
        }
    seq = result["sequential"]
    result["target_met"] = abs(seq["added_ms"] - stall_ms) <= TOLERANCE_MS
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        f"proxy time, {result['requests']} requests, engine stalled"
        f" {result['stall_ms']:g} ms after each head",
        f"{'part':<12}{'conns':>6}{'':>3}{'median':>10}{'p5':>9}{'p95':>9}",
    ]
    for label in ("sequential", "concurrent"):
        part = result[label]
        for kind in ("baseline", "stalled"):
            f = part[kind]
            lines.append(
                f"{label:<12}{part['connections']:>6}   {kind:<9}"
                f"{f['median_ms']:>7.3f} ms{f['p5_ms']:>6.3f} ms{f['p95_ms']:>6.3f} ms"
            )
        lines.append(f"{'':<12}{'':>6}   added    {part['added_ms']:>7.3f} ms (median)")
    verdict = "met" if result["target_met"] else "MISSED"
    lines.append(
        f"target: sequential added = {result['stall_ms']:g} +- {TOLERANCE_MS:g} ms: {verdict}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--stall-ms", type=float, default=5.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = asyncio.run(measure(args.requests, args.concurrency, args.stall_ms))
    publish(result, table(result), args.json)


if __name__ == "__main__":
    main()
