"""Session files: what recording every flow costs the proxy, what a crash
loses, and how long HAR export, import and opening a large session take.

Four parts (``--parts``), against one loopback origin (``origin.py``):

Capture. ``inspector --headless -q`` without and with ``--session FILE``
(a new file each time), taking turns within each round (the order rotates),
each warmed with a short unrecorded load and then put through wrk at 10 and
50 keep-alive connections (``loadgen.py``, small responses). Medians over
rounds of req/s, p99 and the proxy's CPU per request; the ratio on / off is
taken per round. Afterwards the flows in the file (``inspector session
info``) are compared with the requests the proxy answered (the origin's own
count, ``/__stats``): half a second after the load (two commit intervals
of the writer, so the last quarter second is in), and again after the
proxy stopped (SIGINT, which commits what is left).

Kill. The proxy with a session is warmed, then wrk loads it (50
connections, as fast as it goes) and after ``--kill-after`` seconds the
proxy is killed with SIGKILL; wrk is stopped (SIGINT) just after. The
flows the file gained are compared with the responses wrk received (and
the requests the origin answered); the difference is the flows lost, and
divided by the rate of the load, the seconds of traffic they were (the
writer commits every 0.25 s, so about a quarter second is expected). While
the load runs, the requests answered and the flows in the file are polled
every 0.25 s: how far the writer fell behind, and the longest the file went
without a commit.

HAR. A session of ``--har-flows`` flows is written directly in this
process with ``Session.write`` (copies of flows the proxy recorded in a
short capture, each with its own id, path and times, bodies included: a
capture of that size through the proxy would take minutes), then
``inspector har export`` writes it as HAR and ``inspector har import``
reads that back into a new session: wall time and peak RSS of each command
(``ru_maxrss`` of that child, from ``wait4``: what ``/usr/bin/time -v``
reports). Then the proxy's latency during an export: headless with a
session is offered half its maximum (measured with ``burst.py`` as fast as
it goes, 50 connections) at a fixed rate (``burst.py --rate``), alone and
while ``inspector har export`` of the big session runs beside it, taking
turns (alone, export, alone, export at idle priority as the app runs it
(``chrt --idle 0``), alone, ...; the target is the app's); p99
from each request's slot (corrected for coordinated omission) and from its
send; each ratio with / without is taken against the mean of the loads
alone just before and after. The load starts once the export is under way
and is made short enough to end before it (``covered`` says whether it
did).

Open. A session of ``--open-flows`` flows (written as above) is opened the
way ``inspector --open FILE`` opens it in its engine: a child process
builds the engine (``inspector.engine.build(EngineOptions(confdir,
open_path=FILE))``, with the engine process's collector and allocator
settings) and runs ``service.reader.load(service.store)`` while a task on
the same loop samples the store's length every millisecond: the time until
the first 100 flows are in the store (the window's first screen) and until
all are, and the engine's RSS afterwards. The window's own memory for the
rows is not measured here (``bench_model.py`` measures a window with a
million rows).

Run as ``python -m tests.bench.bench_session [--quick] [--rounds N]
[--parts capture,kill,har,open] [--har-flows N] [--open-flows N]
[--json PATH]``. The defaults take about five and a half minutes on 2 cores
(under 1 GB of disk, in a temporary directory removed at the end);
``--quick`` (1 round, 20,000 and 100,000 flows) under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.bench import targets
from tests.bench.bench_engine import Options, git_revision, origin_stats, run_load
from tests.bench.bench_pressure import UNLIMITED, _burst
from tests.bench.loadgen import _WRK_SCRIPT, USER_AGENT
from tests.bench.output import publish

PARTS = ("capture", "kill", "har", "open")
LOADS: tuple[tuple[str, int], ...] = (("c=10 keep-alive", 10), ("c=50 keep-alive", 50))
MODES = ("off", "on")
"""The proxy without and with ``--session``."""
KILL_CONNECTIONS = 50
FIXED_CONNECTIONS = 50
FIXED_SHARE = 0.5
"""The fixed load, as a share of the proxy's maximum."""
EXPORT_HEAD_START = 1.0
"""Seconds the export runs before the fixed load starts (its start-up and
first reads are not what is measured)."""
VARIANTS: dict[str, list[str]] = {"export": [], "export, idle": ["chrt", "--idle", "0"]}
"""The export as a shell runs it, and as the app runs it (``gui.cli_job``:
at idle priority)."""
"""How the export runs beside the fixed load: as the command runs, and at a
lower priority (a measured alternative, not what the command does)."""
TEMPLATES = 2000
"""Recorded flows copied to build the big sessions."""
FIRST_SCREEN = 100
COMMIT_WAIT = 0.5
"""Two of the writer's commit intervals."""
_TIMES = (
    "t_start",
    "t_dns",
    "t_connected",
    "t_upstream_connected",
    "t_request_sent",
    "t_response_start",
    "t_end",
)


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


# Running inspector's commands


def run_measured(argv: list[str], timeout: float = 900.0) -> dict[str, Any]:
    """Run a command to its end: exit code, output, wall seconds, and its
    peak RSS (``ru_maxrss`` from ``wait4``, what ``/usr/bin/time -v``
    reports as "Maximum resident set size")."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=targets.ROOT, stdout=out, stderr=err)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return {
        "code": proc.returncode,
        "stdout": stdout.strip(),
        "stderr": stderr.strip()[-2000:],
        "seconds": elapsed,
        "maxrss_mib": usage.ru_maxrss / 1024,
    }


def inspector(*args: str, timeout: float = 900.0) -> dict[str, Any]:
    result = run_measured([*targets.inspector_launcher(), *args], timeout)
    if result["code"] != 0:
        raise RuntimeError(f"inspector {' '.join(args)}: exit {result['code']}: {result['stderr']}")
    return result


def session_flows(path: Path) -> int:
    """``flows N`` of ``inspector session info``."""
    out = inspector("session", "info", str(path), timeout=60)["stdout"]
    line = next(ln for ln in out.splitlines() if ln.startswith("flows "))
    return int(line.split()[1])


def origin_requests(origin: str) -> int:
    """Requests the origin has answered, this question included (``/__stats``
    counts itself)."""
    return int(origin_stats(origin)["requests"])


def answered_since(origin: str, before: int) -> int:
    """Requests the origin answered since ``origin_requests`` gave ``before``,
    besides the two questions."""
    return origin_requests(origin) - before - 1


def start_headless(confdir: Path, session: Path | None) -> targets.Proc:
    extra = ["--session", str(session)] if session is not None else []
    return targets.start(targets.Launch("headless", extra=extra, confdir=confdir))


# Building big sessions


class Templates:
    """Flows the proxy recorded (bodies included), copied to build big
    sessions quickly: each copy gets its own id, path and times."""

    def __init__(self) -> None:
        self.flows: list[Any] = []

    def ensure(self, origin: str, work: Path, opts: Options) -> None:
        if self.flows:
            return
        path = work / "templates.inspector"
        proc = start_headless(work / "conf", path)
        try:
            run_load(Options(1, 1.0, 0.0, opts.client, 1), origin, proc.address, 10, False)
        finally:
            targets.stop(proc)
        self.take(path)

    def take(self, path: Path) -> None:
        from inspector.core.session import Session

        with Session.open(path) as session:
            for flow in session.flows():
                self.flows.append(flow)
                if len(self.flows) >= TEMPLATES:
                    break
        if not self.flows:
            raise RuntimeError(f"no flows recorded in {path}")

    def write(self, path: Path, count: int) -> float:
        """A new session of ``count`` flows at ``path``; the seconds it took."""
        from inspector.core.session import Session

        started = time.perf_counter()
        spacing = 0.001
        base = time.time() - count * spacing
        n = 0
        with Session.create(path) as session:
            while n < count:
                batch = self.flows[: min(len(self.flows), count - n)]
                for flow in batch:
                    n += 1
                    flow.id = n
                    shift = base + n * spacing - flow.t_start
                    for name in _TIMES:
                        value = getattr(flow, name)
                        if value is not None:
                            setattr(flow, name, value + shift)
                    flow.request.target = f"/item/{n}"
                session.write(batch)
        return time.perf_counter() - started


# Capture, session on and off


def _cpu_us(cpu: float, result: dict[str, Any]) -> float | None:
    total = result.get("total_requests")
    return cpu / total * 1e6 if total else None


def run_capture(
    args: argparse.Namespace, opts: Options, origin: str, work: Path, templates: Templates
) -> dict[str, Any]:
    samples: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    checks: list[dict[str, Any]] = []
    failures: list[str] = []
    for index in range(args.rounds):
        order = list(MODES) if index % 2 == 0 else list(reversed(MODES))
        for mode in order:
            session = work / f"capture-{index + 1}.inspector" if mode == "on" else None
            try:
                before = origin_requests(origin)
                proc = start_headless(work / "conf", session)
            except (RuntimeError, TimeoutError, OSError) as exc:
                failures.append(f"capture round {index + 1} {mode}: {exc}")
                continue
            stopped = False
            try:
                warm = Options(1, max(opts.duration / 2, 0.5), 0.0, opts.client, 1)
                run_load(warm, origin, proc.address, 50, False)
                for load, connections in LOADS:
                    cpu = proc.cpu_seconds()
                    result = run_load(opts, origin, proc.address, connections, False)
                    cpu = proc.cpu_seconds() - cpu
                    samples.setdefault((load, mode), {})[index] = {
                        **result,
                        "cpu_us_per_req": _cpu_us(cpu, result),
                    }
                if session is not None:
                    time.sleep(COMMIT_WAIT)
                    answered = answered_since(origin, before)
                    live = session_flows(session)
                    targets.stop(proc)
                    stopped = True
                    final = session_flows(session)
                    checks.append(
                        {
                            "round": index + 1,
                            "answered": answered,
                            "flows_live": live,
                            "missing_live": answered - live,
                            "flows_stopped": final,
                            "missing_stopped": answered - final,
                        }
                    )
                    if index == 0:
                        templates.take(session)
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                failures.append(f"capture round {index + 1} {mode}: {exc}")
            finally:
                if not stopped:
                    targets.stop(proc)
        print(f"bench_session: capture round {index + 1}/{args.rounds}", file=sys.stderr)
    table = []
    ratios: dict[str, float] = {}
    ratios_all: dict[str, list[float]] = {}
    for load, _c in LOADS:
        for mode in MODES:
            runs = samples.get((load, mode), {})
            if not runs:
                continue
            cpu_us = [r["cpu_us_per_req"] for r in runs.values() if r["cpu_us_per_req"]]
            table.append(
                {
                    "load": load,
                    "mode": mode,
                    "rps": _median([r["rps"] for r in runs.values()]),
                    "rps_all": [r["rps"] for r in runs.values()],
                    "p50_ms": _median([r["p50_ms"] for r in runs.values()]),
                    "p99_ms": _median([r["p99_ms"] for r in runs.values()]),
                    "cpu_us_per_req": _median(cpu_us) if cpu_us else None,
                    "errors": sum(r["errors"] for r in runs.values()),
                }
            )
        on, off = samples.get((load, "on"), {}), samples.get((load, "off"), {})
        per_round = [on[n]["rps"] / off[n]["rps"] for n in on if n in off and off[n]["rps"]]
        ratios[load] = _median(per_round)
        ratios_all[load] = per_round
    return {
        "table": table,
        "ratio_on_off": ratios,
        "ratio_on_off_all": ratios_all,
        "checks": checks,
        "failures": failures,
    }


# kill -9 at full load


def _wrk_script(origin: str) -> str:
    return _WRK_SCRIPT.format(
        path=f"http://{origin}/", authority=origin, user_agent=USER_AGENT, close_line=""
    )


class Backlog:
    """Samples, every ``POLL`` seconds, the requests answered and the flows
    in the file: how far the writer is behind, and how long the file went
    without a commit."""

    POLL = 0.25

    def __init__(self, origin: str, path: Path, base_origin: int, base_flows: int, t0: float):
        self.origin, self.path, self.t0 = origin, path, t0
        self.base_origin, self.base_flows = base_origin, base_flows
        self.samples: list[tuple[float, int, int]] = []
        """(seconds into the load, requests answered, flows in the file)."""
        self.backlog_max = 0

    def run_until(self, deadline: float) -> None:
        from inspector.core.session import Session

        while (now := time.monotonic()) < deadline:
            answered = answered_since(self.origin, self.base_origin)
            with Session.open(self.path) as session:
                flows = session.info().flows - self.base_flows
            self.samples.append((round(now - self.t0, 3), answered, flows))
            self.backlog_max = max(self.backlog_max, answered - flows)
            time.sleep(max(0.0, min(self.POLL, deadline - time.monotonic())))

    def commit_gap_max(self, end: float) -> float:
        """The longest the file went without gaining flows (to ``end``), to
        the resolution of the polling."""
        changes = [0.0]
        for (_t0, _a0, before), (t, _a, flows) in itertools.pairwise(self.samples):
            if flows != before:
                changes.append(t)
        changes.append(end - self.t0)
        return max(b - a for a, b in itertools.pairwise(changes))


def kill_once(
    args: argparse.Namespace, opts: Options, origin: str, work: Path, n: int
) -> dict[str, Any]:
    session = work / f"kill-{n}.inspector"
    proc = start_headless(work / "conf", session)
    script = work / "kill.lua"
    script.write_text(_wrk_script(origin))
    try:
        run_load(Options(1, 1.0, 0.3, opts.client, 1), origin, proc.address, 50, False)
        time.sleep(COMMIT_WAIT)
        base_flows = session_flows(session)
        base_origin = origin_requests(origin)
        wrk = subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{KILL_CONNECTIONS}",
                "-d60s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                f"http://{proc.address}/",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        watch = Backlog(origin, session, base_origin, base_flows, started)
        watch.run_until(started + args.kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        proc.proc.wait()
        time.sleep(0.1)
        wrk.send_signal(signal.SIGINT)
        out, err = wrk.communicate(timeout=30)
    finally:
        proc.kill()
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {err.strip()[-500:]}")
    responses = int(json.loads(line[8:])["requests"])
    answered_origin = answered_since(origin, base_origin)
    flows = session_flows(session) - base_flows
    loaded_s = killed - started
    rate = responses / loaded_s if loaded_s > 0 else float("nan")
    lost = responses - flows
    return {
        "run": n,
        "loaded_s": loaded_s,
        "responses": responses,
        "origin_answered": answered_origin,
        "flows_in_file": flows,
        "rps": rate,
        "lost": lost,
        "lost_s": lost / rate if rate else float("nan"),
        "lost_vs_origin": answered_origin - flows,
        "backlog_max": watch.backlog_max,
        "backlog_max_s": watch.backlog_max / rate if rate else float("nan"),
        "commit_gap_max_s": watch.commit_gap_max(killed),
        "samples": watch.samples,
    }


def run_kill(args: argparse.Namespace, opts: Options, origin: str, work: Path) -> dict[str, Any]:
    runs, failures = [], []
    if not shutil.which("wrk"):
        return {"runs": [], "failures": ["kill: wrk is not installed"]}
    for n in range(1, args.kill_rounds + 1):
        try:
            runs.append(kill_once(args, opts, origin, work, n))
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
            failures.append(f"kill run {n}: {exc}")
    return {
        "runs": runs,
        "lost": _median([r["lost"] for r in runs]),
        "lost_max": max((r["lost"] for r in runs), default=None),
        "lost_s": _median([r["lost_s"] for r in runs]),
        "lost_s_max": max((r["lost_s"] for r in runs), default=None),
        "rps": _median([r["rps"] for r in runs]),
        "backlog_max": max((r["backlog_max"] for r in runs), default=None),
        "commit_gap_max_s": max((r["commit_gap_max_s"] for r in runs), default=None),
        "failures": failures,
    }


# HAR export and import, and the proxy during an export


def _fixed(origin: str, proxy: str, rate: float, seconds: float) -> dict[str, Any]:
    return _burst(origin, proxy, int(rate * seconds), FIXED_CONNECTIONS, seconds * 3, rate)


def run_fixed(
    args: argparse.Namespace,
    origin: str,
    work: Path,
    source: Path,
    export_s: float,
) -> dict[str, Any]:
    """The proxy at half its maximum, alone and beside an export of
    ``source`` (from a shell, and at idle priority as the app runs it),
    taking turns: alone, export, alone, export at idle priority, ..."""
    seconds = max(1.0, min(args.fixed_seconds, export_s * 0.75 - EXPORT_HEAD_START))
    variants = {"export": []} if args.no_nice or not shutil.which("chrt") else dict(VARIANTS)
    proc = start_headless(work / "conf", work / "fixed.inspector")
    runs: list[dict[str, Any]] = []
    """Every load in order, alone or beside an export."""
    try:
        _burst(origin, proc.address, 2000, FIXED_CONNECTIONS, 30)
        top = _burst(origin, proc.address, UNLIMITED, FIXED_CONNECTIONS, args.max_seconds)
        rate = top["rps"] * FIXED_SHARE
        runs.append({"with": "alone", **_fixed(origin, proc.address, rate, seconds)})
        for index in range(args.fixed_rounds):
            for variant, prefix in variants.items():
                out = work / f"fixed-{index}.har"
                argv = [*prefix, *targets.inspector_launcher(), "har", "export", str(source)]
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    export = pool.submit(run_measured, [*argv, str(out)])
                    time.sleep(EXPORT_HEAD_START)
                    load = _fixed(origin, proc.address, rate, seconds)
                    covered = not export.done()
                    done = export.result()
                out.unlink(missing_ok=True)
                if done["code"] != 0:
                    raise RuntimeError(f"har export: exit {done['code']}: {done['stderr']}")
                runs.append(
                    {"with": variant, **load, "covered": covered, "export_s": done["seconds"]}
                )
                runs.append({"with": "alone", **_fixed(origin, proc.address, rate, seconds)})
                print(
                    f"bench_session: fixed {rate:,.0f} req/s, beside {variant}: p99 "
                    f"{load['p99_corrected_ms']:.1f} ms (alone before "
                    f"{runs[-3]['p99_corrected_ms']:.1f}, after "
                    f"{runs[-1]['p99_corrected_ms']:.1f})",
                    file=sys.stderr,
                )
    finally:
        targets.stop(proc)
    keys = ("rps", "p50_ms", "p99_ms", "p99_corrected_ms", "max_ms", "errors")
    alone = [r for r in runs if r["with"] == "alone"]
    result: dict[str, Any] = {
        "max_rps": top["rps"],
        "rate": rate,
        "seconds": seconds,
        "alone": {k: _median([a[k] for a in alone]) for k in keys},
        "runs": runs,
    }
    for variant in variants:
        ratios, raw, beside = [], [], []
        for n, run in enumerate(runs):
            if run["with"] != variant:
                continue
            # Against the mean of the loads alone just before and after.
            base = statistics.mean(r["p99_corrected_ms"] for r in (runs[n - 1], runs[n + 1]))
            base_raw = statistics.mean(r["p99_ms"] for r in (runs[n - 1], runs[n + 1]))
            ratios.append(run["p99_corrected_ms"] / base if base else float("nan"))
            raw.append(run["p99_ms"] / base_raw if base_raw else float("nan"))
            beside.append(run)
        result[variant] = {
            **{k: _median([b[k] for b in beside]) for k in keys},
            "covered": all(b["covered"] for b in beside),
            "export_under_load_s": _median([b["export_s"] for b in beside]),
            "p99_ratio": _median(ratios),
            "p99_ratio_all": ratios,
            "p99_raw_ratio": _median(raw),
        }
    return result


def run_har(
    args: argparse.Namespace, opts: Options, origin: str, work: Path, templates: Templates
) -> dict[str, Any]:
    templates.ensure(origin, work, opts)
    source = work / "har-source.inspector"
    build_s = templates.write(source, args.har_flows)
    har = work / "export.har"
    exported = inspector("har", "export", str(source), str(har))
    har_mib = har.stat().st_size / 2**20
    imported_path = work / "imported.inspector"
    imported = inspector("har", "import", str(har), str(imported_path))
    har.unlink()
    result: dict[str, Any] = {
        "flows": args.har_flows,
        "build": "Session.write in the benchmark process",
        "build_s": build_s,
        "session_mib": source.stat().st_size / 2**20,
        "har_mib": har_mib,
        "export": {k: exported[k] for k in ("seconds", "maxrss_mib", "stdout")},
        "import": {k: imported[k] for k in ("seconds", "maxrss_mib", "stdout")},
        "imported_session_mib": imported_path.stat().st_size / 2**20,
        "failures": [],
    }
    imported_path.unlink()
    print(
        f"bench_session: HAR {args.har_flows:,} flows: export {exported['seconds']:.1f} s, "
        f"import {imported['seconds']:.1f} s",
        file=sys.stderr,
    )
    try:
        result["fixed"] = run_fixed(args, origin, work, source, exported["seconds"])
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        result["failures"].append(f"fixed load: {exc}")
    source.unlink()
    return result


# Opening a big session


def _status_bytes(pid: str = "self") -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def load_child(path: Path, confdir: Path) -> int:
    """In the child: build a viewer engine on ``path`` and load it."""
    from inspector.core import gcpolicy
    from inspector.core.memory import pin_mmap_threshold
    from inspector.engine import EngineOptions, build
    from inspector.proxy.loops import loop_factory

    gcpolicy.install()
    pin_mmap_threshold()
    rss_start = _status_bytes()["VmRSS"]

    async def main() -> dict[str, Any]:
        started = time.perf_counter()
        service, _certs = build(EngineOptions(confdir, open_path=path))
        built = time.perf_counter() - started
        store, reader = service.store, service.reader
        assert reader is not None
        first: float | None = None
        finished = False

        async def sample() -> None:
            nonlocal first
            while not finished:
                if first is None and len(store) >= FIRST_SCREEN:
                    first = time.perf_counter() - started
                await asyncio.sleep(0.001)

        sampler = asyncio.create_task(sample())
        await reader.load(store)
        total = time.perf_counter() - started
        finished = True
        await sampler
        status = _status_bytes()
        await reader.close()
        return {
            "build_s": built,
            "first_s": first if first is not None else total,
            "all_s": total,
            "flows": len(store),
            "failed": reader.failed,
            "rss_start": rss_start,
            "rss": status["VmRSS"],
            "hwm": status["VmHWM"],
        }

    with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
        result = runner.run(main())
    print("LOADED " + json.dumps(result), flush=True)
    return 0


def run_open(
    args: argparse.Namespace, opts: Options, origin: str, work: Path, templates: Templates
) -> dict[str, Any]:
    templates.ensure(origin, work, opts)
    path = work / "open.inspector"
    build_s = templates.write(path, args.open_flows)
    size = path.stat().st_size
    argv = [sys.executable, "-m", "tests.bench.bench_session", "--load-child", str(path)]
    argv += ["--confdir", str(work / "conf")]
    done = run_measured(argv)
    path.unlink()
    line = next((ln for ln in done["stdout"].splitlines() if ln.startswith("LOADED ")), None)
    if done["code"] != 0 or line is None:
        raise RuntimeError(f"loading failed (exit {done['code']}): {done['stderr']}")
    loaded = json.loads(line[7:])
    mib = 2**20
    return {
        "flows": args.open_flows,
        "build": "Session.write in the benchmark process",
        "build_s": build_s,
        "session_mib": size / mib,
        "first_s": loaded["first_s"],
        "all_s": loaded["all_s"],
        "loaded": loaded["flows"],
        "failed": loaded["failed"],
        "rss_start_mib": loaded["rss_start"] / mib,
        "rss_mib": loaded["rss"] / mib,
        "hwm_mib": loaded["hwm"] / mib,
        "bytes_per_flow": (loaded["rss"] - loaded["rss_start"]) / max(loaded["flows"], 1),
        "child_s": done["seconds"],
        "failures": [],
    }


# The run


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="inspector-bench-session-"))
    try:
        yield path
    finally:
        if keep:
            print(f"bench_session: kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    opts = Options(args.rounds, args.duration, args.warmup, args.client, 1)
    summary: dict[str, Any] = {"failures": []}
    templates = Templates()
    origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
    origin = origin_proc.address
    parts = {
        "capture": lambda work: run_capture(args, opts, origin, work, templates),
        "kill": lambda work: run_kill(args, opts, origin, work),
        "har": lambda work: run_har(args, opts, origin, work, templates),
        "open": lambda work: run_open(args, opts, origin, work, templates),
    }
    try:
        with workdir(args.keep) as work:
            for name in PARTS:
                if name not in args.parts:
                    continue
                started = time.monotonic()
                try:
                    summary[name] = parts[name](work)
                    summary["failures"] += summary[name].pop("failures", [])
                except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                    summary["failures"].append(f"{name}: {exc}")
                elapsed = time.monotonic() - started
                print(f"bench_session: {name} done in {elapsed:.0f} s", file=sys.stderr)
    finally:
        origin_proc.stop()
    return summary


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [
        f"Session files: revision {c['revision']}, {c['rounds']} round(s) x {c['duration']:g} s "
        f"loads, medians"
    ]
    cap = summary.get("capture")
    if cap:
        lines.append(
            f"{'capture (headless)':<20}{'session':>8}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'CPU us':>8}{'on/off':>8}"
        )
        for row in cap["table"]:
            ratio = cap["ratio_on_off"].get(row["load"]) if row["mode"] == "on" else None
            cpu = row["cpu_us_per_req"]
            lines.append(
                f"{row['load']:<20}{row['mode']:>8}{row['rps']:>9,.0f}{row['p50_ms']:>8.2f}"
                f"{row['p99_ms']:>8.2f}{cpu if cpu else float('nan'):>8.0f}"
                f"{f'{ratio:.2f}' if ratio is not None else '':>8}"
            )
        for check in cap["checks"]:
            lines.append(
                f"  round {check['round']}: answered {check['answered']:,}, in the file "
                f"{check['flows_live']:,} {COMMIT_WAIT:g} s after the load (missing "
                f"{check['missing_live']}), {check['flows_stopped']:,} after SIGINT (missing "
                f"{check['missing_stopped']})"
            )
    kill = summary.get("kill")
    if kill and kill["runs"]:
        for run in kill["runs"]:
            lines.append(
                f"kill -9 at full load (c={KILL_CONNECTIONS}), run {run['run']}: "
                f"{run['responses']:,} responses in {run['loaded_s']:.1f} s "
                f"({run['rps']:,.0f}/s), origin answered {run['origin_answered']:,}, "
                f"file holds {run['flows_in_file']:,}: lost {run['lost']} "
                f"({run['lost_s']:.2f} s of traffic; {run['lost_vs_origin']} against the origin); "
                f"the writer was behind by up to {run['backlog_max']:,} flows "
                f"({run['backlog_max_s']:.1f} s), the longest without a commit "
                f"{run['commit_gap_max_s']:.1f} s"
            )
    har = summary.get("har")
    if har:
        e, i = har["export"], har["import"]
        lines.append(
            f"HAR, {har['flows']:,} flows (session {har['session_mib']:.0f} MiB, built in "
            f"{har['build_s']:.1f} s by {har['build']}): export {e['seconds']:.1f} s, peak RSS "
            f"{e['maxrss_mib']:.0f} MiB ({har['har_mib']:.0f} MiB of HAR); import "
            f"{i['seconds']:.1f} s, peak RSS {i['maxrss_mib']:.0f} MiB"
        )
        lines.append(f"  '{e['stdout']}', '{i['stdout']}'")
        f = har.get("fixed")
        if f:
            lines.append(
                f"  proxy at {f['rate']:,.0f} req/s ({FIXED_SHARE:.0%} of its "
                f"{f['max_rps']:,.0f}), {f['seconds']:.1f} s loads: p99 from slot (from send) "
                f"alone {f['alone']['p99_corrected_ms']:.1f} ({f['alone']['p99_ms']:.1f}) ms"
            )
            for variant in VARIANTS:
                v = f.get(variant)
                if v is None:
                    continue
                lines.append(
                    f"    beside {variant + ':':<17} {v['p99_corrected_ms']:.1f} "
                    f"({v['p99_ms']:.1f}) ms, {v['p99_ratio']:.2f}x ({v['p99_raw_ratio']:.2f}x) "
                    f"alone; the export took {v['export_under_load_s']:.1f} s"
                    f"{'' if v['covered'] else ' (ended before the load did)'}"
                )
    op = summary.get("open")
    if op:
        lines.append(
            f"Open {op['flows']:,} flows (session {op['session_mib']:.0f} MiB, built in "
            f"{op['build_s']:.1f} s): first {FIRST_SCREEN} in the store {op['first_s']:.3f} s, "
            f"all {op['all_s']:.1f} s ({op['loaded']:,} loaded); engine RSS "
            f"{op['rss_mib']:,.0f} MiB (peak {op['hwm_mib']:,.0f}, "
            f"{op['bytes_per_flow']:,.0f} B a flow)"
        )
    for failure in summary["failures"]:
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, smaller sessions")
    parser.add_argument("--rounds", type=int, default=3, help="capture rounds")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds a capture load")
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--client", choices=("auto", "wrk", "builtin"), default="auto")
    parser.add_argument("--parts", type=lambda s: s.split(","), default=list(PARTS))
    parser.add_argument("--kill-rounds", type=int, default=2)
    parser.add_argument("--kill-after", type=float, default=8.0, help="seconds of load")
    parser.add_argument("--har-flows", type=int, default=200_000)
    parser.add_argument("--fixed-rounds", type=int, default=2)
    parser.add_argument("--fixed-seconds", type=float, default=10.0)
    parser.add_argument("--no-nice", action="store_true", help="skip the export at idle priority")
    parser.add_argument("--max-seconds", type=float, default=5.0, help="the maximum's load")
    parser.add_argument("--open-flows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--load-child", metavar="SESSION", help=argparse.SUPPRESS)
    parser.add_argument("--confdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_child:
        return load_child(Path(args.load_child), Path(args.confdir))
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)} (known: {', '.join(PARTS)})")
    if args.quick:
        args.rounds, args.duration, args.kill_rounds, args.fixed_rounds = 1, 1.0, 1, 1
        args.kill_after = min(args.kill_after, 4.0)
        args.har_flows = min(args.har_flows, 20_000)
        args.open_flows = min(args.open_flows, 100_000)
        args.max_seconds = min(args.max_seconds, 2.0)
    started = time.monotonic()
    summary = bench(args)
    summary["config"] = {
        "rounds": args.rounds,
        "duration": args.duration,
        "warmup": args.warmup,
        "client": args.client,
        "parts": args.parts,
        "kill_rounds": args.kill_rounds,
        "kill_after": args.kill_after,
        "har_flows": args.har_flows,
        "fixed_rounds": args.fixed_rounds,
        "open_flows": args.open_flows,
        "revision": git_revision(),
        "cpus": os.cpu_count(),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
