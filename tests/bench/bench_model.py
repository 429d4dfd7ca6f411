"""The flow table with a million flows, across the process boundary: insert,
sort, filter; time, event-loop gaps and the RSS of both processes.

An engine is started in a child process, as the desktop app starts one
(``inspector.engine.launcher``, through ``engine_wrapper.py`` for the
bench's own request), and asked to fill its store with ``--flows``
synthetic flows (``engine_hooks.py``'s ``bench-fill``: ``synthetic.py``'s
flows, in the engine's process). Its batch builder then sends them to this
process over the protocol, ``DEFAULT_BUDGET`` rows a batch, and this
process takes them as the window does: an ``EngineLink`` (which paces the
acknowledgements by what applying a batch cost) feeding a ``RowMirror`` and
the app's ``FlowTableModel``, shown in the app's ``FlowTable`` in an
offscreen window, on a qasync loop. Then it sorts by host, by duration
(descending), filters (``status:4xx``) and clears the filter; these run as
the model's sliced jobs. A 1 ms timer measures the longest gap the loop
went through in each step, the insert included (what a user would feel).

While the rows stream in, the window's cost of each batch is timed in its
three parts: reading the frames off the socket and decoding them (the
channel's ``FrameReader.feed``), checking the batch (``batch_from_wire``)
and applying it (the link's ``apply_seconds``); the worst of each is given,
so a long gap can be put down to one of them.

RSS of both processes is read after each step (``/proc/PID/statm``), their
peaks from ``VmHWM``; the mirror's own bytes per row are counted from its
columns, and the window's RSS growth per row beside it. The collector
policy and the allocator setting are the app's in both processes.

Run as ``python -m tests.bench.bench_model [--flows N] [--json PATH]``; it
prints a table and, with ``--json``, writes the figures.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6  # noqa: F401  (before qasync, which binds to the Qt already imported)
import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from inspector import engine
from inspector.core import gcpolicy, protocol
from inspector.core.filter import parse_filter
from inspector.core.memory import pin_mmap_threshold
from inspector.core.mirror import RowMirror
from inspector.core.rowbatch import RowBatch
from inspector.gui import engine_link
from inspector.gui.engine_link import EngineLink
from inspector.gui.flow_cells import Column
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from inspector.gui.tasks import ErrorReporter, GuiTasks
from tests.bench import engine_wrapper
from tests.bench.output import publish
from tests.bench.targets import process_rss_bytes

FILL_TIMEOUT = 600.0
STEP_TIMEOUT = 600.0


def peak_rss(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def mirror_bytes(mirror: RowMirror) -> int:
    """What the mirror's rows take: its typed columns, its paths (the list
    and the strings), its maps of errors and inner ids, and its interned
    texts."""
    total = 0
    for column in mirror._columns():
        if isinstance(column, array.array):
            total += sys.getsizeof(column)
        else:
            total += sys.getsizeof(column) + sum(sys.getsizeof(path) for path in column)
    for table in (mirror._errors, mirror._inner):
        total += sys.getsizeof(table) + sum(sys.getsizeof(v) for v in table.values())
    for interned in (mirror.methods, mirror.schemes, mirror.hosts, mirror.types):
        total += sys.getsizeof(interned.index) + sum(sys.getsizeof(v) for v in interned.values)
    return total


class Costs:
    """The worst time the window spent decoding frames and checking batches
    (wrapping ``FrameReader.feed`` and the link's ``batch_from_wire``)."""

    def __init__(self) -> None:
        self.decode_max = 0.0
        self.check_max = 0.0
        feed = protocol.FrameReader.feed
        check = engine_link.batch_from_wire

        def timed_feed(reader: protocol.FrameReader, data: bytes) -> list[Any]:
            started = time.perf_counter()
            try:
                return feed(reader, data)
            finally:
                self.decode_max = max(self.decode_max, time.perf_counter() - started)

        def timed_check(message: Any) -> RowBatch:
            started = time.perf_counter()
            try:
                return check(message)
            finally:
                self.check_max = max(self.check_max, time.perf_counter() - started)

        protocol.FrameReader.feed = timed_feed  # type: ignore[method-assign]
        engine_link.batch_from_wire = timed_check


class GapProbe:
    def __init__(self) -> None:
        self.gaps = array.array("d")
        self._last = 0.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.gaps.append(now - self._last)
        self._last = now

    async def run_until(self, done: Any, timeout: float = STEP_TIMEOUT) -> dict[str, float]:
        """Let the loop run until ``done()``; the worst gaps meanwhile."""
        self.gaps = array.array("d")
        self._last = 0.0
        started = time.perf_counter()
        self.timer.start()
        while not done() and time.perf_counter() - started < timeout:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        self.timer.stop()
        ordered = sorted(self.gaps)
        return {
            "seconds": elapsed,
            "gap_max_ms": (ordered[-1] if ordered else 0.0) * 1e3,
            "gap_p99_ms": (ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0) * 1e3,
        }


async def measure(count: int, confdir: Path) -> dict[str, Any]:
    engine_wrapper.use(["tests.bench.engine_hooks"])
    costs = Costs()
    tasks = GuiTasks(ErrorReporter(show_dialogs=False))
    link = EngineLink(engine.launcher(engine.EngineOptions(confdir), "process"), tasks)
    mirror = RowMirror()
    model = FlowTableModel(mirror)
    view = FlowTable(model)
    view.resize(1280, 800)
    view.show()
    batches = {"count": 0, "apply_max": 0.0}

    def apply(batch: RowBatch) -> None:
        model.apply_batch(batch)
        batches["count"] += 1

    def applied(_batch: object) -> None:
        batches["apply_max"] = max(batches["apply_max"], link.apply_seconds)

    link.batch_received.connect(apply)
    link.batch_received.connect(applied, Qt.ConnectionType.QueuedConnection)
    await link.start()
    assert link.handle is not None
    pid = link.handle.pid
    probe = GapProbe()
    steps: dict[str, dict[str, Any]] = {}

    def both(step: dict[str, Any]) -> dict[str, Any]:
        gui, eng = process_rss_bytes(os.getpid()), process_rss_bytes(pid)
        return {**step, "gui_rss": gui, "engine_rss": eng, "rss": gui + eng}

    start = both({})
    try:
        started = time.perf_counter()
        filled = await asyncio.wait_for(link.request("bench-fill", count=count), FILL_TIMEOUT)
        steps["fill store (engine)"] = both(
            {"seconds": time.perf_counter() - started, "engine_s": filled["seconds"]}
        )
        gui_before = process_rss_bytes(os.getpid())
        costs.decode_max = costs.check_max = 0.0
        step = await probe.run_until(lambda: model.rowCount() >= count)
        steps["insert (streamed)"] = both(
            {
                **step,
                "batches": batches["count"],
                "decode_max_ms": costs.decode_max * 1e3,
                "check_max_ms": costs.check_max * 1e3,
                "apply_max_ms": batches["apply_max"] * 1e3,
            }
        )
        rows = model.rowCount()
        assert rows == count, rows
        gui_growth = process_rss_bytes(os.getpid()) - gui_before
        in_mirror = mirror_bytes(mirror)

        for label, column, order in (
            ("sort by host", Column.HOST, Qt.SortOrder.AscendingOrder),
            ("sort by duration desc", Column.DURATION, Qt.SortOrder.DescendingOrder),
        ):
            view.sortByColumn(column, order)
            steps[label] = both(await probe.run_until(lambda: not model.job_running))
            assert model.rowCount() == count
        model.set_filter(parse_filter("status:4xx"))
        steps["filter status:4xx"] = both(
            {**await probe.run_until(lambda: not model.job_running), "rows": model.rowCount()}
        )
        model.set_filter(parse_filter(""))
        steps["clear filter"] = both(
            {**await probe.run_until(lambda: not model.job_running), "rows": model.rowCount()}
        )
        gui_peak, engine_peak = peak_rss(), peak_rss(pid)
    finally:
        await link.shutdown(5.0)
    gui_end, engine_end = steps["clear filter"]["gui_rss"], steps["clear filter"]["engine_rss"]
    return {
        "flows": count,
        "engine_pid": pid,
        "rss_start": start["rss"],
        "gui_rss_start": start["gui_rss"],
        "engine_rss_start": start["engine_rss"],
        "gui_rss_end": gui_end,
        "engine_rss_end": engine_end,
        "rss_end": gui_end + engine_end,
        "gui_rss_peak": gui_peak,
        "engine_rss_peak": engine_peak,
        "rss_peak": gui_peak + engine_peak,
        "rss_max_together": max(s["rss"] for s in steps.values()),
        "mirror_bytes": in_mirror,
        "mirror_bytes_per_row": in_mirror / count,
        "gui_growth_per_row": gui_growth / count,
        "engine_bytes_per_flow": (steps["fill store (engine)"]["engine_rss"] - start["engine_rss"])
        / count,
        "steps": steps,
    }


def bench(count: int) -> dict[str, Any]:
    gcpolicy.install()
    pin_mmap_threshold()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    with (
        tempfile.TemporaryDirectory(prefix="inspector-bench-model-") as tmp,
        asyncio.Runner(loop_factory=qasync.QEventLoop) as runner,
    ):
        return runner.run(measure(count, Path(tmp)))


def render(summary: dict[str, Any]) -> str:
    gib = 2**30
    lines = [
        f"Flow table with {summary['flows']:,} flows, engine in its own process: RSS peak "
        f"{summary['rss_peak'] / gib:.2f} GiB together (engine "
        f"{summary['engine_rss_peak'] / gib:.2f}, window {summary['gui_rss_peak'] / gib:.2f}); "
        f"highest at one step {summary['rss_max_together'] / gib:.2f} GiB",
        f"  engine {summary['engine_bytes_per_flow']:,.0f} B a flow; window: mirror "
        f"{summary['mirror_bytes_per_row']:,.0f} B a row, RSS growth "
        f"{summary['gui_growth_per_row']:,.0f} B a row (mirror, model, view)",
        f"{'step':<24} {'seconds':>8} {'worst gap ms':>12} {'engine MiB':>10} {'window MiB':>10}",
    ]
    insert = summary["steps"]["insert (streamed)"]
    lines.insert(
        2,
        f"  insert: {insert['batches']} batches; worst per batch in the window: decoding "
        f"{insert['decode_max_ms']:.0f} ms, checking {insert['check_max_ms']:.0f} ms, applying "
        f"{insert['apply_max_ms']:.0f} ms",
    )
    for name, step in summary["steps"].items():
        gap = f"{step['gap_max_ms']:.0f}" if "gap_max_ms" in step else "-"
        lines.append(
            f"{name:<24} {step['seconds']:>8.2f} {gap:>12} {step['engine_rss'] / 2**20:>10,.0f}"
            f" {step['gui_rss'] / 2**20:>10,.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    summary = bench(args.flows)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
