"""Engine benchmark: Inspector headless against a bare h11 proxy, side by side.

The machine this runs on is small and shared, so absolute figures drift from
minute to minute; what holds is a comparison made in one run. The driver
starts the loopback origin once, then for each round starts the bare proxy
and Inspector (``--headless -q``) one after the other, alternating which goes
first, and puts each through the same loads: keep-alive GETs over 10 and 50
connections, a new connection per request over 10, and one 64 MiB download.
Each round also loads the origin directly, which is the load generator's own
ceiling. Every figure reported is the median over the rounds, and the ratio
Inspector / bare is taken per round and then its median.

Beside req/s and latency it reports each proxy's CPU time per request (from
``/proc``), which the machine's noise disturbs much less than req/s, and how
many upstream connections each proxy opened (pool churn shows there).

Run as ``python -m tests.bench.bench_engine [--rounds N] [--duration S]
[--json PATH] [--client auto|wrk|builtin]``; the defaults take about two
minutes. Keep the machine otherwise idle: on 2 cores the proxy, the origin
and the load generator already share the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.output import publish

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 0.85
"""Inspector must reach at least this fraction of the bare proxy's req/s."""
DOWNLOAD_SIZE = 64 * 1024 * 1024
LOADS: tuple[tuple[str, int, bool], ...] = (
    ("c=10 keep-alive", 10, False),
    ("c=50 keep-alive", 50, False),
    ("c=10 new conn", 10, True),
)
DIRECT_LOADS = LOADS[:2]
PROXIES = ("bare", "inspector", "naive")
"""``naive`` is Inspector with ``--relay naive``: every event handled as it
is emitted, the baseline the coalescing relay is measured against."""
READY_TIMEOUT = 20.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """A subprocess that prints ``listening on HOST:PORT`` when ready."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.address = self._wait_ready()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("listening on "):
                return line.split()[-1]
            if not line and self.proc.poll() is not None:
                break
        if self.proc.poll() is None:
            self.proc.kill()
        _out, err = self.proc.communicate()
        raise RuntimeError(f"{self.name} did not start: {err.strip()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@contextlib.contextmanager
def started(name: str, argv: list[str]) -> Iterator[ServerProcess]:
    server = ServerProcess(name, argv)
    try:
        yield server
    finally:
        server.stop()


def proxy_argv(name: str) -> list[str]:
    if name == "bare":
        return [sys.executable, "-m", "tests.bench.bare_proxy"]
    script = Path(sys.executable).parent / "inspector"
    launcher = [str(script)] if script.exists() else [sys.executable, "-m", "inspector"]
    argv = [*launcher, "--headless", "--listen", "127.0.0.1:0", "-q"]
    return [*argv, "--relay", "naive"] if name == "naive" else argv


def loadgen(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.loadgen", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"loadgen {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def origin_stats(origin: str) -> dict[str, int]:
    with urllib.request.urlopen(f"http://{origin}/__stats", timeout=5) as response:
        stats: dict[str, int] = json.loads(response.read())
    return stats


@dataclass
class Options:
    rounds: int
    duration: float
    warmup: float
    client: str
    procs: int


@dataclass
class Samples:
    """Per-round figures of one proxy (or direct) under one load."""

    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    client: str = ""


def run_load(
    opts: Options, origin: str, target: str | None, connections: int, close: bool
) -> dict[str, Any]:
    args = [
        "--origin",
        origin,
        *(["--proxy", target] if target else ["--direct"]),
        "-c",
        str(connections),
        "-d",
        str(opts.duration),
        "--warmup",
        str(opts.warmup),
        "--client",
        opts.client,
        "--procs",
        str(opts.procs),
    ]
    if close:
        args.append("--close")
    return loadgen(args)


def bench(opts: Options) -> dict[str, Any]:
    samples: dict[tuple[str, str], Samples] = {}
    downloads: dict[str, list[float]] = {name: [] for name in ("direct", *PROXIES)}
    upstream_conns: dict[str, list[int]] = {name: [] for name in PROXIES}
    rounds: list[dict[str, Any]] = []

    def record(load: str, who: str, result: dict[str, Any], cpu: float | None) -> None:
        entry = samples.setdefault((load, who), Samples())
        entry.rps.append(result["rps"])
        entry.p50_ms.append(result["p50_ms"])
        entry.p99_ms.append(result["p99_ms"])
        entry.errors.append(result["errors"])
        entry.client = result["client"]
        if cpu is not None and result["total_requests"]:
            entry.cpu_us.append(cpu / result["total_requests"] * 1e6)

    with started("origin", [sys.executable, "-m", "tests.bench.origin"]) as origin_proc:
        origin = origin_proc.address
        for index in range(opts.rounds):
            order = PROXIES if index % 2 == 0 else PROXIES[::-1]
            log: dict[str, Any] = {"round": index + 1, "order": list(order), "results": []}
            for name, connections, close in DIRECT_LOADS:
                result = run_load(opts, origin, None, connections, close)
                record(name, "direct", result, None)
                log["results"].append({"proxy": "direct", "load": name, **result})
            direct_dl = loadgen(["--origin", origin, "--direct", "--download", str(DOWNLOAD_SIZE)])
            downloads["direct"].append(direct_dl["mb_s"])
            for proxy in order:
                conns_before = origin_stats(origin)["connections"]
                with started(proxy, proxy_argv(proxy)) as server:
                    for name, connections, close in LOADS:
                        cpu_before = server.cpu_seconds()
                        result = run_load(opts, origin, server.address, connections, close)
                        cpu = server.cpu_seconds() - cpu_before
                        record(name, proxy, result, cpu)
                        log["results"].append(
                            {"proxy": proxy, "load": name, "cpu_s": cpu, **result}
                        )
                    dl = loadgen(
                        [
                            "--origin",
                            origin,
                            "--proxy",
                            server.address,
                            "--download",
                            str(DOWNLOAD_SIZE),
                        ]
                    )
                    downloads[proxy].append(dl["mb_s"])
                # The /__stats request itself opens one connection.
                upstream_conns[proxy].append(origin_stats(origin)["connections"] - conns_before - 1)
            rounds.append(log)
            print(f"round {index + 1}/{opts.rounds} done", file=sys.stderr, flush=True)
    return summarize(opts, samples, downloads, upstream_conns, rounds)


def git_revision() -> str:
    """The commit measured, marked ``+dirty`` when the work tree differs."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{rev}+dirty" if dirty else rev or "unknown"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(
    opts: Options,
    samples: dict[tuple[str, str], Samples],
    downloads: dict[str, list[float]],
    upstream_conns: dict[str, list[int]],
    rounds: list[dict[str, Any]],
) -> dict[str, Any]:
    table = []
    for load, _connections, _close in LOADS:
        for who in ("direct", *PROXIES):
            entry = samples.get((load, who))
            if entry is None:
                continue
            row: dict[str, Any] = {
                "load": load,
                "proxy": who,
                "client": entry.client,
                "rps": _median(entry.rps),
                "rps_min": min(entry.rps),
                "rps_max": max(entry.rps),
                "p50_ms": _median(entry.p50_ms),
                "p99_ms": _median(entry.p99_ms),
                "cpu_us_per_req": _median(entry.cpu_us) if entry.cpu_us else None,
                "errors": sum(entry.errors),
            }
            if who in ("inspector", "naive"):
                bare = samples[(load, "bare")]
                row["ratio"] = _median([i / b for i, b in zip(entry.rps, bare.rps, strict=True)])
            if who == "inspector":
                naive = samples.get((load, "naive"))
                if naive is not None:
                    row["vs_naive"] = _median(
                        [i / n for i, n in zip(entry.rps, naive.rps, strict=True)]
                    )
            table.append(row)
    dl = {who: _median(values) for who, values in downloads.items()}
    dl_ratio = _median(
        [i / b for i, b in zip(downloads["inspector"], downloads["bare"], strict=True)]
    )
    return {
        "config": {
            "rounds": opts.rounds,
            "duration": opts.duration,
            "warmup": opts.warmup,
            "client": opts.client,
            "procs": opts.procs,
            "download_bytes": DOWNLOAD_SIZE,
            "target_ratio": TARGET_RATIO,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "wrk": shutil.which("wrk"),
            "revision": git_revision(),
        },
        "table": table,
        "download_mb_s": dl,
        "download_ratio": dl_ratio,
        "upstream_connections_per_run": {
            who: _median([float(n) for n in values]) for who, values in upstream_conns.items()
        },
        "rounds": rounds,
    }


def render(summary: dict[str, Any]) -> str:
    config = summary["config"]
    clients = sorted({row["client"] for row in summary["table"]})
    lines = [
        f"Engine benchmark: {config['rounds']} rounds x {config['duration']:g} s "
        f"(+{config['warmup']:g} s warm-up), client {', '.join(clients)}, "
        f"{config['cpus']} CPUs, revision {config['revision']}; medians over rounds",
        "",
        f"{'load':<16} {'proxy':<10} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'CPU us/req':>10} {'insp/bare':>9}",
    ]
    last_load = ""
    for row in summary["table"]:
        load = row["load"] if row["load"] != last_load else ""
        last_load = row["load"]
        spread = f"{row['rps_min']:,.0f}-{row['rps_max']:,.0f}"
        cpu = f"{row['cpu_us_per_req']:.0f}" if row["cpu_us_per_req"] is not None else "-"
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else ""
        errors = f"  ({row['errors']} errors)" if row["errors"] else ""
        lines.append(
            f"{load:<16} {row['proxy']:<10} {row['rps']:>8,.0f} {spread:>15} "
            f"{row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {cpu:>10} {ratio:>9}{errors}"
        )
    dl = summary["download_mb_s"]
    lines += [
        "",
        f"64 MiB download, MiB/s: direct {dl['direct']:,.0f}, bare {dl['bare']:,.0f}, "
        f"inspector {dl['inspector']:,.0f} (insp/bare {summary['download_ratio']:.2f})",
    ]
    conns = summary["upstream_connections_per_run"]
    lines.append(
        f"upstream connections opened per proxy run: bare {conns['bare']:,.0f}, "
        f"inspector {conns['inspector']:,.0f}"
    )
    lines.append("")
    target = config["target_ratio"]
    for row in summary["table"]:
        if "vs_naive" in row:
            lines.append(
                f"{row['load']}: coalescing relay at {row['vs_naive']:.2f}x the naive relay's req/s"
            )
    for row in summary["table"]:
        if "ratio" in row and row["proxy"] == "inspector":
            verdict = "meets" if row["ratio"] >= target else "MISSES"
            lines.append(
                f"{row['load']}: Inspector at {row['ratio']:.0%} of bare req/s, {verdict} "
                f"the target (within {1 - target:.0%} of bare)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per load")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds per load")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "builtin"),
        default="auto",
        help="load generator: wrk when on PATH (auto), or the built-in one",
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=1,
        help="built-in client processes; keep 1 on a 2-core machine, where more starve the "
        "proxies and make them look alike",
    )
    parser.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    args = parser.parse_args(argv)
    if args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH")
    opts = Options(args.rounds, args.duration, args.warmup, args.client, args.procs)
    started_at = time.monotonic()
    summary = bench(opts)
    summary["config"]["elapsed_s"] = round(time.monotonic() - started_at, 1)
    whole_run = f"(whole run {summary['config']['elapsed_s']:g} s)"
    publish(summary, f"{render(summary)}\n{whole_run}", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
