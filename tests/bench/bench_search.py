"""Searching flows: the filter language over the table's rows, and the body
search of a session file, what each costs the window and the proxy.

Three parts (``--parts``):

Rows. A million summary rows (``--rows``) are put straight into the
window's ``RowMirror`` in this process (``synthetic.py``'s methods,
statuses, types and hosts; durations with a tail past 500 ms, one path in
97 a login), shown by the app's ``FlowTableModel`` in its ``FlowTable`` in
an offscreen window on a qasync loop, as ``bench_model.py`` shows them.
Each of ``EXPRESSIONS`` is set as the table's filter and run as the
model's sliced job to its end, the filter cleared between them: the time
to the result and the longest gap of the loop meanwhile (its ``GapProbe``,
a 1 ms timer).

Bodies. A session of ``--flows`` flows is written with ``Session.write``
(as ``bench_session.py`` builds its big sessions): response bodies of a
few KB, JSON or HTML, a third of them gzip or br encoded, and a ``NEEDLE``
in about one in a hundred (the number planted is counted). Then:

- ``inspector session search FILE body:NEEDLE`` from a shell: its wall
  time and peak RSS, and the ids it printed, which must be exactly the
  flows planted.
- The window's search: the file's rows (``Session.rows``) in a mirror
  behind the table, and ``BodySearch.narrow`` of the same filter with
  ``session_of`` giving the file, set as the table's filter as the window
  sets it; the helper runs as the app runs it (``chrt --idle 0``). The
  time until the search is over and every match is in the table, and the
  longest gap of the loop meanwhile.
- The proxy beside it: headless with a session offered half its maximum
  at a fixed rate (``bench_session.py``'s method), alone and while the
  search runs at idle priority, taking turns (alone, search, alone, ...);
  each p99 (from each request's slot) against the mean of the loads alone
  just before and after.

Run as ``python -m tests.bench.bench_search [--quick] [--rows N]
[--flows N] [--rounds N] [--parts rows,bodies,proxy] [--json PATH]``. The
defaults take about three minutes on 2 cores; ``--quick`` (200,000 rows,
50,000 flows, one round) about half a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import brotli
import PySide6  # noqa: F401  (before qasync, which binds to the Qt already imported)
import qasync
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from inspector import engine
from inspector.core import gcpolicy
from inspector.core import summary as S
from inspector.core.filter import parse_filter
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.headers import PackedHeaders
from inspector.core.memory import pin_mmap_threshold
from inspector.core.mirror import RowMirror
from inspector.core.session import Session
from inspector.gui.body_search import BodySearch
from inspector.gui.cli_job import low_priority
from inspector.gui.engine_link import EngineLink
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from inspector.gui.launch import inspector_command
from inspector.gui.search_status import SearchStatusBar
from inspector.gui.tasks import ErrorReporter, GuiTasks
from tests.bench import synthetic, targets
from tests.bench.bench_engine import git_revision
from tests.bench.bench_model import GapProbe
from tests.bench.bench_pressure import UNLIMITED, _burst
from tests.bench.bench_session import (
    FIXED_CONNECTIONS,
    FIXED_SHARE,
    run_measured,
    start_headless,
    workdir,
)
from tests.bench.output import publish

PARTS = ("rows", "bodies", "proxy")
EXPRESSIONS = (
    "status:4xx",
    "host:api -type:image duration>500ms",
    '(method:POST or method:PUT) status:5xx or "login"',
)
NEEDLE = "quokka-7f3e"
"""The word planted in some bodies; nothing else in the session has it."""
SEARCH = f"body:{NEEDLE}"
NEEDLE_SHARE = 0.01
COMPRESSED_SHARE = 1 / 3
"""Bodies gzip or br encoded (half each)."""
VARIANTS = 24
"""Distinct bodies of each kind (JSON or HTML, encoding, needle or not)."""
GAP_TARGET_MS = 50.0
P99_TARGET = 1.2
"""The proxy's p99 beside the search / alone."""
HEAD_START = 1.0
"""Seconds the search runs before the fixed load starts."""
SEARCH_TIMEOUT = 900.0
CONTENT_TYPES = {"json": b"application/json", "html": b"text/html; charset=utf-8"}
_WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
)


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


# Rows for the table


def summary_rows(count: int, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    """``count`` finished flows' summary rows, ids from 1."""
    rng = random.Random(seed)
    methods, statuses, hosts = synthetic._METHODS, synthetic._STATUSES, synthetic._HOSTS
    kinds = [t.decode().split(";")[0] for t in synthetic._TYPES]
    base = 1_700_000_000.0
    complete = S.STATE_CODES[FlowState.COMPLETE]
    for n in range(1, count + 1):
        https = n % 3 != 0
        path = (
            f"/v{n % 7}/login?next={n}"
            if n % 97 == 0
            else f"/v{n % 7}/items/{rng.randrange(1_000_000)}?page={n % 50}"
        )
        yield (
            n,
            base + n * 0.001,
            methods[rng.randrange(len(methods))],
            "https" if https else "http",
            hosts[rng.randrange(len(hosts))],
            443 if https else 80,
            path,
            statuses[rng.randrange(len(statuses))],
            kinds[rng.randrange(len(kinds))],
            0,
            rng.randrange(50_000),
            rng.expovariate(5.0),  # mean 200 ms, one in twelve past 500 ms
            complete,
            "",
            "",
            S.FLAG_HAS_RESPONSE,
            "",
            0,
            0,
            (),
        )


def fill_mirror(mirror: RowMirror, rows: Iterator[tuple[Any, ...]], chunk: int = 5000) -> None:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            mirror.apply(batch)
            batch = []
    if batch:
        mirror.apply(batch)


def show(model: FlowTableModel, search: BodySearch | None = None) -> QWidget:
    """The table (and the search's status line) in an offscreen window."""
    window = QWidget()
    layout = QVBoxLayout(window)
    if search is not None:
        layout.addWidget(SearchStatusBar(search))
    layout.addWidget(FlowTable(model))
    window.resize(1280, 800)
    window.show()
    return window


async def filter_rows(count: int, probe: GapProbe) -> dict[str, Any]:
    mirror = RowMirror()
    started = time.perf_counter()
    fill_mirror(mirror, summary_rows(count))
    model = FlowTableModel(mirror)
    built = time.perf_counter() - started
    window = show(model)
    await asyncio.sleep(0.1)
    steps: dict[str, dict[str, Any]] = {}
    for expr in EXPRESSIONS:
        model.set_filter(parse_filter(expr))
        steps[expr] = {
            **await probe.run_until(lambda: not model.job_running),
            "rows": model.rowCount(),
        }
        model.set_filter(parse_filter(""))
        await probe.run_until(lambda: not model.job_running)
        assert model.rowCount() == count, model.rowCount()
        print(
            f"bench_search: {expr}: {steps[expr]['seconds']:.2f} s, worst gap "
            f"{steps[expr]['gap_max_ms']:.0f} ms",
            file=sys.stderr,
        )
    window.close()
    return {"rows": count, "build_s": built, "steps": steps}


# A session with bodies


def _text(rng: random.Random, size: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(size // 6))


def _body(rng: random.Random, kind: str, needle: bool) -> bytes:
    size = rng.randrange(1500, 6000)
    if kind == "json":
        items = [
            {"id": rng.randrange(10**6), "name": _text(rng, 40), "note": _text(rng, 120)}
            for _ in range(max(1, size // 220))
        ]
        if needle:
            items[rng.randrange(len(items))]["note"] += f" {NEEDLE}"
        return json.dumps({"items": items, "page": rng.randrange(50)}).encode()
    paragraphs = [f"<p>{_text(rng, 200)}</p>" for _ in range(max(1, size // 220))]
    if needle:
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), f"<p>{NEEDLE}</p>")
    return f"<html><body>{''.join(paragraphs)}</body></html>".encode()


def _encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=6)
    if encoding == "br":
        return bytes(brotli.compress(body, quality=5))
    return body


class Bodies:
    """``VARIANTS`` bodies of each kind, encoding and needle, made once."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.pool: dict[tuple[str, str, bool], list[bytes]] = {}
        for kind in CONTENT_TYPES:
            for encoding in ("", "gzip", "br"):
                for needle in (False, True):
                    self.pool[kind, encoding, needle] = [
                        _encode(_body(rng, kind, needle), encoding) for _ in range(VARIANTS)
                    ]


def write_session(path: Path, count: int, seed: int = 3) -> dict[str, Any]:
    """A session of ``count`` flows with bodies; what was planted."""
    rng = random.Random(seed)
    bodies = Bodies()
    hosts = synthetic._HOSTS
    base = time.time() - count * 0.001
    planted: list[int] = []
    encoded = 0
    started = time.perf_counter()
    with Session.create(path) as session:
        batch: list[Flow] = []
        for n in range(1, count + 1):
            kind = "json" if rng.random() < 0.5 else "html"
            pick = rng.random()
            encoding = (
                ""
                if pick >= COMPRESSED_SHARE
                else ("gzip" if pick < COMPRESSED_SHARE / 2 else "br")
            )
            needle = rng.random() < NEEDLE_SHARE
            if needle:
                planted.append(n)
            if encoding:
                encoded += 1
            body = rng.choice(bodies.pool[kind, encoding, needle])
            host = hosts[rng.randrange(len(hosts))]
            headers = [(b"Content-Type", CONTENT_TYPES[kind])]
            if encoding:
                headers.append((b"Content-Encoding", encoding.encode()))
            headers.append((b"Content-Length", str(len(body)).encode()))
            flow = Flow(id=n, client_addr=("127.0.0.1", 40_000 + n % 20_000))
            flow.request = Request(
                method="GET",
                scheme="https",
                host=host,
                port=443,
                target=f"/item/{n}",
                headers=PackedHeaders([(b"Host", host.encode()), (b"Accept", b"*/*")]),
            )
            flow.response = Response(
                status=200,
                reason="OK",
                headers=PackedHeaders(headers),
                body=body,
                body_size=len(body),
            )
            flow.t_start = base + n * 0.001
            flow.t_end = flow.t_start + rng.random() * 0.3
            flow.state = FlowState.COMPLETE
            batch.append(flow)
            if len(batch) >= 2000:
                session.write(batch)
                batch = []
        if batch:
            session.write(batch)
    return {
        "flows": count,
        "planted": planted,
        "encoded": encoded,
        "build_s": time.perf_counter() - started,
        "session_mib": path.stat().st_size / 2**20,
    }


def search_cli(path: Path, planted: list[int]) -> dict[str, Any]:
    """``inspector session search FILE body:NEEDLE``, from a shell."""
    done = run_measured([*targets.inspector_launcher(), "session", "search", str(path), SEARCH])
    if done["code"] != 0:
        raise RuntimeError(f"session search: exit {done['code']}: {done['stderr']}")
    found = [int(line) for line in done["stdout"].split()]
    assert found == planted, f"found {len(found)} flows, planted {len(planted)}"
    return {"seconds": done["seconds"], "maxrss_mib": done["maxrss_mib"], "found": len(found)}


async def search_window(path: Path, planted: list[int], probe: GapProbe) -> dict[str, Any]:
    """The window's body search of ``path``, its table over the file's rows."""
    mirror = RowMirror()
    with Session.open(path) as session:
        after = 0
        while rows := session.rows(after):
            mirror.apply(rows)
            after = rows[-1][S.ID]
    tasks = GuiTasks(ErrorReporter(show_dialogs=False))
    with tempfile.TemporaryDirectory(prefix="inspector-bench-search-") as confdir:
        # Never started: the search has a file, so it asks no engine.
        link = EngineLink(engine.launcher(engine.EngineOptions(Path(confdir)), "process"), tasks)
        model = FlowTableModel(mirror)
        search = BodySearch(mirror, link, tasks, model.reveal)
        search.session_of = lambda: path
        model.search_wanted.connect(search.watch)
        window = show(model, search)
        await asyncio.sleep(0.1)
        wanted = len(planted)

        def over() -> bool:
            return not search.status.running and (
                bool(search.status.error) or (not model.job_running and model.rowCount() >= wanted)
            )

        model.set_filter(search.narrow(parse_filter(SEARCH)))
        step = await probe.run_until(over, SEARCH_TIMEOUT)
        status = search.status
        shown = sorted(model.shown_ids())
        search.stop()
        window.close()
    if status.error:
        raise RuntimeError(f"the window's search failed: {status.error}")
    assert shown == planted, f"the table shows {len(shown)} flows, planted {len(planted)}"
    return {
        **step,
        "search_s": status.seconds,
        "matches": status.matches,
        "shown": len(shown),
        "command": " ".join(search_command(path)),
    }


def search_command(path: Path) -> list[str]:
    """The helper as the window runs it."""
    return low_priority(inspector_command(["session", "search", str(path), SEARCH, "--watch"]))


def run_gui(args: argparse.Namespace, session: Path | None, planted: list[int]) -> dict[str, Any]:
    gcpolicy.install()
    pin_mmap_threshold()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    out: dict[str, Any] = {}

    async def measure() -> None:
        probe = GapProbe()
        if "rows" in args.parts:
            out["rows"] = await filter_rows(args.rows, probe)
        if session is not None:
            out["window"] = await search_window(session, planted, probe)

    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        runner.run(measure())
    return out


# The proxy beside a search


def _fixed(origin: str, proxy: str, rate: float, seconds: float) -> dict[str, Any]:
    return _burst(origin, proxy, int(rate * seconds), FIXED_CONNECTIONS, seconds * 3, rate)


def run_proxy(
    args: argparse.Namespace, work: Path, session: Path, search_s: float
) -> dict[str, Any]:
    """The proxy at half its maximum, alone and beside the search at idle
    priority, taking turns: alone, search, alone, search, ..., alone."""
    prefix = ["chrt", "--idle", "0"] if shutil.which("chrt") else []
    seconds = max(1.0, min(args.fixed_seconds, search_s * 0.75 - HEAD_START))
    argv = [*prefix, *targets.inspector_launcher(), "session", "search", str(session), SEARCH]
    origin_proc = targets.Proc("origin", [sys.executable, "-m", "tests.bench.origin"])
    runs: list[dict[str, Any]] = []
    try:
        proc = start_headless(work / "conf", work / "fixed.inspector")
        try:
            origin = origin_proc.address
            _burst(origin, proc.address, 2000, FIXED_CONNECTIONS, 30)
            top = _burst(origin, proc.address, UNLIMITED, FIXED_CONNECTIONS, args.max_seconds)
            rate = top["rps"] * FIXED_SHARE
            runs.append({"with": "alone", **_fixed(origin, proc.address, rate, seconds)})
            for _ in range(args.rounds):
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    running = pool.submit(run_measured, argv)
                    time.sleep(HEAD_START)
                    load = _fixed(origin, proc.address, rate, seconds)
                    covered = not running.done()
                    done = running.result()
                if done["code"] != 0:
                    raise RuntimeError(f"session search: exit {done['code']}: {done['stderr']}")
                runs.append(
                    {"with": "search", **load, "covered": covered, "search_s": done["seconds"]}
                )
                runs.append({"with": "alone", **_fixed(origin, proc.address, rate, seconds)})
                print(
                    f"bench_search: fixed {rate:,.0f} req/s beside the search: p99 "
                    f"{load['p99_corrected_ms']:.1f} ms (alone before "
                    f"{runs[-3]['p99_corrected_ms']:.1f}, after "
                    f"{runs[-1]['p99_corrected_ms']:.1f})",
                    file=sys.stderr,
                )
        finally:
            targets.stop(proc)
    finally:
        origin_proc.stop()
    ratios, raw = [], []
    for n, run in enumerate(runs):
        if run["with"] != "search":
            continue
        before, after = runs[n - 1], runs[n + 1]
        base = statistics.mean(r["p99_corrected_ms"] for r in (before, after))
        base_raw = statistics.mean(r["p99_ms"] for r in (before, after))
        ratios.append(run["p99_corrected_ms"] / base if base else float("nan"))
        raw.append(run["p99_ms"] / base_raw if base_raw else float("nan"))
    keys = ("rps", "p50_ms", "p99_ms", "p99_corrected_ms", "max_ms", "errors")
    alone = [r for r in runs if r["with"] == "alone"]
    beside = [r for r in runs if r["with"] == "search"]
    return {
        "max_rps": top["rps"],
        "rate": rate,
        "seconds": seconds,
        "priority": "idle" if prefix else "normal",
        "alone": {k: _median([r[k] for r in alone]) for k in keys},
        "search": {
            **{k: _median([r[k] for r in beside]) for k in keys},
            "covered": all(r["covered"] for r in beside),
            "search_under_load_s": _median([r["search_s"] for r in beside]),
        },
        "p99_ratio": _median(ratios),
        "p99_ratio_all": ratios,
        "p99_raw_ratio": _median(raw),
        "runs": runs,
    }


# The run


def bench(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"failures": []}
    with workdir(args.keep) as work:
        session: Path | None = None
        planted: list[int] = []
        if "bodies" in args.parts or "proxy" in args.parts:
            session = work / "bodies.inspector"
            built = write_session(session, args.flows)
            planted = built.pop("planted")
            summary["session"] = {**built, "planted": len(planted)}
            print(
                f"bench_search: {args.flows:,} flows written in {built['build_s']:.1f} s",
                file=sys.stderr,
            )
            summary["cli"] = search_cli(session, planted)
            print(
                f"bench_search: session search {summary['cli']['seconds']:.1f} s",
                file=sys.stderr,
            )
        gui = run_gui(args, session if "bodies" in args.parts else None, planted)
        summary.update(gui)
        if "proxy" in args.parts and session is not None:
            try:
                summary["proxy"] = run_proxy(args, work, session, summary["cli"]["seconds"])
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                summary["failures"].append(f"proxy: {exc}")
    return summary


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [f"Search: revision {c['revision']}, {c['cpus']} CPUs"]
    rows = summary.get("rows")
    if rows:
        lines.append(
            f"Filter over {rows['rows']:,} rows in the table (mirror filled in "
            f"{rows['build_s']:.1f} s; target: worst gap <= {GAP_TARGET_MS:.0f} ms):"
        )
        lines.append(f"  {'expression':<52}{'seconds':>8}{'worst gap ms':>14}{'rows':>10}")
        for expr, step in rows["steps"].items():
            lines.append(
                f"  {expr:<52}{step['seconds']:>8.2f}{step['gap_max_ms']:>14.0f}{step['rows']:>10,}"
            )
    s = summary.get("session")
    if s:
        lines.append(
            f"Body search, {s['flows']:,} flows (session {s['session_mib']:.0f} MiB, built in "
            f"{s['build_s']:.1f} s; {s['encoded']:,} bodies gzip/br, {NEEDLE!r} planted in "
            f"{s['planted']:,})"
        )
        cli = summary["cli"]
        lines.append(
            f"  inspector session search FILE {SEARCH}: {cli['seconds']:.1f} s "
            f"({s['flows'] / cli['seconds']:,.0f} flows/s), peak RSS {cli['maxrss_mib']:.0f} "
            f"MiB, found {cli['found']:,}"
        )
    w = summary.get("window")
    if w:
        lines.append(
            f"  in the window: all {w['shown']:,} matches shown after {w['seconds']:.1f} s "
            f"(the search's own {w['search_s']:.1f} s), worst gap {w['gap_max_ms']:.0f} ms "
            f"(p99 {w['gap_p99_ms']:.0f}; target <= {GAP_TARGET_MS:.0f})"
        )
    p = summary.get("proxy")
    if p:
        lines.append(
            f"  proxy at {p['rate']:,.0f} req/s ({FIXED_SHARE:.0%} of its {p['max_rps']:,.0f}), "
            f"{p['seconds']:.1f} s loads: p99 from slot (from send) alone "
            f"{p['alone']['p99_corrected_ms']:.1f} ({p['alone']['p99_ms']:.1f}) ms, beside the "
            f"search at {p['priority']} priority {p['search']['p99_corrected_ms']:.1f} "
            f"({p['search']['p99_ms']:.1f}) ms: {p['p99_ratio']:.2f}x ({p['p99_raw_ratio']:.2f}x)"
            f" (target <= {P99_TARGET}x); the search took "
            f"{p['search']['search_under_load_s']:.1f} s"
            f"{'' if p['search']['covered'] else ' (ended before the load did)'}"
        )
    for failure in summary["failures"]:
        lines.append(f"FAILED: {failure}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rows and flows, 1 round")
    parser.add_argument("--parts", type=lambda s: s.split(","), default=list(PARTS))
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    parser.add_argument("--flows", type=int, default=200_000, help="flows in the session")
    parser.add_argument("--rounds", type=int, default=3, help="loads beside the search")
    parser.add_argument("--fixed-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=5.0, help="the maximum's load")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)} (known: {', '.join(PARTS)})")
    if args.quick:
        args.rows = min(args.rows, 200_000)
        args.flows = min(args.flows, 50_000)
        args.rounds = 1
        args.max_seconds = min(args.max_seconds, 2.0)
    started = time.monotonic()
    summary = bench(args)
    summary["config"] = {
        "parts": args.parts,
        "rows": args.rows,
        "flows": args.flows,
        "rounds": args.rounds,
        "expressions": list(EXPRESSIONS),
        "search": SEARCH,
        "revision": git_revision(),
        "cpus": os.cpu_count(),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
