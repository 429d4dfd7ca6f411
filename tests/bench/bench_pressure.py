"""GUI pressure: the proxy under load with the desktop app on screen, and
the window made slow or stopped outright.

Three parts, each run ``--rounds`` times with configurations taking turns:

The burst. For each configuration (the engine in its own process, on a
thread of the window's process or on the window's qasync loop; the
coalescing relay or the naive one; and the window's batch handler slowed
100x) the app is started offscreen through ``gui_target.py``, warmed with a
few hundred requests, told to ``mark``, and then ``burst.py`` sends
``--requests`` GETs over ``--connections`` keep-alive connections as fast
as the proxy answers. The driver then waits until the engine has made
every flow sent and the table shows every row the engine holds (the
catch-up: how long the window lags behind the proxy), takes the app's
report and quits it. Per run: the proxy's req/s and latency (client side);
the GUI event loop's worst and p99 gap (a 1 ms timer on the GUI thread);
the engine loop's worst lateness; delivery lag; pending relay entries at
peak, in entries and in bytes; the window's RSS growth; flows recorded and
table rows against requests sent; relay drops and resyncs; the catch-up;
CPU per request (both processes); and the time from quit to exit.

The stopped window (``--stop-seconds``, the process layout only): a
time-limited load as fast as it goes with the window running (the
control), the same load with the window's process stopped by SIGSTOP from
just before it starts to just after it ends, and the control again. The
stopped run's req/s and p99 are compared with the mean of the two
controls; the flows the engine made with the requests sent (none may be
lost); and the time from SIGCONT until the table shows every flow.

The fixed load (``--fixed-seconds``): headless Inspector's maximum is
measured first (the same time-limited load), then each of the process and
thread layouts, with and without the window slowed 100x, is offered half of
it (``burst.py --rate``): a load the proxy can carry, so that latency
measures the proxy and not a queue. p99 is given from each request's slot
(corrected for coordinated omission) and from its actual send.

Run as ``python -m tests.bench.bench_pressure [--quick] [--requests N]
[--rounds N] [--configs relay-process,...] [--parts burst,stop,fixed]
[--json PATH]``. A configuration may carry ``#MODULE[:ARG]`` to run the app
with ``gui_target.py --patch``, so a change can be measured beside the app
as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import targets
from tests.bench.bench_engine import git_revision
from tests.bench.output import publish

SLOW = ["--slow-gui", "100"]
NICE_WINDOW = "tests.bench.nice_window:10"
CONFIGS: dict[str, tuple[str, list[str]]] = {
    "relay-process": ("desktop", []),
    "relay-thread": ("desktop-thread", []),
    "relay-qasync": ("desktop-qasync", []),
    "naive-process": ("desktop-naive", []),
    "naive-thread": ("desktop-thread-naive", []),
    "naive-qasync": ("desktop-qasync-naive", []),
    "relay-process-slow100": ("desktop", SLOW),
    "relay-process-slow100-sleep": ("desktop", [*SLOW, "--slow-mode", "sleep"]),
    "relay-thread-slow100": ("desktop-thread", SLOW),
}
"""name -> (mode, gui_target options). ``slow100`` spins for the extra time
(a window busy in Python, holding its interpreter's lock as real GUI work
does); ``slow100-sleep`` sleeps instead (a window that is merely late)."""
DEFAULT_CONFIGS = tuple(CONFIGS)
FIXED_CONFIGS = (
    "relay-process",
    "relay-process-slow100",
    "relay-process-slow100-sleep",
    "relay-thread",
    "relay-thread-slow100",
    f"relay-process-slow100#{NICE_WINDOW}",
)
"""The fixed-load part: each layout with and without the slow window. The
window that sleeps instead of spinning tells what of the slow window's
effect is its protocol (the same for both) and what is the CPU it takes;
the spinning window at a lower priority than its engine
(``nice_window.py``) what giving the engine the CPU first would do."""
PARTS = ("burst", "stop", "fixed")
WARMUP_REQUESTS = 500
UNLIMITED = 10**8
"""A request budget a time-limited load never reaches."""
FIXED_SHARE = 0.5
"""The fixed load, as a share of headless Inspector's maximum."""


def _burst(
    origin: str, proxy: str, n: int, connections: int, limit: float, rate: float = 0.0
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "tests.bench.burst", "--origin", origin, "--proxy", proxy]
    argv += ["-n", str(n), "-c", str(connections), "--max-seconds", str(limit)]
    if rate:
        argv += ["--rate", f"{rate:.1f}"]
    done = subprocess.run(
        argv,
        cwd=targets.ROOT,
        capture_output=True,
        text=True,
        timeout=limit + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"burst failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _status(proc: targets.Proc) -> dict[str, Any]:
    proc.send("status")
    data: dict[str, Any] = json.loads(proc.expect("status ", 30))
    return data


def _start(config: str, confdir: Path, probe_ms: int = 1) -> targets.Proc:
    base, sep, tag = config.partition("#")
    mode, bench_opts = CONFIGS[base]
    launch = targets.Launch(
        mode + sep + tag,
        bench=["--probe-ms", str(probe_ms), "--calibrate", *bench_opts],
        confdir=confdir,
    )
    return targets.start(launch)


def _warm(proc: targets.Proc, origin: str) -> dict[str, Any]:
    """A few hundred requests, unrecorded, until the table shows them; the
    status after."""
    _burst(origin, proc.address, WARMUP_REQUESTS, 10, 30)
    targets.wait_until(lambda: _status(proc)["rows"] >= WARMUP_REQUESTS, 30, 0.1)
    return _status(proc)


def _mark(proc: targets.Proc) -> None:
    proc.send("mark")
    proc.expect("mark ", 30)


def _catch_up(proc: targets.Proc, want: int, timeout: float) -> tuple[bool, dict[str, Any]]:
    """Wait until the engine made flow ``want``, its relay is empty and the
    table shows every flow it holds; (whether it did, the last status)."""
    last: dict[str, Any] = {}

    def caught_up() -> bool:
        nonlocal last
        last = _status(proc)
        return last["last_id"] >= want and last["rows"] >= last["flows"] and last["depth"] == 0

    return targets.wait_until(caught_up, timeout, 0.05), last


def _report(proc: targets.Proc) -> dict[str, Any]:
    proc.send("report")
    data: dict[str, Any] = json.loads(proc.expect("report ", 60))
    return data


# The burst


def run_one(config: str, origin: str, confdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    proc = _start(config, confdir)
    try:
        before = _warm(proc, origin)
        _mark(proc)
        cpu = proc.cpu_seconds()
        burst = _burst(origin, proc.address, args.requests, args.connections, args.max_seconds)
        burst_cpu = proc.cpu_seconds() - cpu
        ended = time.monotonic()
        want = before["last_id"] + burst["sent"]
        settled, last = _catch_up(proc, want, args.catchup_timeout)
        catchup = time.monotonic() - ended
        report = _report(proc)
        quit_s = targets.quit_gui(proc)
    except BaseException:
        proc.kill()
        raise
    stall = report["stall"]
    recorded = report["flows_recorded"] - before["last_id"]
    per_entry = report.get("pending_bytes_per_entry")
    peak_bytes = report.get("pending_bytes_peak")
    return {
        "config": config,
        "mode": proc.name,
        "sent": burst["sent"],
        "completed": burst["completed"],
        "errors": burst["errors"],
        "timed_out": burst["timed_out"],
        "rps": burst["rps"],
        "p50_ms": burst["p50_ms"],
        "p99_ms": burst["p99_ms"],
        "max_ms": burst["max_ms"],
        "burst_s": burst["seconds"],
        "cpu_us_per_req": burst_cpu / max(burst["completed"], 1) * 1e6,
        "stall_max_ms": stall["gap_max_ms"],
        "stall_p99_ms": stall["gap_p99_ms"],
        "stalls_over_50ms": stall["gaps_over_50ms"],
        "engine_lag_max_ms": report["engine_loop_lag_max_ms"],
        "apply_max_ms": report["apply_max_ms"],
        "gc_max_ms": report["gc"]["max_ms"],
        "gc_full": report["gc"]["full_collections"],
        "gc_total_ms": report["gc"]["total_ms"],
        "lag_max_ms": report["lag_max_ms"],
        "pending_peak": report["depth_max"],
        "pending_bytes_per_entry": per_entry,
        "pending_peak_mb": peak_bytes / 2**20 if peak_bytes is not None else None,
        "rss_growth_mb": (report["rss_max"] - report["rss_at_mark"]) / 2**20,
        "engine_rss_mb": report["engine_rss"] / 2**20,
        "flows_recorded": recorded,
        "table_rows": report["table_rows"] - before["rows"],
        "recorded_equals_sent": recorded == burst["sent"],
        "rows_equal_flows": report["table_rows"] == report["flows_held"],
        "flow_dropped": report["flow_dropped"],
        "low_dropped": report["low_dropped"],
        "resyncs": report["resyncs"],
        "relay_errors": report["relay_errors"],
        "caught_up": settled,
        "catchup_s": catchup if settled else None,
        "quit_after_burst_s": quit_s,
        "last_status": last,
    }


# The stopped window


def _timed(origin: str, proxy: str, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    return _burst(origin, proxy, UNLIMITED, args.connections, seconds)


def run_stop(origin: str, confdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Control, stopped, control, on one app (process layout)."""
    proc = _start("relay-process", confdir, probe_ms=0)
    seconds = args.stop_seconds
    try:
        _warm(proc, origin)
        control = [_timed(origin, proc.address, args, seconds)]
        targets.wait_until(lambda: _status(proc)["depth"] == 0, 30, 0.1)
        before = _status(proc)
        os.kill(proc.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        try:
            stopped = _timed(origin, proc.address, args, seconds)
            engine_rss_stopped = targets.process_rss_bytes(proc.engine_pid or proc.pid)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        resumed = time.monotonic()
        want = before["last_id"] + stopped["sent"]
        settled, last = _catch_up(proc, want, args.catchup_timeout)
        catchup = time.monotonic() - resumed
        control.append(_timed(origin, proc.address, args, seconds))
        quit_s = targets.quit_gui(proc)
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        raise
    rps = statistics.mean(c["rps"] for c in control)
    p99 = statistics.mean(c["p99_ms"] for c in control)
    recorded = last["last_id"] - before["last_id"]
    return {
        "stopped_s": resumed - stopped_at,
        "control_rps": [c["rps"] for c in control],
        "control_p99_ms": [c["p99_ms"] for c in control],
        "rps": stopped["rps"],
        "p50_ms": stopped["p50_ms"],
        "p99_ms": stopped["p99_ms"],
        "max_ms": stopped["max_ms"],
        "rps_ratio": stopped["rps"] / rps if rps else None,
        "p99_ratio": stopped["p99_ms"] / p99 if p99 else None,
        "sent": stopped["sent"],
        "completed": stopped["completed"],
        "errors": stopped["errors"],
        "flows_recorded": recorded,
        "lost": stopped["sent"] - recorded,
        "rows_equal_flows": last["rows"] == last["flows"],
        "caught_up": settled,
        "catchup_s": catchup if settled else None,
        "engine_rss_before_mb": before["engine_rss"] / 2**20,
        "engine_rss_stopped_mb": engine_rss_stopped / 2**20,
        "quit_s": quit_s,
    }


# The fixed load


def headless_max(origin: str, confdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    proc = targets.start(targets.Launch("headless", confdir=confdir))
    try:
        _burst(origin, proc.address, WARMUP_REQUESTS * 4, args.connections, 30)
        return _timed(origin, proc.address, args, args.fixed_seconds)
    finally:
        targets.stop(proc)


def run_fixed(
    config: str, origin: str, confdir: Path, rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    proc = _start(config, confdir)
    seconds = args.fixed_seconds
    try:
        before = _warm(proc, origin)
        _mark(proc)
        load = _burst(
            origin, proc.address, int(rate * seconds), args.connections, seconds * 3, rate
        )
        settled, _last = _catch_up(proc, before["last_id"] + load["sent"], args.catchup_timeout)
        report = _report(proc)
        targets.quit_gui(proc)
    except BaseException:
        proc.kill()
        raise
    return {
        "config": config,
        "offered_rps": rate,
        "rps": load["rps"],
        "sent": load["sent"],
        "errors": load["errors"],
        "timed_out": load["timed_out"],
        "p50_ms": load["p50_ms"],
        "p99_ms": load["p99_ms"],
        "max_ms": load["max_ms"],
        "p50_corrected_ms": load["p50_corrected_ms"],
        "p99_corrected_ms": load["p99_corrected_ms"],
        "max_corrected_ms": load["max_corrected_ms"],
        "stall_max_ms": report["stall"]["gap_max_ms"],
        "engine_lag_max_ms": report["engine_loop_lag_max_ms"],
        "recorded_equals_sent": report["flows_recorded"] - before["last_id"] == load["sent"],
        "caught_up": settled,
    }


def _median(values: list[Any]) -> Any:
    values = [v for v in values if v is not None and v == v]
    if not values:
        return None
    if all(isinstance(v, bool) for v in values):
        return all(values)
    return statistics.median(values)


def _rotated(items: list[str], index: int) -> list[str]:
    shift = index % len(items)
    return items[shift:] + items[:shift]


def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-pressure-"))
    confdir = work / "inspector"
    runs: list[dict[str, Any]] = []
    stops: list[dict[str, Any]] = []
    fixed: list[dict[str, Any]] = []
    maxima: list[dict[str, Any]] = []
    failures: list[str] = []
    origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
    origin = origin_proc.address

    def attempt(what: str, action: Any) -> Any:
        try:
            return action()
        except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as exc:
            failures.append(f"{what}: {exc}")
            return None

    try:
        for index in range(args.rounds):
            n = index + 1
            if "burst" in args.parts:
                for config in _rotated(list(args.configs), index):
                    result = attempt(
                        f"round {n} {config}", lambda c=config: run_one(c, origin, confdir, args)
                    )
                    if result is None:
                        continue
                    result["round"] = n
                    runs.append(result)
                    catchup = result["catchup_s"]
                    print(
                        f"bench_pressure: {config}: {result['rps']:,.0f} req/s, p99 "
                        f"{result['p99_ms']:.0f} ms, stall max {result['stall_max_ms']:.0f} ms, "
                        "catch-up " + (f"{catchup:.1f} s" if catchup is not None else "never"),
                        file=sys.stderr,
                        flush=True,
                    )
            if "stop" in args.parts:
                stop = attempt(f"round {n} stopped window", lambda: run_stop(origin, confdir, args))
                if stop is not None:
                    stops.append({"round": n, **stop})
                    print(
                        f"bench_pressure: stopped window: {stop['rps_ratio']:.2f}x req/s, "
                        f"{stop['p99_ratio']:.2f}x p99, {stop['lost']} lost, catch-up "
                        f"{stop['catchup_s']}",
                        file=sys.stderr,
                        flush=True,
                    )
            if "fixed" in args.parts:
                top = attempt(
                    f"round {n} headless maximum", lambda: headless_max(origin, confdir, args)
                )
                if top is None:
                    continue
                maxima.append({"round": n, "rps": top["rps"], "p99_ms": top["p99_ms"]})
                rate = top["rps"] * FIXED_SHARE
                for config in _rotated(list(args.fixed_configs), index):
                    result = attempt(
                        f"round {n} fixed load {config}",
                        lambda c=config, r=rate: run_fixed(c, origin, confdir, r, args),
                    )
                    if result is None:
                        continue
                    fixed.append({"round": n, **result})
                    print(
                        f"bench_pressure: fixed {rate:,.0f} req/s, {config}: p99 "
                        f"{result['p99_corrected_ms']:.1f} ms (corrected), "
                        f"{result['p99_ms']:.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        origin_proc.stop()
    return summarize(args, runs, stops, fixed, maxima, failures)


def _paired(
    runs: list[dict[str, Any]], key: str, a: str, b: str, field: str = "config"
) -> float | None:
    """Median over rounds of a / b, for runs of ``a`` and ``b`` in one round."""
    by_round = {(r["round"], r[field]): r for r in runs}
    rounds = sorted({r["round"] for r in runs})
    values = [
        by_round[(n, a)][key] / by_round[(n, b)][key]
        for n in rounds
        if (n, a) in by_round and (n, b) in by_round and by_round[(n, b)][key]
    ]
    return _median(values)


def _table(runs: list[dict[str, Any]], configs: list[str], skip: tuple[str, ...]) -> list[Any]:
    table = []
    for config in configs:
        mine = [r for r in runs if r["config"] == config]
        if not mine:
            continue
        keys = [k for k in mine[0] if k not in skip]
        row: dict[str, Any] = {"config": config, "rounds": len(mine)}
        for key in keys:
            row[key] = _median([r[key] for r in mine])
        table.append(row)
    return table


def summarize(
    args: argparse.Namespace,
    runs: list[dict[str, Any]],
    stops: list[dict[str, Any]],
    fixed: list[dict[str, Any]],
    maxima: list[dict[str, Any]],
    failures: list[str],
) -> dict[str, Any]:
    table = _table(runs, list(args.configs), ("config", "mode", "round", "last_status"))
    for row in table:
        mine = [r for r in runs if r["config"] == row["config"]]
        # The worst round is what a target on a maximum must hold for.
        row["mode"] = mine[0]["mode"]
        row["stall_max_ms_worst"] = max(r["stall_max_ms"] for r in mine)
        row["recorded_equals_sent"] = all(r["recorded_equals_sent"] for r in mine)

    ratios = {
        "rps relay/naive, process": _paired(runs, "rps", "relay-process", "naive-process"),
        "rps relay/naive, thread": _paired(runs, "rps", "relay-thread", "naive-thread"),
        "rps relay/naive, qasync": _paired(runs, "rps", "relay-qasync", "naive-qasync"),
        "rps relay process/thread": _paired(runs, "rps", "relay-process", "relay-thread"),
        "rps relay process/qasync": _paired(runs, "rps", "relay-process", "relay-qasync"),
        "p99 relay process/thread": _paired(runs, "p99_ms", "relay-process", "relay-thread"),
    }
    for layout in ("process", "thread"):
        normal, slowed = f"relay-{layout}", f"relay-{layout}-slow100"
        ratios[f"p99 slowed/normal, {layout}"] = _paired(runs, "p99_ms", slowed, normal)
        ratios[f"rps slowed/normal, {layout}"] = _paired(runs, "rps", slowed, normal)
    sleep = "relay-process-slow100-sleep"
    ratios["p99 slowed (sleep)/normal, process"] = _paired(runs, "p99_ms", sleep, "relay-process")
    ratios["rps slowed (sleep)/normal, process"] = _paired(runs, "rps", sleep, "relay-process")

    fixed_table = _table(fixed, list(args.fixed_configs), ("config", "round"))
    for layout in ("process", "thread"):
        normal, slowed = f"relay-{layout}", f"relay-{layout}-slow100"
        for key, label in (("p99_corrected_ms", "p99"), ("p99_ms", "p99 (from send)")):
            ratios[f"fixed load {label} slowed/normal, {layout}"] = _paired(
                fixed, key, slowed, normal
            )
    ratios["fixed load p99 slowed (sleep)/normal, process"] = _paired(
        fixed, "p99_corrected_ms", sleep, "relay-process"
    )
    for config in args.fixed_configs:
        if "#" in config:
            # A patched run against the same layout as it is, unslowed.
            normal = config.partition("#")[0].split("-slow")[0]
            ratios[f"fixed load p99 {config}/normal"] = _paired(
                fixed, "p99_corrected_ms", config, normal
            )

    stop: dict[str, Any] | None = None
    if stops:
        stop = {
            key: _median([s[key] for s in stops])
            for key, value in stops[0].items()
            if key != "round" and not isinstance(value, list)
        }
        stop["lost_total"] = sum(s["lost"] for s in stops)
        stop["catchup_s_worst"] = max(
            (s["catchup_s"] if s["catchup_s"] is not None else float("inf")) for s in stops
        )
        stop["rps_ratio_worst"] = min(s["rps_ratio"] or 0.0 for s in stops)
        stop["p99_ratio_worst"] = max(s["p99_ratio"] or float("inf") for s in stops)
        stop["rounds"] = len(stops)
    return {
        "config": {
            "requests": args.requests,
            "connections": args.connections,
            "rounds": args.rounds,
            "max_seconds": args.max_seconds,
            "stop_seconds": args.stop_seconds,
            "fixed_seconds": args.fixed_seconds,
            "fixed_share": FIXED_SHARE,
            "parts": args.parts,
            "revision": git_revision(),
        },
        "table": table,
        "ratios": {k: v for k, v in ratios.items() if v is not None},
        "stop": stop,
        "fixed": fixed_table,
        "headless_max": maxima,
        "runs": runs,
        "stops": stops,
        "fixed_runs": fixed,
        "failures": failures,
    }


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = []
    if summary["table"]:
        lines += [
            f"GUI pressure burst: {c['requests']:,} GETs over {c['connections']} connections, "
            f"{c['rounds']} round(s), medians; slow100 = apply_batch 100x slower",
            f"{'config':<28} {'req/s':>7} {'p99 ms':>7} {'stall max':>9} {'p99':>6} "
            f"{'eng lag':>8} {'pending':>8} {'MB':>5} {'RSS+MB':>7} {'recorded/sent':>15} "
            f"{'drops':>6} {'catch-up':>8} {'CPU us':>6} {'quit':>5}",
        ]
        for r in summary["table"]:
            catchup = f"{r['catchup_s']:.1f}s" if r["catchup_s"] is not None else "never"
            lines.append(
                f"{r['config']:<28} {r['rps']:>7,.0f} {r['p99_ms']:>7.1f} "
                f"{r['stall_max_ms']:>7.0f}ms {r['stall_p99_ms']:>5.1f} "
                f"{r['engine_lag_max_ms']:>6.0f}ms {r['pending_peak']:>8,.0f} "
                f"{_mb(r['pending_peak_mb']):>5} {r['rss_growth_mb']:>7.0f} "
                f"{r['flows_recorded']:>7,.0f}/{r['sent']:<7,.0f} "
                f"{r['flow_dropped'] + r['low_dropped']:>6,.0f} {catchup:>8} "
                f"{r['cpu_us_per_req']:>6.0f} {r['quit_after_burst_s']:>5.2f}"
            )
    stop = summary.get("stop")
    if stop:
        catchup = _mb(stop["catchup_s"])
        lines.append(
            f"Window stopped (SIGSTOP) for {stop['stopped_s']:.1f} s under a load as fast as it "
            f"goes, {c['connections']} connections, {stop['rounds']} round(s): "
            f"{stop['rps']:,.0f} req/s ({stop['rps_ratio']:.2f}x the window running), "
            f"p99 {stop['p99_ms']:.1f} ms ({stop['p99_ratio']:.2f}x), "
            f"{stop['flows_recorded']:,.0f} flows for {stop['sent']:,.0f} requests "
            f"({stop['lost_total']} lost in all rounds), table caught up {catchup} s after "
            f"SIGCONT; engine RSS {stop['engine_rss_before_mb']:.0f} -> "
            f"{stop['engine_rss_stopped_mb']:.0f} MiB while stopped"
        )
    if summary["fixed"]:
        top = _median([m["rps"] for m in summary["headless_max"]])
        lines += [
            f"Fixed load: {c['fixed_share']:.0%} of headless's maximum ({top:,.0f} req/s), "
            f"{c['fixed_seconds']:g} s, {c['connections']} connections; p99 from each "
            "request's slot (from its send)",
            f"{'config':<28} {'offered':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>14} "
            f"{'max ms':>8} {'stall max':>9} {'eng lag':>8}",
        ]
        for r in summary["fixed"]:
            p99 = f"{r['p99_corrected_ms']:.1f} ({r['p99_ms']:.1f})"
            lines.append(
                f"{r['config']:<28} {r['offered_rps']:>8,.0f} {r['rps']:>7,.0f} "
                f"{r['p50_corrected_ms']:>7.1f} {p99:>14} {r['max_corrected_ms']:>8.0f} "
                f"{r['stall_max_ms']:>7.0f}ms {r['engine_lag_max_ms']:>6.0f}ms"
            )
    for key, value in summary["ratios"].items():
        lines.append(f"  {key}: {value:.2f}")
    for failure in summary["failures"]:
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="1 round (the burst keeps its 50,000 requests)"
    )
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=150.0,
        help="cap on one burst: high enough for the slowest configuration (about 700 req/s "
        "with the GUI slowed 100x on the engine's thread) to send all 50,000 on 2 cores",
    )
    parser.add_argument("--catchup-timeout", type=float, default=120.0)
    parser.add_argument(
        "--stop-seconds", type=float, default=10.0, help="how long the window is stopped"
    )
    parser.add_argument(
        "--fixed-seconds", type=float, default=10.0, help="length of each fixed-rate load"
    )
    parser.add_argument("--configs", type=lambda s: s.split(","), default=list(DEFAULT_CONFIGS))
    parser.add_argument("--parts", type=lambda s: s.split(","), default=list(PARTS))
    parser.add_argument("--fixed-configs", type=lambda s: s.split(","), default=list(FIXED_CONFIGS))
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 1
    unknown = [c for c in args.configs + args.fixed_configs if c.partition("#")[0] not in CONFIGS]
    unknown += [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(
            f"unknown configs or parts: {', '.join(unknown)} "
            f"(known: {', '.join(CONFIGS)}; {', '.join(PARTS)})"
        )
    summary = bench(args)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
