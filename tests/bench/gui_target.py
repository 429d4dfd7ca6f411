"""Bench-only launcher of the desktop app, with in-process instrumentation.

It builds the app exactly as ``inspector`` does (``inspector.cli``'s
parser, ``inspector.app.options_from`` and ``inspector.app.run``); the only
difference is that ``run`` constructs a subclass of ``DesktopApp`` that
adds, on the GUI thread:

- the probes of ``gui_probes.py``: GUI event-loop stalls (a timer every
  ``--probe-ms``), collector pauses, relay depth, delivery lag and RSS, and
  (``--calibrate``) the memory one pending relay entry costs;
- ``--slow-gui F``: ``MainWindow.apply_batch`` made F times slower (it runs,
  then spins, or sleeps with ``--slow-mode sleep``, for (F - 1) times what
  it took), to show whether the proxy notices a slow consumer;
- ``--patch MODULE[:ARG]``: call ``MODULE.apply(ARG)`` first, to measure a
  change to the app (a monkeypatch) side by side with the app as it is;
- ``--exit-when-shown``: print when the main window was first shown,
  exposed and painted, then quit (start-up time);
- the ``flood-quit N`` command: queue N flow events (N/4 synthetic flows,
  four events each, emitted on the engine's thread while the GUI thread
  waits, so none is drained), then quit at once (shutdown time).

Everything after the options meant for ``inspector`` (put them after
``--``) is passed on unchanged. Commands arrive one per line on stdin, and
answers go to stdout as one line each, ``NAME {json}``:

    mark          reset the stall probe and the sampler's maxima
    status        {"flows", "rows", "depth", ...}: cheap, for polling
    report        the full report (also written to ``--report PATH``)
    flood-quit N  see above; prints ``quit_at <monotonic>``
    quit          quit like SIGTERM does

End of input quits too, so an orphaned app never lingers. On quit (a
command, SIGTERM or SIGINT) the final report goes to ``--report`` before
``quit_at <time.monotonic()>`` is printed; ``CLOCK_MONOTONIC`` is shared by
all processes, so the driver can time the exit from it. Run as
``python -m tests.bench.gui_target [options] -- --listen 127.0.0.1:0
[--relay naive] [--engine-loop qasync] ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

from inspector import app as app_module
from inspector import cli
from inspector.core.events import (
    FlowCreated,
    FlowFinished,
    FlowRequestHead,
    FlowResponseHead,
)
from inspector.gui.main_window import MainWindow
from tests.bench import synthetic
from tests.bench.gui_probes import GcWatch, Sampler, StallProbe, calibrate_pending_bytes


def _say(name: str, payload: object) -> None:
    # The driver may be gone (its end of the pipe closed): the app must
    # still quit, so a failed write is not an error here.
    with contextlib.suppress(OSError):
        print(f"{name} {json.dumps(payload)}", flush=True)


class Control(QObject):
    """Carries command lines from the stdin reader thread to the GUI thread."""

    command = Signal(str)


class Instrumentation:
    def __init__(self, app: app_module.DesktopApp, bench: argparse.Namespace) -> None:
        self.app = app
        self.bench = bench
        self.probe = StallProbe(bench.probe_ms, app.window)
        self.sampler = Sampler(app, app.window)
        self.gc = GcWatch()
        self.pending_bytes_per_entry: float | None = None
        self.marked_at = time.monotonic()
        self.high_water_at_mark = 0
        self.shown: dict[str, float] = {}
        self._report_written = False
        self.control = Control(app.window)
        self.control.command.connect(self.on_command, Qt.ConnectionType.QueuedConnection)
        if bench.exit_when_shown:
            self._filter = _ShownFilter(self, app.window)
            QApplication.instance().installEventFilter(self._filter)  # type: ignore[union-attr]

    def start(self) -> None:
        """Once the app is up: calibrate, start the timers, take commands."""
        if self.bench.calibrate:
            self.pending_bytes_per_entry = calibrate_pending_bytes(self.app.options.relay)
        self.probe.start()
        self.sampler.start()
        if self.bench.control:
            threading.Thread(target=self._read_stdin, name="bench-control", daemon=True).start()
        _say("bench-ready", {"pid": os.getpid()})

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                self.control.command.emit(line.strip())
        self.control.command.emit("eof")

    def on_command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        if name == "mark":
            self.probe.mark()
            self.sampler.mark()
            self.gc.mark()
            self.marked_at = time.monotonic()
            self.high_water_at_mark = self.app.relay.snapshot().high_water
            _say("mark", {"at": self.marked_at})
        elif name == "status":
            _say("status", self.status())
        elif name == "report":
            _say("report", self.write_report())
        elif name == "flood-quit":
            self.flood_quit(int(arg or 100_000))
        elif name in ("quit", "eof"):
            self.app.quit(0)
        else:
            _say("error", {"unknown command": line})

    def status(self) -> dict[str, Any]:
        stats = self.app.relay.snapshot()
        return {
            "flows": len(self.app.store),
            "rows": self.app.window.model.rowCount(),
            "depth": stats.depth,
            "emitted": stats.emitted,
            "job_running": self.app.window.model.job_running,
        }

    def report(self) -> dict[str, Any]:
        self.sampler.sample()
        stats = self.app.relay.snapshot()
        # The sampler runs on the GUI thread, so it cannot look while the
        # GUI thread is stalled, which is when the depth peaks (the naive
        # relay's above all). The relay's own high-water mark sees every
        # emit and drain; it is lifelong, so it counts only once the run
        # since the mark has raised it.
        since_mark = stats.high_water if stats.high_water > self.high_water_at_mark else 0
        peak = max(self.sampler.depth_max, since_mark, 0)
        per_entry = self.pending_bytes_per_entry
        return {
            "relay": self.app.options.relay,
            "engine_loop": self.app.options.engine_loop,
            "flush_ms": self.app.settings.relay.flush_interval_ms,
            "slow_gui": self.bench.slow_gui,
            "slow_mode": self.bench.slow_mode,
            "seconds_since_mark": time.monotonic() - self.marked_at,
            "stall": self.probe.summary(),
            "gc": self.gc.summary(),
            "flows_recorded": len(self.app.store),
            "table_rows": self.app.window.model.rowCount(),
            "window_visible": self.app.window.isVisible(),
            "depth_max": peak,
            "depth_max_sampled": self.sampler.depth_max,
            "high_water": stats.high_water,
            "high_water_at_mark": self.high_water_at_mark,
            "lag_max_ms": self.sampler.lag_max * 1e3,
            "pending_bytes_per_entry": per_entry,
            "pending_bytes_peak": peak * per_entry if per_entry is not None else None,
            "rss_at_mark": self.sampler.rss_at_mark,
            "rss_max": self.sampler.rss_max,
            "flow_dropped": stats.flow.dropped,
            "low_dropped": stats.low.dropped,
            "resyncs": stats.resyncs,
            "relay_errors": stats.errors,
            "relay_stats": stats.as_dict(),
            "series": self.sampler.series,
            "shown": self.shown,
        }

    def write_report(self) -> dict[str, Any]:
        data = self.report()
        if self.bench.report:
            path = Path(self.bench.report)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(json.dumps(data, indent=1) + "\n")
            tmp.replace(path)
        self._report_written = True
        return data

    def before_quit(self) -> None:
        if self.bench.report and not self._report_written:
            self.write_report()

    def flood_quit(self, events: int) -> None:
        flows = max(events // 4, 1)
        host, store, relay = self.app.host, self.app.store, self.app.relay

        def flood() -> None:
            start = store.last_id + 1
            synthetic.fill(store, flows, seed=7)
            for flow_id in range(start, start + flows):
                relay.emit(FlowCreated(flow_id))
                relay.emit(FlowRequestHead(flow_id))
                relay.emit(FlowResponseHead(flow_id))
                relay.emit(FlowFinished(flow_id))

        async def on_engine() -> None:
            flood()

        started = time.monotonic()
        if host.threaded:
            # The GUI thread waits here, so nothing is drained meanwhile.
            host.call(on_engine(), timeout=120)
        else:
            flood()
        depth = self.app.relay.snapshot().depth
        _say(
            "flooded", {"events": flows * 4, "seconds": time.monotonic() - started, "depth": depth}
        )
        self.app.quit(0)


class _ShownFilter(QObject):
    """Notes the first Show, Expose and Paint of the main window."""

    def __init__(self, inst: Instrumentation, window: MainWindow) -> None:
        super().__init__()
        self.inst = inst
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        shown = self.inst.shown
        if kind == QEvent.Type.Show and watched is self.window and "show" not in shown:
            shown["show"] = time.monotonic()
        elif kind == QEvent.Type.Expose and "expose" not in shown:
            handle = self.window.windowHandle()
            if handle is not None and watched is handle:
                shown["expose"] = time.monotonic()
        elif kind == QEvent.Type.Paint and "paint" not in shown:
            widget = getattr(watched, "window", None)
            if callable(widget) and widget() is self.window:
                shown["paint"] = time.monotonic()
                QTimer.singleShot(0, self._done)
        return False

    def _done(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        _say("shown", self.inst.shown)
        self.inst.app.quit(0)


def _slowed(original: Callable[[MainWindow, Any], None], factor: float, mode: str) -> Any:
    def apply_batch(self: MainWindow, batch: Any) -> None:
        started = time.perf_counter()
        original(self, batch)
        extra = (time.perf_counter() - started) * (factor - 1)
        if mode == "sleep":
            time.sleep(extra)
        else:
            until = time.perf_counter() + extra
            while time.perf_counter() < until:
                pass

    return apply_batch


def instrumented(bench: argparse.Namespace) -> type[app_module.DesktopApp]:
    base = app_module.DesktopApp

    class BenchApp(base):  # type: ignore[misc, valid-type]
        def __init__(self, qt_app: QApplication, options: app_module.Options) -> None:
            super().__init__(qt_app, options)
            self.bench = Instrumentation(self, bench)

        async def main(self) -> int:
            async def when_ready() -> None:
                await self.ready.wait()
                self.bench.start()

            self.tasks.spawn(when_ready(), "Starting the bench instrumentation")
            return await super().main()

        def quit(self, code: int = 0) -> None:
            if not self._quit.done():
                try:
                    self.bench.before_quit()
                finally:
                    with contextlib.suppress(OSError):
                        print(f"quit_at {time.monotonic()!r}", flush=True)
            super().quit(code)

    return BenchApp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", metavar="PATH", help="write the final report here as JSON")
    parser.add_argument(
        "--probe-ms", type=int, default=1, help="stall probe interval (0: no probe)"
    )
    parser.add_argument("--calibrate", action="store_true", help="measure bytes per pending entry")
    parser.add_argument("--slow-gui", type=float, default=1.0, metavar="FACTOR")
    parser.add_argument("--slow-mode", choices=("spin", "sleep"), default="spin")
    parser.add_argument("--exit-when-shown", action="store_true")
    parser.add_argument(
        "--patch",
        action="append",
        default=[],
        metavar="MODULE[:ARG]",
        help="import MODULE and call its apply(ARG) before the app is built: a hook for "
        "measuring a change to the app side by side without editing it",
    )
    parser.add_argument(
        "--no-control", dest="control", action="store_false", help="do not read commands on stdin"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" in argv:
        split = argv.index("--")
        ours, theirs = argv[:split], argv[split + 1 :]
    else:
        ours, theirs = argv, []
    bench = build_parser().parse_args(ours)
    logging.basicConfig(
        level=logging.WARNING, format="inspector: %(levelname)s %(name)s: %(message)s"
    )
    args = cli.build_parser().parse_args(theirs)
    options = app_module.options_from(args, listen_given=args.listen is not None)
    options.persist = False
    for spec in bench.patch:
        name, _, arg = spec.partition(":")
        importlib.import_module(name).apply(arg)
    if bench.slow_gui > 1:
        MainWindow.apply_batch = _slowed(  # type: ignore[method-assign]
            MainWindow.apply_batch, bench.slow_gui, bench.slow_mode
        )
    app_module.DesktopApp = instrumented(bench)  # type: ignore[misc]
    code = app_module.run(options)
    with contextlib.suppress(OSError):
        print(f"run_returned_at {time.monotonic()!r}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
