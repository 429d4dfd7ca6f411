"""Rules: what enabled rules that match nothing cost every request, and
whether a throttled flow keeps to its rate without slowing the others.

A headless engine (``inspector --headless -q --rules FILE --control
SOCKET``) and one loopback origin (``origin.py``). After each part the
engine's rules are read back over its control socket (``rules``, as
``inspector ctl rules list`` does): every rule loaded, none disabled, and
the hits expected (none for the rules that match nothing, one per
download for the throttle).

Overhead. The engine with no rules and with ``--rules-count`` (50) enabled
rules that match none of the benchmark's requests (``GET http://origin/``),
taking turns within each round (the order rotates), each started afresh,
warmed, then loaded closed-loop at 50 keep-alive connections
(``loadgen.py``: wrk where installed): req/s, p50/p99 and the engine's CPU
per request. The rules are the kind a user keeps: ``host:api-N.example.com``
with ``set_header``, ``path:/never/N`` with ``reply``, ``method:PUT
host:x-N.example.com`` with ``block``, header terms, regular expressions,
and some judged at the response (``status:599`` with a response
``set_header``), so both phases are judged. The ratio with / none is taken
per round; the target is the median's >= 0.9x.

Throttle. The engine with one rule, ``path:/bytes`` throttled to
``--down-kbps`` (1,024) kbit/s down. First ``--downloads`` downloads of 256
KiB one after the other (``loadgen.download``: request to last byte), each
against the ideal 262,144 B / 128,000 B/s = 2.048 s (target: the median
within 10%). Then the proxy's maximum (50 keep-alive connections as fast as
they go, ``burst.py``) and a fixed load of half of it (``burst.py --rate``,
50 connections, ``bench_session.py``'s method), alone and beside
``--throttled`` (4) clients downloading 256 KiB throttled again and again
for the whole load, taking turns (alone, beside, alone, ...). Each load's
p99 (from each request's slot, and from its send) against the mean of the
loads alone just before and after; medians over rounds. The downloads'
times under load are kept too.

Run as ``python -m tests.bench.bench_rules [--quick] [--rounds N] [--parts
overhead,throttle] [--rules-count N] [--json PATH]``. The defaults take
about three minutes on 2 cores; ``--quick`` (one round, short loads) about
one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from inspector.core.filter_terms import Subject
from inspector.core.flow import Flow, Request, Response
from inspector.core.rules import RuleSet
from inspector.link.client import EngineClient
from tests.bench import targets
from tests.bench.bench_engine import git_revision, loadgen
from tests.bench.bench_pressure import UNLIMITED, _burst
from tests.bench.bench_session import FIXED_CONNECTIONS, FIXED_SHARE, workdir
from tests.bench.loadgen import download, parse_addr
from tests.bench.output import publish

PARTS = ("overhead", "throttle")
MODES = ("none", "rules")
RULES_COUNT = 50
CONNECTIONS = 50
OVERHEAD_TARGET = 0.9
"""req/s with the rules / with none."""
SIZE = 256 * 1024
DOWN_KBPS = 1024
IDEAL_S = SIZE / (DOWN_KBPS * 1000 / 8)
"""262,144 bytes at 128,000 bytes a second: 2.048 s."""
THROTTLE_TOLERANCE = 0.10
THROTTLED = 4
THROTTLE_MATCH = "path:/bytes"
KEYS = ("rps", "p50_ms", "p99_ms", "p99_corrected_ms", "max_ms", "errors", "cpu_us")


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


# The rules


def idle_rules(count: int) -> list[dict[str, Any]]:
    """``count`` enabled rules of the kinds a user keeps, none of which
    matches ``GET http://127.0.0.1:PORT/`` (request or response)."""
    makers = [
        lambda n: {
            "name": f"env header {n}",
            "match": f"host:api-{n}.example.com",
            "actions": [{"type": "set_header", "on": "request", "name": "X-Env", "value": "test"}],
        },
        lambda n: {
            "name": f"mock {n}",
            "match": f"path:/never/{n}",
            "actions": [
                {
                    "type": "reply",
                    "status": 200,
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"id": 7}',
                }
            ],
        },
        lambda n: {
            "name": f"no writes {n}",
            "match": f"method:PUT host:x-{n}.example.com",
            "actions": [{"type": "block", "status": 403}],
        },
        lambda n: {
            "name": f"staging {n}",
            "match": f"host:/^cdn-{n}\\.example\\.org$/",
            "actions": [{"type": "map_remote", "to": f"https://staging-{n}.example.org"}],
        },
        lambda n: {
            "name": f"server error header {n}",
            "match": "status:599" if n % 2 else f"status:5xx host:never-{n}.example.com",
            "actions": [{"type": "set_header", "on": "response", "name": "X-Seen", "value": "1"}],
        },
        lambda n: {
            "name": f"slow admin {n}",
            "match": f"method:DELETE path:/^\\/admin-{n}\\//",
            "actions": [{"type": "delay", "ms": 500}],
        },
        lambda n: {
            "name": f"strip debug {n}",
            "match": f"reqheader:x-never-{n}",
            "actions": [{"type": "remove_header", "on": "request", "name": f"X-Never-{n}"}],
        },
        lambda n: {
            "name": f"no tracking {n}",
            "match": f"host:tracker-{n}.example.net or url:/utm_never_{n}=/",
            "actions": [{"type": "block", "reset": True}],
        },
        lambda n: {
            "name": f"cookie strip {n}",
            "match": f"host:auth-{n}.example.com type:json",
            "actions": [{"type": "remove_header", "on": "response", "name": "Set-Cookie"}],
        },
        lambda n: {
            "name": f"v{n} mock",
            "match": f"path:/api/v{n}/never method:POST",
            "actions": [{"type": "reply", "status": 201, "body": "created"}],
        },
    ]
    return [makers[i % len(makers)](i // len(makers) + 1) for i in range(count)]


def throttle_rules(kbps: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "throttle downloads",
            "match": THROTTLE_MATCH,
            "actions": [{"type": "throttle", "down_kbps": kbps}],
        }
    ]


def write_rules(path: Path, rules: list[dict[str, Any]]) -> Path:
    """The rules file; every rule checked to compile enabled here first
    (the engine would otherwise disable it with a warning -q hides)."""
    check = RuleSet()
    for rule in check.replace(rules):
        if not rule.active:
            raise ValueError(f"rule {rule.name!r} would be disabled: {rule.error}")
    path.write_text(json.dumps({"rules": rules}, indent=1) + "\n")
    return path


async def _engine_rules(control: Path, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(control))
            break
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"no control socket at {control}") from None
            await asyncio.sleep(0.05)
    client = EngineClient(name="bench")
    await client.connect(sock)
    try:
        rules: list[dict[str, Any]] = (await client.request("rules"))["rules"]
        return rules
    finally:
        client.close()


def engine_rules(control: Path) -> list[dict[str, Any]]:
    """The running engine's rules, as ``inspector ctl rules list`` reads them."""
    return asyncio.run(_engine_rules(control))


def check_rules(control: Path, count: int, hits: int | None) -> dict[str, Any]:
    """The engine holds ``count`` working rules, with ``hits`` hits in all
    (None: not checked); raises RuntimeError otherwise."""
    rules = engine_rules(control)
    broken = [f"{r['name']}: {r['error']}" for r in rules if r.get("error")]
    found = sum(int(r["hits"]) for r in rules)
    if len(rules) != count or broken:
        raise RuntimeError(f"engine has {len(rules)} rules of {count}; disabled: {broken}")
    if hits is not None and found != hits:
        raise RuntimeError(f"rules hit {found} times, expected {hits}")
    return {"rules": len(rules), "hits": found}


def start(work: Path, name: str, rules: Path | None) -> tuple[targets.Proc, Path]:
    control = work / f"{name}.sock"
    control.unlink(missing_ok=True)
    extra = ["--control", str(control)]
    if rules is not None:
        extra += ["--rules", str(rules)]
    launch = targets.Launch("headless", extra=extra, confdir=work / "c")
    return targets.start(launch), control


# Overhead


def _load(
    origin: str, proc: targets.Proc, seconds: float, warmup: float, client: str
) -> dict[str, Any]:
    cpu = proc.cpu_seconds()
    result = loadgen(
        [
            "--origin",
            origin,
            "--proxy",
            proc.address,
            "-c",
            str(CONNECTIONS),
            "-d",
            str(seconds),
            "--warmup",
            str(warmup),
            "--client",
            client,
        ]
    )
    spent = proc.cpu_seconds() - cpu
    total = result.get("total_requests") or result["requests"]
    result["cpu_us"] = spent / total * 1e6 if total else float("nan")
    return result


def run_overhead(args: argparse.Namespace, origin: str, work: Path) -> dict[str, Any]:
    rules_file = write_rules(work / "idle-rules.json", idle_rules(args.rules_count))
    runs: list[dict[str, Any]] = []
    for index in range(args.rounds):
        order = list(MODES) if index % 2 == 0 else list(reversed(MODES))
        for mode in order:
            proc, control = start(work, mode, rules_file if mode == "rules" else None)
            try:
                # A young process runs slower for its first thousands of
                # requests: warm it, unrecorded.
                _load(origin, proc, args.warm_seconds, 0.0, "builtin")
                result = _load(origin, proc, args.seconds, args.warmup, args.client)
                count = args.rules_count if mode == "rules" else 0
                checked = check_rules(control, count, 0)
            finally:
                targets.stop(proc)
            runs.append({"round": index + 1, "mode": mode, **result, **checked})
            print(
                f"bench_rules: round {index + 1} {mode}: {result['rps']:,.0f} req/s, p99 "
                f"{result['p99_ms']:.1f} ms, {result['cpu_us']:.0f} us/req",
                file=sys.stderr,
                flush=True,
            )
    ratios, cpu_ratios, p99_ratios = [], [], []
    for index in range(args.rounds):
        by = {r["mode"]: r for r in runs if r["round"] == index + 1}
        if len(by) == len(MODES):
            ratios.append(by["rules"]["rps"] / by["none"]["rps"])
            cpu_ratios.append(by["rules"]["cpu_us"] / by["none"]["cpu_us"])
            p99_ratios.append(by["rules"]["p99_ms"] / by["none"]["p99_ms"])
    return {
        "connections": CONNECTIONS,
        "rules_count": args.rules_count,
        "judging": judging(args.rules_count, 5000 if args.quick else 20000),
        "modes": {
            mode: {
                k: _median([r[k] for r in runs if r["mode"] == mode])
                for k in ("rps", "p50_ms", "p99_ms", "cpu_us", "errors")
            }
            for mode in MODES
        },
        "rps_ratio": _median(ratios),
        "rps_ratio_all": ratios,
        "cpu_ratio": _median(cpu_ratios),
        "p99_ratio": _median(p99_ratios),
        "client": runs[0]["client"] if runs else "",
        "runs": runs,
    }


def _benchmark_flow() -> Flow:
    """A flow like the load's requests: ``GET http://127.0.0.1:PORT/``."""
    flow = Flow(1, ("127.0.0.1", 40000))
    flow.request = Request(
        method="GET",
        scheme="http",
        host="127.0.0.1",
        port=8000,
        target="/",
        headers=[(b"Host", b"127.0.0.1:8000"), (b"User-Agent", b"wrk"), (b"Accept", b"*/*")],
    )
    return flow


def _respond(flow: Flow) -> None:
    flow.response = Response(
        status=200,
        reason="OK",
        headers=[(b"Content-Type", b"text/plain"), (b"Content-Length", b"32")],
    )


def judging(count: int, flows: int = 20000) -> dict[str, Any]:
    """In this process: microseconds a flow spends in ``RuleSet.plan_request``
    and ``plan_response`` with the rules (best of three passes), and what
    one ``Subject`` (the summary row a filter judges) costs to build."""
    rules = RuleSet()
    rules.replace(idle_rules(count))

    def plans(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            flow = _benchmark_flow()
            plan = rules.plan_request(flow)
            _respond(flow)
            rules.plan_response(flow, plan)
        return time.perf_counter() - started

    def bare(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            _respond(_benchmark_flow())
        return time.perf_counter() - started

    def subjects(n: int) -> float:
        flow = _benchmark_flow()
        _respond(flow)
        started = time.perf_counter()
        for _ in range(n):
            Subject(flow)
        return time.perf_counter() - started

    plans(flows // 10)
    base = min(bare(flows) for _ in range(3))
    return {
        "flows": flows,
        "plan_us": (min(plans(flows) for _ in range(3)) - base) / flows * 1e6,
        "subject_us": min(subjects(flows) for _ in range(3)) / flows * 1e6,
        "judged_request": sum(1 for r in rules if r.at_request),
        "judged_response": sum(1 for r in rules if not r.at_request),
    }


# Throttle


class Downloaders:
    """``count`` threads, each downloading ``/bytes/SIZE`` through the proxy
    again and again until stopped; every download's seconds kept."""

    def __init__(self, proxy: str, origin: str, count: int) -> None:
        self.proxy, self.origin = parse_addr(proxy), parse_addr(origin)
        self.stopping = threading.Event()
        self.seconds: list[float] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.seconds.append(download(self.proxy, self.origin, True, SIZE))
            except OSError as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return

    def __enter__(self) -> Downloaders:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=IDEAL_S * 3 + 10)


def _fixed(origin: str, proc: targets.Proc, rate: float, seconds: float) -> dict[str, Any]:
    cpu = proc.cpu_seconds()
    result = _burst(origin, proc.address, int(rate * seconds), FIXED_CONNECTIONS, seconds * 3, rate)
    spent = proc.cpu_seconds() - cpu
    result["cpu_us"] = spent / result["completed"] * 1e6 if result["completed"] else float("nan")
    return result


def run_throttle(args: argparse.Namespace, origin: str, work: Path) -> dict[str, Any]:
    rules_file = write_rules(work / "throttle-rules.json", throttle_rules(args.down_kbps))
    ideal = SIZE / (args.down_kbps * 1000 / 8)
    proc, control = start(work, "throttle", rules_file)
    downloads = 0
    try:
        # Warm the proxy unthrottled (the fixed loads' path), then time the
        # throttled downloads alone, one after the other.
        _burst(origin, proc.address, 2000, FIXED_CONNECTIONS, 30)
        alone: list[float] = []
        for _ in range(args.downloads):
            alone.append(download(parse_addr(proc.address), parse_addr(origin), True, SIZE))
            downloads += 1
        print(
            "bench_rules: throttled 256 KiB alone: "
            + ", ".join(f"{s:.3f}" for s in alone)
            + f" s (ideal {ideal:.3f})",
            file=sys.stderr,
            flush=True,
        )
        top = _burst(origin, proc.address, UNLIMITED, FIXED_CONNECTIONS, args.max_seconds)
        rate = top["rps"] * FIXED_SHARE
        seconds = args.fixed_seconds
        print(
            f"bench_rules: max {top['rps']:,.0f} req/s, fixed load {rate:,.0f} req/s for "
            f"{seconds:g} s",
            file=sys.stderr,
            flush=True,
        )
        runs: list[dict[str, Any]] = [{"with": "alone", **_fixed(origin, proc, rate, seconds)}]
        under_load: list[float] = []
        for _ in range(args.rounds):
            with Downloaders(proc.address, origin, args.throttled) as beside:
                # Every downloader's first request is under way.
                time.sleep(0.3)
                load = _fixed(origin, proc, rate, seconds)
            if beside.errors:
                raise RuntimeError(f"throttled download failed: {beside.errors[0]}")
            downloads += len(beside.seconds)
            under_load.extend(beside.seconds)
            runs.append(
                {
                    "with": "throttled",
                    **load,
                    "downloads": len(beside.seconds),
                    "download_s": beside.seconds,
                }
            )
            runs.append({"with": "alone", **_fixed(origin, proc, rate, seconds)})
            print(
                f"bench_rules: beside {args.throttled} throttled downloads: p99 "
                f"{load['p99_corrected_ms']:.1f} ({load['p99_ms']:.1f}) ms (alone before "
                f"{runs[-3]['p99_corrected_ms']:.1f}, after {runs[-1]['p99_corrected_ms']:.1f}); "
                f"{len(beside.seconds)} downloads, median {_median(beside.seconds):.3f} s",
                file=sys.stderr,
                flush=True,
            )
        checked = check_rules(control, 1, downloads)
    finally:
        targets.stop(proc)
    ratios, raw, cpu = [], [], []
    for n, run_ in enumerate(runs):
        if run_["with"] != "throttled":
            continue
        around = (runs[n - 1], runs[n + 1])
        base = statistics.mean(r["p99_corrected_ms"] for r in around)
        base_raw = statistics.mean(r["p99_ms"] for r in around)
        base_cpu = statistics.mean(r["cpu_us"] for r in around)
        ratios.append(run_["p99_corrected_ms"] / base if base else float("nan"))
        raw.append(run_["p99_ms"] / base_raw if base_raw else float("nan"))
        cpu.append(run_["cpu_us"] / base_cpu if base_cpu else float("nan"))
    median = _median(alone)
    return {
        "size": SIZE,
        "down_kbps": args.down_kbps,
        "ideal_s": ideal,
        "alone_s": alone,
        "median_s": median,
        "min_s": min(alone),
        "max_s": max(alone),
        "median_error": median / ideal - 1,
        "worst_error": max(abs(s / ideal - 1) for s in alone),
        "under_load_s": under_load,
        "under_load_median_s": _median(under_load),
        "under_load_max_s": max(under_load) if under_load else float("nan"),
        "throttled": args.throttled,
        "max_rps": top["rps"],
        "rate": rate,
        "seconds": seconds,
        "alone": {k: _median([r[k] for r in runs if r["with"] == "alone"]) for k in KEYS},
        "beside": {k: _median([r[k] for r in runs if r["with"] == "throttled"]) for k in KEYS},
        "p99_ratio": _median(ratios),
        "p99_ratio_all": ratios,
        "p99_raw_ratio": _median(raw),
        "cpu_ratio": _median(cpu),
        "rules_hits": checked["hits"],
        "runs": [{k: v for k, v in r.items() if k != "download_s"} for r in runs],
    }


# The run


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [f"Rules: revision {c['revision']}, {c['cpus']} CPUs, {c['rounds']} round(s)"]
    o = summary.get("overhead")
    if o:
        lines.append(
            f"{o['rules_count']} enabled rules matching nothing, c={o['connections']} "
            f"keep-alive ({o['client']}), medians; x none per round:"
        )
        lines.append(f"  {'rules':<10}{'req/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'us/req':>8}")
        for mode in MODES:
            m = o["modes"][mode]
            lines.append(
                f"  {mode:<10}{m['rps']:>10,.0f}{m['p50_ms']:>8.1f}{m['p99_ms']:>8.1f}"
                f"{m['cpu_us']:>8.0f}"
            )
        each = ", ".join(f"{r:.2f}" for r in o["rps_ratio_all"])
        lines.append(
            f"  req/s with / none {o['rps_ratio']:.2f}x (rounds {each}; target >= "
            f"{OVERHEAD_TARGET}x), CPU per request {o['cpu_ratio']:.2f}x, p99 "
            f"{o['p99_ratio']:.2f}x"
        )
        j = o["judging"]
        lines.append(
            f"  judging them in-process: {j['plan_us']:.1f} us a flow in plan_request + "
            f"plan_response ({j['judged_request']} rules at the request, "
            f"{j['judged_response']} at the response), of which one Subject (summary row) "
            f"per rule judged: {j['subject_us']:.2f} us each"
        )
    t = summary.get("throttle")
    if t:
        each = ", ".join(f"{s:.3f}" for s in t["alone_s"])
        lines.append(
            f"Throttle {t['size'] // 1024} KiB at {t['down_kbps']:,} kbit/s down (ideal "
            f"{t['ideal_s']:.3f} s): median {t['median_s']:.3f} s ({t['median_error']:+.1%}), "
            f"{t['min_s']:.3f}-{t['max_s']:.3f} s, worst {t['worst_error']:.1%} off "
            f"(runs {each}; target within {THROTTLE_TOLERANCE:.0%})"
        )
        lines.append(
            f"  under the fixed load, {t['throttled']} at a time: {len(t['under_load_s'])} "
            f"downloads, median {t['under_load_median_s']:.3f} s, max "
            f"{t['under_load_max_s']:.3f} s"
        )
        a, b = t["alone"], t["beside"]
        each = ", ".join(f"{r:.2f}" for r in t["p99_ratio_all"])
        lines.append(
            f"  fixed load {t['rate']:,.0f} req/s ({FIXED_SHARE:.0%} of the proxy's "
            f"{t['max_rps']:,.0f}), {FIXED_CONNECTIONS} connections, {t['seconds']:g} s: p99 "
            f"from slot (from send) alone {a['p99_corrected_ms']:.1f} ({a['p99_ms']:.1f}) ms, "
            f"beside {t['throttled']} throttled downloads {b['p99_corrected_ms']:.1f} "
            f"({b['p99_ms']:.1f}) ms: {t['p99_ratio']:.2f}x ({t['p99_raw_ratio']:.2f}x; "
            f"rounds {each}), CPU per request {t['cpu_ratio']:.2f}x"
        )
    for failure in summary["failures"]:
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"failures": []}
    with workdir(args.keep) as work:
        origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
        try:
            for part, runner in (("overhead", run_overhead), ("throttle", run_throttle)):
                if part not in args.parts:
                    continue
                try:
                    summary[part] = runner(args, origin_proc.address, work)
                except (RuntimeError, OSError, ValueError, TimeoutError) as exc:
                    summary["failures"].append(f"{part}: {type(exc).__name__}: {exc}")
        finally:
            origin_proc.stop()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, short loads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", type=lambda s: s.split(","), default=list(PARTS))
    parser.add_argument("--rules-count", type=int, default=RULES_COUNT)
    parser.add_argument("--seconds", type=float, default=5.0, help="each closed-loop load")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--warm-seconds", type=float, default=2.0, help="a new engine's warm-up")
    parser.add_argument("--client", choices=("auto", "wrk", "builtin"), default="auto")
    parser.add_argument("--down-kbps", type=int, default=DOWN_KBPS)
    parser.add_argument("--downloads", type=int, default=5, help="throttled downloads alone")
    parser.add_argument("--throttled", type=int, default=THROTTLED, help="beside the load")
    parser.add_argument("--fixed-seconds", type=float, default=8.0)
    parser.add_argument("--max-seconds", type=float, default=5.0, help="the maximum's load")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)} (known: {', '.join(PARTS)})")
    if args.quick:
        args.rounds = 1
        args.seconds = min(args.seconds, 2.0)
        args.warm_seconds = min(args.warm_seconds, 1.0)
        args.downloads = min(args.downloads, 3)
        args.fixed_seconds = min(args.fixed_seconds, 4.0)
        args.max_seconds = min(args.max_seconds, 2.0)
    started = time.monotonic()
    summary = bench(args)
    summary["config"] = {
        "rounds": args.rounds,
        "parts": args.parts,
        "rules_count": args.rules_count,
        "connections": CONNECTIONS,
        "seconds": args.seconds,
        "down_kbps": args.down_kbps,
        "size": SIZE,
        "throttled": args.throttled,
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
