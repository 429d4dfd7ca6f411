"""GUI pressure: a burst of small GETs with the desktop app on screen.

For each configuration (relay or naive relay, engine on its own thread or
on the qasync loop, and the relay with the GUI consumer slowed 100x) the
app is started offscreen through ``gui_target.py``, warmed with a few
hundred requests, told to ``mark``, and then ``burst.py`` sends
``--requests`` GETs over ``--connections`` keep-alive connections as fast
as the proxy answers. The driver then waits until the store holds every
flow sent and the table shows every row (the catch-up: how long the window
lags behind the proxy), takes the app's report and quits it.

Per run: the proxy's req/s and latency (client side); the GUI event loop's
worst and p99 gap (a 1 ms timer on the GUI thread); delivery lag (age of
the oldest pending event at a flush, worst seen); pending events at peak,
in entries and in bytes (entries x the calibrated cost of one); RSS growth;
flows recorded and table rows against requests sent; relay drops and
resyncs; the catch-up time; and the time from quit to exit right after.

Run as ``python -m tests.bench.bench_pressure [--quick] [--requests N]
[--rounds N] [--configs relay-thread,...] [--json PATH]``. A configuration
may carry ``#MODULE[:ARG]`` to run the app with ``gui_target.py --patch``,
so a change can be measured beside the app as it is.
"""

from __future__ import annotations

import argparse
import json
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

CONFIGS: dict[str, tuple[str, list[str]]] = {
    "relay-thread": ("desktop", []),
    "naive-thread": ("desktop-naive", []),
    "relay-qasync": ("desktop-qasync", []),
    "naive-qasync": ("desktop-qasync-naive", []),
    "relay-thread-slow100": ("desktop", ["--slow-gui", "100"]),
    "relay-thread-slow100-sleep": ("desktop", ["--slow-gui", "100", "--slow-mode", "sleep"]),
}
"""name -> (mode, gui_target options). ``slow100`` spins for the extra time
(a consumer busy in Python, holding the GIL as real GUI work does);
``slow100-sleep`` sleeps instead (a consumer that is merely late)."""
DEFAULT_CONFIGS = tuple(CONFIGS)
WARMUP_REQUESTS = 500


def _burst(origin: str, proxy: str, n: int, connections: int, limit: float) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.burst",
            "--origin",
            origin,
            "--proxy",
            proxy,
            "-n",
            str(n),
            "-c",
            str(connections),
            "--max-seconds",
            str(limit),
        ],
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


def run_one(config: str, origin: str, confdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    base, sep, tag = config.partition("#")
    mode, bench_opts = CONFIGS[base]
    mode = mode + sep + tag
    launch = targets.Launch(
        mode, bench=["--probe-ms", "1", "--calibrate", *bench_opts], confdir=confdir
    )
    proc = targets.start(launch)
    try:
        _burst(origin, proc.address, WARMUP_REQUESTS, 10, 30)
        targets.wait_until(lambda: _status(proc)["rows"] >= WARMUP_REQUESTS, 30, 0.1)
        before = _status(proc)
        proc.send("mark")
        proc.expect("mark ", 30)
        cpu = proc.cpu_seconds()
        burst = _burst(origin, proc.address, args.requests, args.connections, args.max_seconds)
        burst_cpu = proc.cpu_seconds() - cpu
        ended = time.monotonic()
        want = before["flows"] + burst["sent"]
        last: dict[str, Any] = {}

        def caught_up() -> bool:
            nonlocal last
            last = _status(proc)
            return last["flows"] >= want and last["rows"] >= last["flows"] and last["depth"] == 0

        settled = targets.wait_until(caught_up, args.catchup_timeout, 0.05)
        catchup = time.monotonic() - ended
        proc.send("report")
        report: dict[str, Any] = json.loads(proc.expect("report ", 60))
        quit_s = targets.quit_gui(proc)
    except BaseException:
        proc.kill()
        raise
    stall = report["stall"]
    recorded = report["flows_recorded"] - before["flows"]
    per_entry = report.get("pending_bytes_per_entry")
    return {
        "config": config,
        "mode": mode,
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
        "gc_max_ms": report["gc"]["max_ms"],
        "gc_full": report["gc"]["full_collections"],
        "gc_total_ms": report["gc"]["total_ms"],
        "lag_max_ms": report["lag_max_ms"],
        "pending_peak": report["depth_max"],
        "pending_bytes_per_entry": per_entry,
        "pending_peak_mb": (report["pending_bytes_peak"] or 0) / 2**20,
        "rss_growth_mb": (report["rss_max"] - report["rss_at_mark"]) / 2**20,
        "flows_recorded": recorded,
        "table_rows": report["table_rows"] - before["rows"],
        "recorded_equals_sent": recorded == burst["sent"],
        "rows_equal_flows": report["table_rows"] == report["flows_recorded"],
        "flow_dropped": report["flow_dropped"],
        "low_dropped": report["low_dropped"],
        "resyncs": report["resyncs"],
        "relay_errors": report["relay_errors"],
        "caught_up": settled,
        "catchup_s": catchup if settled else None,
        "quit_after_burst_s": quit_s,
        "last_status": last,
    }


def _median(values: list[Any]) -> Any:
    values = [v for v in values if v is not None and v == v]
    if not values:
        return None
    if all(isinstance(v, bool) for v in values):
        return all(values)
    return statistics.median(values)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-pressure-"))
    confdir = work / "inspector"
    runs: list[dict[str, Any]] = []
    failures: list[str] = []
    origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
    try:
        for index in range(args.rounds):
            configs = list(args.configs)
            shift = index % len(configs)
            for config in configs[shift:] + configs[:shift]:
                try:
                    result = run_one(config, origin_proc.address, confdir, args)
                except (RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
                    failures.append(f"round {index + 1} {config}: {exc}")
                    continue
                result["round"] = index + 1
                runs.append(result)
                catchup = result["catchup_s"]
                print(
                    f"bench_pressure: {config}: {result['rps']:,.0f} req/s, stall max "
                    f"{result['stall_max_ms']:.0f} ms, catch-up "
                    + (f"{catchup:.1f} s" if catchup is not None else "never"),
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        origin_proc.stop()
    return summarize(args, runs, failures)


def summarize(
    args: argparse.Namespace, runs: list[dict[str, Any]], failures: list[str]
) -> dict[str, Any]:
    table = []
    for config in args.configs:
        mine = [r for r in runs if r["config"] == config]
        if not mine:
            continue
        keys = [k for k in mine[0] if k not in ("config", "mode", "round", "last_status")]
        row: dict[str, Any] = {"config": config, "mode": mine[0]["mode"], "rounds": len(mine)}
        for key in keys:
            row[key] = _median([r[key] for r in mine])
        # The worst round is what a target on a maximum must hold for.
        row["stall_max_ms_worst"] = max(r["stall_max_ms"] for r in mine)
        row["recorded_equals_sent"] = all(r["recorded_equals_sent"] for r in mine)
        table.append(row)
    by_round: dict[tuple[int, str], dict[str, Any]] = {(r["round"], r["config"]): r for r in runs}

    def ratio(a: str, b: str, key: str) -> float | None:
        values = [
            by_round[(n, a)][key] / by_round[(n, b)][key]
            for n in range(1, args.rounds + 1)
            if (n, a) in by_round and (n, b) in by_round and by_round[(n, b)][key]
        ]
        return _median(values)

    ratios = {
        "rps relay/naive, thread": ratio("relay-thread", "naive-thread", "rps"),
        "rps relay/naive, qasync": ratio("relay-qasync", "naive-qasync", "rps"),
        "rps relay thread/qasync": ratio("relay-thread", "relay-qasync", "rps"),
        "p99 slowed/normal": ratio("relay-thread-slow100", "relay-thread", "p99_ms"),
        "rps slowed/normal": ratio("relay-thread-slow100", "relay-thread", "rps"),
        "p99 slowed (sleep)/normal": ratio("relay-thread-slow100-sleep", "relay-thread", "p99_ms"),
        "rps slowed (sleep)/normal": ratio("relay-thread-slow100-sleep", "relay-thread", "rps"),
    }
    return {
        "config": {
            "requests": args.requests,
            "connections": args.connections,
            "rounds": args.rounds,
            "max_seconds": args.max_seconds,
            "revision": git_revision(),
        },
        "table": table,
        "ratios": {k: v for k, v in ratios.items() if v is not None},
        "runs": runs,
        "failures": failures,
    }


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [
        f"GUI pressure burst: {c['requests']:,} GETs over {c['connections']} connections, "
        f"{c['rounds']} round(s), medians; slow100 = apply_batch 100x slower",
        f"{'config':<26} {'req/s':>7} {'p99 ms':>7} {'stall max':>9} {'p99':>6} {'lag max':>8} "
        f"{'pending':>8} {'MB':>6} {'RSS+MB':>7} {'recorded/sent':>15} {'drops':>6} "
        f"{'catch-up':>8} {'quit':>5}",
    ]
    for r in summary["table"]:
        catchup = f"{r['catchup_s']:.1f}s" if r["catchup_s"] is not None else "never"
        lines.append(
            f"{r['config']:<26} {r['rps']:>7,.0f} {r['p99_ms']:>7.1f} {r['stall_max_ms']:>7.0f}ms "
            f"{r['stall_p99_ms']:>5.1f} {r['lag_max_ms']:>6.0f}ms {r['pending_peak']:>8,.0f} "
            f"{r['pending_peak_mb']:>6.1f} {r['rss_growth_mb']:>7.0f} "
            f"{r['flows_recorded']:>7,.0f}/{r['sent']:<7,.0f} "
            f"{r['flow_dropped'] + r['low_dropped']:>6,.0f} {catchup:>8} "
            f"{r['quit_after_burst_s']:>5.2f}"
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
        "with the GUI slowed 100x) to send all 50,000 on 2 cores, so that none is cut short",
    )
    parser.add_argument("--catchup-timeout", type=float, default=120.0)
    parser.add_argument("--configs", type=lambda s: s.split(","), default=list(DEFAULT_CONFIGS))
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 1
    unknown = [c for c in args.configs if c.partition("#")[0] not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs: {', '.join(unknown)} (known: {', '.join(CONFIGS)})")
    summary = bench(args)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
