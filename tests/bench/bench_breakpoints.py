"""Breakpoints: what flows held at a breakpoint cost the traffic that is not
held.

A headless engine (``inspector --headless -q --control SOCKET``) and one
loopback origin (``origin.py``). The engine is driven the way a script
drives it: ``EngineClient`` over its control socket (``add_rule``,
``paused``, ``resume_all``, ``remove_rule``), as ``inspector ctl`` does.

First the proxy's maximum: 50 keep-alive connections as fast as they go
(``burst.py``, after a warm-up), and the fixed load is half of that, at 50
connections (``bench_session.py``'s method). Then a load alone, and in
each round each variant (``--variants``) followed by a load alone:

- alone: no rule at all, nothing held;
- held: a breakpoint ``path:/held`` on requests is added, ``--held`` (100)
  clients open a connection each and send one ``GET /held``; once
  ``paused`` lists them all, the fixed load runs beside them; ``paused`` is
  asked again after it (they must all still be held), then ``resume_all``,
  and every held client must get its ``200`` (counted, with the time from
  the resume to the last answer); the rule is removed;
- rule: the same breakpoint, nothing held (what the rule's matching costs
  every request, apart from what holding costs);
- idle (only when asked for): as many connections as ``held``, open and
  idle, no rule (the held variant's connections without the holding).

The variants' order rotates from one round to the next.

Each load's p99 (from each request's slot, and from its send) against the
mean of the loads alone just before and after; medians over rounds. The
engine's CPU per request of each load is kept too (``/proc``), so a cost
per request shows even where the p99 hides it.

Run as ``python -m tests.bench.bench_breakpoints [--quick] [--rounds N]
[--held N] [--fixed-seconds S] [--variants held,rule,idle] [--json PATH]``. The
defaults take about three minutes on 2 cores; ``--quick`` (one round,
short loads) about half a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from inspector.link.client import EngineClient
from tests.bench import targets
from tests.bench.bench_engine import git_revision
from tests.bench.bench_pressure import UNLIMITED, _burst
from tests.bench.bench_session import FIXED_CONNECTIONS, FIXED_SHARE, workdir
from tests.bench.loadgen import _response_length, build_request, parse_addr
from tests.bench.output import publish

VARIANTS = ("held", "rule", "idle")
DEFAULT_VARIANTS = ("held", "rule")
HELD = 100
HELD_PATH = "/held"
MATCH = f"path:{HELD_PATH}"
P99_TARGET = 1.2
"""The fixed load's p99 beside the held flows / alone."""
HOLD_TIMEOUT = 30.0
"""Seconds for the held clients to be held, and to be answered once resumed."""
KEYS = ("rps", "p50_ms", "p99_ms", "p99_corrected_ms", "max_ms", "errors", "cpu_us")


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


# The engine, through its control socket


async def connect(path: Path, timeout: float = 30.0) -> EngineClient:
    """An ``EngineClient`` on the engine's control socket, once it is there
    (the engine makes it just after it starts listening)."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            break
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no control socket at {path} within {timeout:g} s") from None
            await asyncio.sleep(0.05)
    client = EngineClient(name="bench")
    await client.connect(sock)
    return client


async def add_breakpoint(client: EngineClient) -> int:
    rule = {"match": MATCH, "actions": [{"type": "breakpoint", "on": "request"}]}
    result = await client.request("add_rule", rule=rule)
    if result.get("error"):
        raise RuntimeError(f"{MATCH}: {result['error']}")
    return int(result["id"])


async def paused(client: EngineClient) -> int:
    return len((await client.request("paused"))["paused"])


async def wait_paused(client: EngineClient, count: int, timeout: float) -> float:
    """Seconds until ``paused`` lists ``count`` flows."""
    started = time.perf_counter()
    while (found := await paused(client)) < count:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {found} of {count} flows held after {timeout:g} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


# The held clients


async def held_request(proxy: tuple[str, int], request: bytes) -> int:
    """One connection, one request through the proxy; the answer's status
    (0 when the connection ends without a whole answer)."""
    reader, writer = await asyncio.open_connection(*proxy)
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = _response_length(head[:-4])
        if length > 0:
            await reader.readexactly(length)
        parts = head.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return 0
    finally:
        writer.close()


# The loads


def _fixed(origin: str, proxy: targets.Proc, rate: float, seconds: float) -> dict[str, Any]:
    """The fixed load, with the engine's CPU per completed request."""
    cpu = proxy.cpu_seconds()
    result = _burst(
        origin, proxy.address, int(rate * seconds), FIXED_CONNECTIONS, seconds * 3, rate
    )
    spent = proxy.cpu_seconds() - cpu
    result["cpu_us"] = spent / result["completed"] * 1e6 if result["completed"] else float("nan")
    return result


async def fixed(origin: str, proxy: targets.Proc, rate: float, seconds: float) -> dict[str, Any]:
    return await asyncio.to_thread(_fixed, origin, proxy, rate, seconds)


async def beside_held(
    client: EngineClient,
    origin: str,
    proxy: targets.Proc,
    rate: float,
    seconds: float,
    held: int,
) -> dict[str, Any]:
    """The fixed load beside ``held`` flows held at the breakpoint; then
    every one let go with ``resume_all`` and its answer checked."""
    rule = await add_breakpoint(client)
    request = build_request(parse_addr(origin), HELD_PATH, via_proxy=True, close=False)
    clients: list[asyncio.Task[int]] = []
    try:
        clients = [
            asyncio.ensure_future(held_request(parse_addr(proxy.address), request))
            for _ in range(held)
        ]
        held_s = await wait_paused(client, held, HOLD_TIMEOUT)
        load = await fixed(origin, proxy, rate, seconds)
        still = await paused(client)
        resumed_at = time.perf_counter()
        resumed = (await client.request("resume_all"))["resumed"]
        done, _ = await asyncio.wait(clients, timeout=HOLD_TIMEOUT)
        answered_s = time.perf_counter() - resumed_at
        statuses = [task.result() for task in done]
    finally:
        for task in clients:
            task.cancel()
        await client.request("resume_all")
        await client.request("remove_rule", id=rule)
    return {
        **load,
        "held": held,
        "held_s": held_s,
        "still_held": still,
        "resumed": len(resumed),
        "answered_200": sum(1 for s in statuses if s == 200),
        "answered_other": sum(1 for s in statuses if s != 200),
        "unanswered": held - len(done),
        "answered_s": answered_s,
    }


async def beside_rule(
    client: EngineClient, origin: str, proxy: targets.Proc, rate: float, seconds: float
) -> dict[str, Any]:
    """The fixed load with the breakpoint active and nothing held."""
    rule = await add_breakpoint(client)
    try:
        return await fixed(origin, proxy, rate, seconds)
    finally:
        await client.request("remove_rule", id=rule)


async def beside_idle(
    origin: str, proxy: targets.Proc, rate: float, seconds: float, count: int
) -> dict[str, Any]:
    """The fixed load beside ``count`` connections open and idle, no rule:
    the held variant's connections without the holding."""
    opened = [await asyncio.open_connection(*parse_addr(proxy.address)) for _ in range(count)]
    try:
        return await fixed(origin, proxy, rate, seconds)
    finally:
        for _reader, writer in opened:
            writer.close()


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    control = work / "control.sock"
    origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
    runs: list[dict[str, Any]] = []
    """Every load in order, alone or beside something."""
    try:
        launch = targets.Launch("headless", extra=["--control", str(control)], confdir=work / "c")
        proc = await asyncio.to_thread(targets.start, launch)
        try:
            client = await connect(control)
            try:
                origin = origin_proc.address
                await asyncio.to_thread(_burst, origin, proc.address, 2000, FIXED_CONNECTIONS, 30)
                top = await asyncio.to_thread(
                    _burst, origin, proc.address, UNLIMITED, FIXED_CONNECTIONS, args.max_seconds
                )
                rate = top["rps"] * FIXED_SHARE
                seconds = args.fixed_seconds
                print(
                    f"bench_breakpoints: max {top['rps']:,.0f} req/s, fixed load "
                    f"{rate:,.0f} req/s for {seconds:g} s",
                    file=sys.stderr,
                )
                runs.append({"with": "alone", **await fixed(origin, proc, rate, seconds)})
                for index in range(args.rounds):
                    shift = index % len(args.variants)
                    for variant in args.variants[shift:] + args.variants[:shift]:
                        if variant == "held":
                            load = await beside_held(client, origin, proc, rate, seconds, args.held)
                        elif variant == "idle":
                            load = await beside_idle(origin, proc, rate, seconds, args.held)
                        else:
                            load = await beside_rule(client, origin, proc, rate, seconds)
                        runs.append({"with": variant, **load})
                        runs.append({"with": "alone", **await fixed(origin, proc, rate, seconds)})
                        extra = (
                            f"; {load['answered_200']}/{load['held']} held answered 200 in "
                            f"{load['answered_s'] * 1e3:.0f} ms after resume_all"
                            if variant == "held"
                            else ""
                        )
                        print(
                            f"bench_breakpoints: beside {variant}: p99 "
                            f"{load['p99_corrected_ms']:.1f} ({load['p99_ms']:.1f}) ms, "
                            f"{load['cpu_us']:.0f} us/req (alone before "
                            f"{runs[-3]['p99_corrected_ms']:.1f}, {runs[-3]['cpu_us']:.0f} us; "
                            f"after {runs[-1]['p99_corrected_ms']:.1f}, "
                            f"{runs[-1]['cpu_us']:.0f} us){extra}",
                            file=sys.stderr,
                        )
            finally:
                client.close()
        finally:
            await asyncio.to_thread(targets.stop, proc)
    finally:
        origin_proc.stop()
    return summarize(runs, top["rps"], rate, seconds, args)


def summarize(
    runs: list[dict[str, Any]],
    max_rps: float,
    rate: float,
    seconds: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    alone = [r for r in runs if r["with"] == "alone"]
    result: dict[str, Any] = {
        "max_rps": max_rps,
        "rate": rate,
        "seconds": seconds,
        "alone": {k: _median([r[k] for r in alone]) for k in KEYS},
        "runs": runs,
    }
    for variant in args.variants:
        ratios, raw, cpu, beside = [], [], [], []
        for n, run_ in enumerate(runs):
            if run_["with"] != variant:
                continue
            # Against the mean of the loads alone just before and after.
            around = (runs[n - 1], runs[n + 1])
            base = statistics.mean(r["p99_corrected_ms"] for r in around)
            base_raw = statistics.mean(r["p99_ms"] for r in around)
            base_cpu = statistics.mean(r["cpu_us"] for r in around)
            ratios.append(run_["p99_corrected_ms"] / base if base else float("nan"))
            raw.append(run_["p99_ms"] / base_raw if base_raw else float("nan"))
            cpu.append(run_["cpu_us"] / base_cpu if base_cpu else float("nan"))
            beside.append(run_)
        entry: dict[str, Any] = {
            **{k: _median([b[k] for b in beside]) for k in KEYS},
            "p99_ratio": _median(ratios),
            "p99_ratio_all": ratios,
            "p99_raw_ratio": _median(raw),
            "cpu_ratio": _median(cpu),
        }
        if variant == "held":
            entry.update(
                held=args.held,
                held_s=_median([b["held_s"] for b in beside]),
                still_held_min=min(b["still_held"] for b in beside),
                answered_200=sum(b["answered_200"] for b in beside),
                answered_of=sum(b["held"] for b in beside),
                answered_s=_median([b["answered_s"] for b in beside]),
            )
        result[variant] = entry
    return result


# The run


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [f"Breakpoints: revision {c['revision']}, {c['cpus']} CPUs, {c['rounds']} round(s)"]
    a = summary.get("alone")
    if a:
        lines.append(
            f"Fixed load {summary['rate']:,.0f} req/s ({FIXED_SHARE:.0%} of the proxy's "
            f"{summary['max_rps']:,.0f}), {FIXED_CONNECTIONS} connections, "
            f"{summary['seconds']:g} s loads; p99 from slot (from send), medians:"
        )
        lines.append(
            f"  {'with':<34}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>16}{'errors':>8}"
            f"{'us/req':>8}{'p99 x alone':>18}{'CPU x':>7}"
        )

        def row(label: str, r: dict[str, Any], ratio: str, cpu: str) -> None:
            lines.append(
                f"  {label:<34}{r['rps']:>8,.0f}{r['p50_ms']:>8.1f}"
                f"{r['p99_corrected_ms']:>8.1f} ({r['p99_ms']:>5.1f}){r['errors']:>8.0f}"
                f"{r['cpu_us']:>8.0f}{ratio:>18}{cpu:>7}"
            )

        row("alone", a, "", "")
        for variant in c["variants"]:
            v = summary.get(variant)
            if not v:
                continue
            label = {
                "held": f"{c['held']} flows held",
                "rule": "the rule, nothing held",
                "idle": f"{c['held']} idle connections, no rule",
            }[variant]
            row(
                label,
                v,
                f"{v['p99_ratio']:.2f}x ({v['p99_raw_ratio']:.2f}x)",
                f"{v['cpu_ratio']:.2f}x",
            )
        h = summary.get("held")
        if h:
            each = ", ".join(f"{r:.2f}" for r in h["p99_ratio_all"])
            lines.append(
                f"  {c['held']} flows held, p99 / alone: {h['p99_ratio']:.2f}x from the slot "
                f"({h['p99_raw_ratio']:.2f}x from the send; rounds {each}; target <= "
                f"{P99_TARGET}x)"
            )
            lines.append(
                f"  held in {h['held_s'] * 1e3:.0f} ms, still held after each load: "
                f"{h['still_held_min']} at least; after resume_all {h['answered_200']} of "
                f"{h['answered_of']} answered 200 (the last {h['answered_s'] * 1e3:.0f} ms after)"
            )
    for failure in summary["failures"]:
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"failures": []}
    with workdir(args.keep) as work:
        try:
            summary.update(asyncio.run(run(args, work)))
        except (RuntimeError, OSError, ValueError, TimeoutError) as exc:
            summary["failures"].append(f"{type(exc).__name__}: {exc}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, short loads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--held", type=int, default=HELD, help="flows held at once")
    parser.add_argument("--variants", type=lambda s: s.split(","), default=list(DEFAULT_VARIANTS))
    parser.add_argument("--fixed-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=5.0, help="the maximum's load")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    if args.quick:
        args.rounds = 1
        args.fixed_seconds = min(args.fixed_seconds, 4.0)
        args.max_seconds = min(args.max_seconds, 2.0)
    started = time.monotonic()
    summary = bench(args)
    summary["config"] = {
        "rounds": args.rounds,
        "held": args.held,
        "match": MATCH,
        "variants": args.variants,
        "fixed_connections": FIXED_CONNECTIONS,
        "fixed_share": FIXED_SHARE,
        "revision": git_revision(),
        "cpus": os.cpu_count(),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    publish(summary, render(summary), args.json)
    return 0 if not summary["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
