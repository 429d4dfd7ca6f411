"""Bench-only launcher of the desktop app, with in-process instrumentation.

It builds the app exactly as ``inspector`` does (``inspector.cli``'s
parser and ``options_from``, and ``inspector.app.run``); the only
difference is that ``run`` constructs a subclass of ``DesktopApp`` that
adds, on the GUI thread:

- the probes of ``gui_probes.py``: GUI event-loop stalls (a timer every
  ``--probe-ms``), the window process's collector pauses, the engine
  relay's depth and delivery lag as batches report them, the cost of
  applying a batch, and RSS; and (``--calibrate``) the memory one pending
  relay entry costs;
- the engine's own figures, asked over the protocol (``diagnostics``):
  flows made and held, relay depth, its process's RSS and CPU, and the
  lateness of a timer on its loop, accumulated since the last ``mark``;
- ``--slow-gui F``: ``MainWindow.apply_batch`` made F times slower (it runs,
  then spins, or sleeps with ``--slow-mode sleep``, for (F - 1) times what
  it took), to show whether the proxy notices a slow window;
- ``--patch MODULE[:ARG]``: call ``MODULE.apply(ARG)`` first, in this
  process and in the engine's, to measure a change to the app (a
  monkeypatch) side by side with the app as it is;
- ``--exit-when-shown``: print when the main window was first shown,
  exposed and painted, then quit (start-up time);
- the ``flood-quit N`` command: the engine queues N flow events at once
  (``engine_hooks.py``: N/4 synthetic flows, four events each, emitted on
  the engine's loop in one go), then the app quits as soon as the engine
  has said so (shutdown time).

The engine runs where ``inspector``'s options put it: in a child process
(the default), on a thread (``--engine thread``) or on the window's loop
(``--engine qasync``). An engine process is started through
``engine_wrapper.py``, which applies ``engine_hooks`` and the patches
there; an engine in this process gets them here.

Everything after the options meant for ``inspector`` (put them after
``--``) is passed on unchanged. Commands arrive one per line on stdin, and
answers go to stdout as one line each, ``NAME {json}``:

    mark          reset the probes and the sampler's maxima
    status        {"flows", "last_id", "rows", "depth", ...}: for polling
    report        the full report (also written to ``--report PATH``)
    flood-quit N  see above; prints ``flooded {json}`` and ``quit_at <monotonic>``
    quit          quit like SIGTERM does

``bench-ready {"pid", "engine_pid"}`` says the app is up. End of input
quits too, so an orphaned app never lingers. On quit (a command, SIGTERM or
SIGINT) ``quit_at <time.monotonic()>`` is printed; ``CLOCK_MONOTONIC`` is
shared by all processes, so the driver can time the exit from it. Run as ``python -m
tests.bench.gui_target [options] -- --listen 127.0.0.1:0 [--relay naive]
[--engine thread] ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from inspector.gui.main_window import MainWindow
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError
from inspector.options import Options
from tests.bench import engine_hooks, engine_wrapper
from tests.bench.gui_probes import GcWatch, Sampler, StallProbe, calibrate_pending_bytes

ENGINE_TIMEOUT = 10.0
"""How long a command waits for the engine's diagnostics."""


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
        self.engine_lags: list[float] = []
        """The engine loop's timer lateness (ms) since the mark."""
        self.engine_at_mark: dict[str, Any] = {}
        self.shown: dict[str, float] = {}
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
        _say("bench-ready", {"pid": os.getpid(), "engine_pid": self.app.engine_pid})

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                self.control.command.emit(line.strip())
        self.control.command.emit("eof")

    def on_command(self, line: str) -> None:
        name, _, arg = line.partition(" ")
        if name == "mark":
            self.app.tasks.spawn(self.mark(), "bench: mark")
        elif name == "status":
            self.app.tasks.spawn(self._answer("status", self.status()), "bench: status")
        elif name == "report":
            self.app.tasks.spawn(self._answer("report", self.write_report()), "bench: report")
        elif name == "flood-quit":
            self.app.tasks.spawn(self.flood_quit(int(arg or 100_000)), "bench: flood")
        elif name in ("quit", "eof"):
            self.app.quit(0)
        else:
            _say("error", {"unknown command": line})

    async def _answer(self, name: str, pending: Any) -> None:
        _say(name, await pending)

    async def engine(self, **args: Any) -> dict[str, Any]:
        """The engine's diagnostics ({} when it does not answer in time);
        its loop's lateness samples are kept since the mark."""
        try:
            result = await asyncio.wait_for(
                self.app.link.request("diagnostics", **args), ENGINE_TIMEOUT
            )
        except (TimeoutError, ChannelClosed, EngineError):
            return {}
        self.engine_lags.extend(result.get("loop_lag_ms", ()))
        return dict(result)

    async def mark(self) -> None:
        self.probe.mark()
        self.sampler.mark()
        self.gc.mark()
        self.marked_at = time.monotonic()
        self.high_water_at_mark = self.app.window.stats.high_water
        self.engine_at_mark = await self.engine()
        self.engine_lags = []
        _say("mark", {"at": self.marked_at})

    async def status(self) -> dict[str, Any]:
        engine = await self.engine()
        window = self.app.window
        return {
            "flows": engine.get("flows", -1),
            "last_id": engine.get("last_id", -1),
            "depth": engine.get("relay_depth", -1),
            "rows": window.model.rowCount(),
            "mirror": len(window.mirror),
            "job_running": window.model.job_running,
            "engine_rss": engine.get("rss", 0),
        }

    async def report(self) -> dict[str, Any]:
        self.sampler.sample()
        engine = await self.engine()
        stats = self.app.window.stats
        # The sampler runs on the GUI thread and sees the relay only as the
        # batches report it, which is when the window is not stalled. The
        # relay's own high-water mark sees every emit and drain; it is
        # lifelong, so it counts only once the run since the mark raised it.
        since_mark = stats.high_water if stats.high_water > self.high_water_at_mark else 0
        peak = max(self.sampler.depth_max, since_mark, 0)
        per_entry = self.pending_bytes_per_entry
        lags = sorted(self.engine_lags)
        shared = engine.get("pid") == os.getpid()
        before = self.engine_at_mark
        return {
            "relay": self.app.options.relay,
            "engine": self.app.options.engine,
            "engine_pid": engine.get("pid"),
            "flush_ms": self.app.settings.relay.flush_interval_ms,
            "slow_gui": self.bench.slow_gui,
            "slow_mode": self.bench.slow_mode,
            "seconds_since_mark": time.monotonic() - self.marked_at,
            "stall": self.probe.summary(),
            "gc": self.gc.summary(),
            "flows_recorded": engine.get("last_id", -1),
            "flows_held": engine.get("flows", -1),
            "table_rows": self.app.window.model.rowCount(),
            "window_visible": self.app.window.isVisible(),
            "depth_max": peak,
            "depth_max_sampled": self.sampler.depth_max,
            "high_water": stats.high_water,
            "high_water_at_mark": self.high_water_at_mark,
            "lag_max_ms": self.sampler.lag_max * 1e3,
            "apply_max_ms": self.sampler.apply_max * 1e3,
            "engine_loop_lag_max_ms": lags[-1] if lags else 0.0,
            "engine_loop_lag_p99_ms": lags[int(0.99 * (len(lags) - 1))] if lags else 0.0,
            "engine_rss": 0 if shared else engine.get("rss", 0),
            "engine_cpu_s": (
                0.0 if shared else engine.get("cpu", 0.0) - before.get("cpu", engine.get("cpu", 0))
            ),
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

    async def write_report(self) -> dict[str, Any]:
        data = await self.report()
        if self.bench.report:
            path = Path(self.bench.report)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(json.dumps(data, indent=1) + "\n")
            tmp.replace(path)
        return data

    async def flood_quit(self, events: int) -> None:
        started = time.monotonic()
        try:
            result = await self.app.link.request("bench-flood", events=events)
        except (ChannelClosed, EngineError) as exc:
            _say("error", {"flood": str(exc)})
            result = {"events": 0, "depth": -1}
        _say("flooded", {**result, "round_trip_s": time.monotonic() - started})
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
        def __init__(self, qt_app: QApplication, options: Options) -> None:
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
                with contextlib.suppress(OSError):
                    print(f"quit_at {time.monotonic()!r}", flush=True)
            super().quit(code)

    return BenchApp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", metavar="PATH", help="also write each report here as JSON")
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
    options = cli.options_from(args, listen_given=args.listen is not None)
    options.persist = False
    # The bench requests and the patches, here for an engine on a thread or
    # on this loop, and through the wrapper for an engine process.
    engine_hooks.apply()
    patches = [spec if ":" in spec else f"{spec}:" for spec in bench.patch]
    engine_wrapper.apply_patches(patches)
    engine_wrapper.use(["tests.bench.engine_hooks", *patches])
    if bench.slow_gui > 1:
        # Before the window is built: it connects the link's batches to
        # this very method.
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
