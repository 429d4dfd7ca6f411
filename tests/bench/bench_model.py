"""The flow table with a million flows: insert, sort, filter; time and RSS.

A store is filled with ``--flows`` synthetic flows (``synthetic.py``) and
the app's ``FlowTableModel`` takes them in the way a relay batch delivers
them (``apply_batch`` with the new-id range), shown in the app's
``FlowTable`` in an offscreen window. Then it sorts by host, by duration
(descending) and filters (``status:4xx``); these run as the model's sliced
jobs under a real Qt event loop, with a 1 ms timer measuring the longest
gap the loop went through (what a user would feel while the job runs). RSS
is read from ``/proc/self/statm`` after each step, the peak from
``VmHWM``. The collector policy is the app's (``gcpolicy.install``).

Run as ``python -m tests.bench.bench_model [--flows N] [--json PATH]``; it
prints a table and, with ``--json``, writes the figures.
"""

from __future__ import annotations

import argparse
import array
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from inspector.core import gcpolicy
from inspector.core.filter import parse_filter
from inspector.core.memory import rss_bytes
from inspector.core.relay import Batch
from inspector.core.store import FlowStore
from inspector.gui.flow_cells import Column
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from tests.bench import synthetic
from tests.bench.output import publish


def peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


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

    def run_until(self, done: Any, timeout: float = 600.0) -> dict[str, float]:
        """Run the event loop until ``done()``; the worst gaps meanwhile."""
        self.gaps = array.array("d")
        self._last = 0.0
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(5)
        check.timeout.connect(lambda: loop.quit() if done() else None)
        deadline = QTimer()
        deadline.setSingleShot(True)
        deadline.timeout.connect(loop.quit)
        started = time.perf_counter()
        self.timer.start()
        check.start()
        deadline.start(int(timeout * 1000))
        loop.exec()
        elapsed = time.perf_counter() - started
        self.timer.stop()
        check.stop()
        ordered = sorted(self.gaps)
        return {
            "seconds": elapsed,
            "gap_max_ms": (ordered[-1] if ordered else 0.0) * 1e3,
            "gap_p99_ms": (ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0.0) * 1e3,
        }


def new_store(count: int) -> FlowStore:
    """A store that keeps all ``count`` flows: the app caps the flows it
    keeps (``max_flows``, 200,000 by default), which would otherwise drop
    most of the million before the model saw them."""
    try:
        return FlowStore(max_flows=max(count, 1))
    except TypeError:  # a store without the cap keeps everything anyway
        return FlowStore()


def bench(count: int) -> dict[str, Any]:
    gcpolicy.install()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    store = new_store(count)
    model = FlowTableModel(store)
    view = FlowTable(model)
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    probe = GapProbe()
    steps: dict[str, dict[str, float]] = {}
    start_rss = rss_bytes()

    started = time.perf_counter()
    synthetic.fill(store, count)
    steps["fill store"] = {"seconds": time.perf_counter() - started, "rss": rss_bytes()}

    started = time.perf_counter()
    model.apply_batch(Batch(new_ids=range(1, count + 1)))
    applied = time.perf_counter() - started
    app.processEvents()
    steps["insert (one batch)"] = {
        "seconds": time.perf_counter() - started,
        "apply_batch_s": applied,
        "rss": rss_bytes(),
    }
    assert model.rowCount() == count, model.rowCount()

    for label, column, order in (
        ("sort by host", Column.HOST, Qt.SortOrder.AscendingOrder),
        ("sort by duration desc", Column.DURATION, Qt.SortOrder.DescendingOrder),
    ):
        view.sortByColumn(column, order)
        steps[label] = {**probe.run_until(lambda: not model.job_running), "rss": rss_bytes()}
        assert model.rowCount() == count
    model.set_filter(parse_filter("status:4xx"))
    steps["filter status:4xx"] = {
        **probe.run_until(lambda: not model.job_running),
        "rss": rss_bytes(),
        "rows": model.rowCount(),
    }
    model.set_filter(parse_filter(""))
    steps["clear filter"] = {
        **probe.run_until(lambda: not model.job_running),
        "rss": rss_bytes(),
        "rows": model.rowCount(),
    }
    return {
        "flows": count,
        "rss_start": start_rss,
        "rss_end": rss_bytes(),
        "rss_peak": peak_rss(),
        "steps": steps,
    }


def render(summary: dict[str, Any]) -> str:
    lines = [
        f"Flow table with {summary['flows']:,} flows (RSS peak "
        f"{summary['rss_peak'] / 2**30:.2f} GiB)",
        f"{'step':<24} {'seconds':>8} {'worst gap ms':>12} {'RSS MiB':>8}",
    ]
    for name, step in summary["steps"].items():
        gap = f"{step['gap_max_ms']:.0f}" if "gap_max_ms" in step else "-"
        lines.append(f"{name:<24} {step['seconds']:>8.2f} {gap:>12} {step['rss'] / 2**20:>8,.0f}")
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
