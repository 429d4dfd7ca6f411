"""Forward-proxy throughput of every mode side by side, with the peer.

One loopback origin serves the whole run. Each round starts each mode in
turn (the order rotates from round to round, so no mode always runs first
or last), warms it with a short unrecorded load, and puts it through the
same loads from ``loadgen.py`` (wrk with a Lua script for absolute-form
requests when installed, else the built-in asyncio client): small GETs over
10 and 50 keep-alive connections, and over 10 connections with a new
connection per request; then a 64 MiB download (the median of three).
For the modes in ``--idle-modes`` it then opens ``--idle`` keep-alive
client connections (``idle_conns.py``: each has made one request and stays
open, as a browser's do) and runs the keep-alive loads again while they are
held, then once more after closing them; the ratio with / without idle is
taken against the mean of the runs before and after. The origin is loaded
directly too, as the client's own ceiling.

In the desktop modes a 5 ms timer on the GUI thread measures how long the
GUI event loop went without a turn during each load (``gui_target.py``),
and CPU per request counts the window's process and the engine's together.
Figures are medians over rounds; a ratio between two modes is taken per
round (same minute, same machine state) and its median reported. Modes:
``bare`` (minimal h11 proxy, the floor), ``headless``, ``desktop`` (the app
offscreen with live table and pressure panel, its engine in a process of
its own, as shipped), ``desktop-thread`` and ``desktop-qasync`` (the engine
on a thread of the window's process, or on its loop: the layouts kept for
comparison), ``desktop-naive`` (the process layout with the naive relay),
and ``mitmdump`` with ``--peers mitmproxy``.

Run as ``python -m tests.bench.bench_proxy [--quick] [--rounds N]
[--duration S] [--peers mitmproxy] [--json PATH]``.
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

from tests.bench import peers, targets
from tests.bench.bench_engine import Options, git_revision, loadgen, run_load
from tests.bench.output import publish

DOWNLOAD_SIZE = 64 * 1024 * 1024
LOADS: tuple[tuple[str, int, bool], ...] = (
    ("c=10 keep-alive", 10, False),
    ("c=50 keep-alive", 50, False),
    ("c=10 new conn", 10, True),
)
IDLE_LOADS = LOADS[:2]
DOWNLOADS = 3
DEFAULT_MODES = (
    "bare",
    "headless",
    "desktop",
    "desktop-thread",
    "desktop-qasync",
    "desktop-naive",
)
DEFAULT_IDLE_MODES = ("headless", "desktop", "desktop-thread", "desktop-qasync")


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def _ratio(a: dict[int, float], b: dict[int, float]) -> float:
    """Median over the rounds both have of a / b (figures keyed by round,
    so a mode that failed in one round cannot pair one round's figure
    with another's)."""
    return _median([a[n] / b[n] for n in a if b.get(n)])


def idle_label(load: str, idle: int) -> str:
    return f"{load} +{idle} idle"


def after_label(load: str) -> str:
    """The load run again without idle connections once they are closed:
    the ratio with / without idle is taken against the mean of the runs
    before and after, which cancels any drift of the process over time."""
    return f"{load} (again, idle closed)"


class Recorder:
    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], dict[str, list[float]]] = {}
        self.by_round: dict[tuple[str, str], dict[int, float]] = {}
        """(load, mode) -> round -> req/s, for ratios taken per round."""
        self.clients: dict[str, str] = {}
        self.round = 0

    def _entry(self, load: str, mode: str) -> dict[str, list[float]]:
        keys = ("rps", "p50_ms", "p99_ms", "cpu_us", "errors", "stall_max_ms", "stall_p99_ms")
        return self.samples.setdefault((load, mode), {key: [] for key in keys})

    def add(
        self,
        load: str,
        mode: str,
        result: dict[str, Any],
        cpu: float | None,
        stall: dict[str, float] | None = None,
    ) -> None:
        entry = self._entry(load, mode)
        if stall is not None:
            entry["stall_max_ms"].append(stall["gap_max_ms"])
            entry["stall_p99_ms"].append(stall["gap_p99_ms"])
        entry["rps"].append(result["rps"])
        self.by_round.setdefault((load, mode), {})[self.round] = result["rps"]
        entry["p50_ms"].append(result["p50_ms"])
        entry["p99_ms"].append(result["p99_ms"])
        entry["errors"].append(result["errors"])
        if cpu is not None and result.get("total_requests"):
            entry["cpu_us"].append(cpu / result["total_requests"] * 1e6)
        self.clients[load] = result.get("client", "")

    def missing(self, load: str, mode: str) -> None:
        entry = self._entry(load, mode)
        for key in ("rps", "p50_ms", "p99_ms"):
            entry[key].append(float("nan"))
        entry["errors"].append(1)


def _measured(
    opts: Options, origin: str, proc: targets.Proc, connections: int, close: bool
) -> tuple[dict[str, Any], float, dict[str, float] | None]:
    """One load on ``proc``: the result, its CPU seconds, and for a desktop
    mode the GUI event loop's stalls during the load."""
    gui = targets.split_mode(proc.name)[0] in targets.DESKTOP_MODES
    if gui:
        proc.send("mark")
        proc.expect("mark ", 30)
    cpu = proc.cpu_seconds()
    result = run_load(opts, origin, proc.address, connections, close)
    cpu = proc.cpu_seconds() - cpu
    stall = None
    if gui:
        proc.send("report")
        stall = json.loads(proc.expect("report ", 30))["stall"]
    return result, cpu, stall


def _download(origin: str, proxy: str | None) -> float:
    """MiB/s of one 64 MiB download, the median of ``DOWNLOADS`` (one
    takes a fraction of a second, so a single one is at the mercy of
    whatever else the machine does in that moment)."""
    args = ["--origin", origin, "--download", str(DOWNLOAD_SIZE)]
    args += ["--proxy", proxy] if proxy else ["--direct"]
    return statistics.median(float(loadgen(args)["mb_s"]) for _ in range(DOWNLOADS))


def _warm(opts: Options, origin: str, proc: targets.Proc) -> None:
    """Load a freshly started proxy once, unrecorded: a young process runs
    slower for its first few thousand requests (allocator and collector
    settling, pools filling), which would otherwise count against whichever
    load comes first, and make the later idle-connection loads look better
    than the loads without."""
    warm = Options(1, max(opts.duration / 2, 0.5), 0.0, opts.client, opts.procs)
    run_load(warm, origin, proc.address, LOADS[1][1], False)


def _hold_idle(origin: str, proxy: str, count: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.idle_conns",
            "--origin",
            origin,
            "--proxy",
            proxy,
            "-n",
            str(count),
        ],
        cwd=targets.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline()
    if not line.startswith("ready "):
        holder.kill()
        raise RuntimeError(f"idle connections not opened: {line!r}")
    return holder, json.loads(line[6:])


def _release_idle(holder: subprocess.Popen[str]) -> dict[str, Any]:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    line = holder.stdout.readline()
    holder.wait(10)
    return json.loads(line[7:]) if line.startswith("closed ") else {}


def bench(args: argparse.Namespace) -> dict[str, Any]:
    opts = Options(args.rounds, args.duration, args.warmup, args.client, 1)
    modes = list(args.modes)
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-proxy-"))
    launch_extra: dict[str, Any] = {"confdir": work / "inspector"}
    peer_versions: dict[str, str] = {}
    failures: list[str] = []
    if "mitmproxy" in args.peers:
        peers.add_mitmdump(work, modes, launch_extra, peer_versions, failures)
    rec = Recorder()
    downloads: dict[str, dict[int, float]] = {m: {} for m in ["direct", *modes]}
    idle_info: list[dict[str, Any]] = []
    with_idle = [m for m in args.idle_modes if m in modes] if args.idle else []

    origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
    origin = origin_proc.address
    try:
        for index in range(args.rounds):
            rec.round = index
            shift = index % len(modes)
            order = modes[shift:] + modes[:shift]
            for name, connections, close in LOADS[:2]:
                rec.add(name, "direct", run_load(opts, origin, None, connections, close), None)
            downloads["direct"][index] = _download(origin, None)
            for mode in order:
                try:
                    launch = targets.Launch(
                        mode, bench=["--probe-ms", str(args.probe_ms)], **launch_extra
                    )
                    proc = targets.start(launch)
                except (RuntimeError, TimeoutError) as exc:
                    failures.append(f"round {index + 1} {mode}: {exc}")
                    for name, _c, _close in LOADS:
                        rec.missing(name, mode)
                    continue
                try:
                    _warm(opts, origin, proc)
                    for name, connections, close in LOADS:
                        rec.add(name, mode, *_measured(opts, origin, proc, connections, close))
                    downloads[mode][index] = _download(origin, proc.address)
                    if mode in with_idle:
                        holder, opened = _hold_idle(origin, proc.address, args.idle)
                        try:
                            for name, connections, close in IDLE_LOADS:
                                rec.add(
                                    idle_label(name, args.idle),
                                    mode,
                                    *_measured(opts, origin, proc, connections, close),
                                )
                        finally:
                            closed = _release_idle(holder)
                        idle_info.append({"round": index + 1, "mode": mode, **opened, **closed})
                        for name, connections, close in IDLE_LOADS:
                            rec.add(
                                after_label(name),
                                mode,
                                *_measured(opts, origin, proc, connections, close),
                            )
                except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                    # OSError covers TimeoutError: a desktop target that stops answering.
                    failures.append(f"round {index + 1} {mode}: {exc}")
                finally:
                    targets.stop(proc)
            print(f"bench_proxy: round {index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    finally:
        origin_proc.stop()
    return summarize(args, rec, downloads, modes, with_idle, idle_info, failures, peer_versions)


def summarize(
    args: argparse.Namespace,
    rec: Recorder,
    downloads: dict[str, dict[int, float]],
    modes: list[str],
    with_idle: list[str],
    idle_info: list[dict[str, Any]],
    failures: list[str],
    peer_versions: dict[str, str],
) -> dict[str, Any]:
    loads = [name for name, _c, _close in LOADS]
    loads += [idle_label(name, args.idle) for name, _c, _close in IDLE_LOADS] if with_idle else []
    table = []
    for load in loads:
        for mode in ["direct", *modes]:
            entry = rec.samples.get((load, mode))
            if entry is None:
                continue
            row: dict[str, Any] = {
                "load": load,
                "mode": mode,
                "client": rec.clients.get(load, ""),
                "rps": _median(entry["rps"]),
                "rps_all": entry["rps"],
                "p50_ms": _median(entry["p50_ms"]),
                "p99_ms": _median(entry["p99_ms"]),
                "cpu_us_per_req": _median(entry["cpu_us"]) if entry["cpu_us"] else None,
                "errors": int(sum(entry["errors"])),
            }
            if entry["stall_max_ms"]:
                row["stall_max_ms"] = _median(entry["stall_max_ms"])
                row["stall_p99_ms"] = _median(entry["stall_p99_ms"])
            for other in ("headless", "mitmdump", "bare"):
                base = rec.by_round.get((load, other))
                mine = rec.by_round.get((load, mode), {})
                if base is not None and other != mode and mode != "direct":
                    row[f"vs_{other}"] = _ratio(mine, base)
            if " idle" in load:
                plain = rec.by_round.get((load.split(" +")[0], mode))
                again = rec.by_round.get((after_label(load.split(" +")[0]), mode), {})
                if plain is not None:
                    base = {n: (v + again[n]) / 2 if n in again else v for n, v in plain.items()}
                    if again:
                        row["rps_no_idle_after"] = _median(list(again.values()))
                    row["vs_no_idle"] = _ratio(rec.by_round.get((load, mode), {}), base)
            table.append(row)
    dl = {m: _median(list(v.values())) for m, v in downloads.items()}
    dl_vs_direct = {
        m: _ratio(v, downloads["direct"]) for m, v in downloads.items() if m != "direct"
    }
    return {
        "config": {
            "rounds": args.rounds,
            "duration": args.duration,
            "warmup": args.warmup,
            "client": args.client,
            "idle": args.idle,
            "modes": modes,
            "idle_modes": with_idle,
            "peers": peer_versions,
            "revision": git_revision(),
        },
        "table": table,
        "download_mb_s": dl,
        "download_vs_direct": dl_vs_direct,
        "idle_connections": idle_info,
        "failures": failures,
    }


def render(summary: dict[str, Any]) -> str:
    config = summary["config"]
    lines = [
        f"Proxy throughput: {config['rounds']} rounds x {config['duration']:g} s, "
        f"medians; revision {config['revision']}",
        f"{'load':<26} {'mode':<20} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU us':>7} {'/headless':>9} {'/mitmdump':>9} {'/no idle':>8}",
    ]
    for row in summary["table"]:

        def ratio(key: str, r: dict[str, Any] = row) -> str:
            return f"{r[key]:.2f}" if key in r and r[key] == r[key] else ""

        cpu = f"{row['cpu_us_per_req']:.0f}" if row["cpu_us_per_req"] else "-"
        errors = f" ({row['errors']} errors)" if row["errors"] else ""
        lines.append(
            f"{row['load']:<26} {row['mode']:<20} {row['rps']:>8,.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {cpu:>7} {ratio('vs_headless'):>9} "
            f"{ratio('vs_mitmdump'):>9} {ratio('vs_no_idle'):>8}{errors}"
        )
    dl = summary["download_mb_s"]
    lines.append(
        "64 MiB download MiB/s: "
        + ", ".join(
            f"{m} {v:,.0f}"
            + (f" ({summary['download_vs_direct'][m]:.2f}x direct)" if m != "direct" else "")
            for m, v in dl.items()
        )
    )
    for failure in summary["failures"]:
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s loads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--client", choices=("auto", "wrk", "builtin"), default="auto")
    parser.add_argument("--modes", type=lambda s: s.split(","), default=list(DEFAULT_MODES))
    parser.add_argument(
        "--idle-modes", type=lambda s: s.split(","), default=list(DEFAULT_IDLE_MODES)
    )
    parser.add_argument("--idle", type=int, default=500, help="idle connections (0: skip)")
    parser.add_argument(
        "--probe-ms",
        type=int,
        default=5,
        help="desktop modes: GUI stall probe interval (0: none); 5 ms costs ~0.5%% CPU",
    )
    parser.add_argument("--peers", type=lambda s: [p for p in s.split(",") if p], default=[])
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 1.0, 0.3
    started = time.monotonic()
    summary = bench(args)
    summary["config"]["elapsed_s"] = round(time.monotonic() - started, 1)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
