"""Start-up and shutdown of the desktop app.

Start-up: from just before the process is spawned to the main window's
first paint (offscreen), as ``gui_target.py --exit-when-shown`` reports it
(first Show, Expose and Paint are all recorded; the paint is what a user
sees). The configuration directory already holds a CA (a first launch
creates it and is not counted), so this is the everyday start.

Quit: the app is started, then told ``flood-quit N``: the engine queues N
flow events (N/4 synthetic flows, four events each, emitted in one go on
its loop by ``engine_hooks.py``), and quit is called as soon as it has
answered, with the backlog in its relay (the naive relay has written them
all to the window by then). The figure is from that call to the window
process's exit, as the system sees it (the window waits for its engine
process to stop first); ``quit idle`` is the same without the backlog. The
engine in a process of its own (the app's default), on a thread, on the
window's loop, and the naive relay in a process, each ``--launches``
times; medians are reported. Start-up is the default layout's.

Run as ``python -m tests.bench.bench_lifecycle [--quick] [--launches N]
[--events N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import targets
from tests.bench.output import publish

QUIT_CONFIGS = {
    "relay-process": "desktop",
    "relay-thread": "desktop-thread",
    "relay-qasync": "desktop-qasync",
    "naive-process": "desktop-naive",
}


def startup_once(confdir: Path) -> dict[str, float]:
    argv = [
        sys.executable,
        "-m",
        "tests.bench.gui_target",
        "--exit-when-shown",
        "--no-control",
        "--probe-ms",
        "0",
        "--",
        "--listen",
        "127.0.0.1:0",
        "--confdir",
        str(confdir),
    ]
    spawned = time.monotonic()
    proc = targets.Proc("startup", argv, env={"QT_QPA_PLATFORM": "offscreen"})
    listening = time.monotonic() - spawned
    shown = json.loads(proc.expect("shown ", 30))
    targets.wait_exit(proc, 15)
    return {
        "listening_s": listening,
        "show_s": shown["show"] - spawned,
        "expose_s": shown.get("expose", float("nan")) - spawned,
        "paint_s": shown["paint"] - spawned,
    }


def quit_once(mode: str, confdir: Path, events: int) -> dict[str, float]:
    launch = targets.Launch(mode, bench=["--probe-ms", "0"], confdir=confdir)
    proc = targets.start(launch)
    try:
        if events:
            proc.send(f"flood-quit {events}")
            flooded = json.loads(proc.expect("flooded ", 120))
        else:
            proc.send("quit")
            flooded = {"depth": 0}
        quit_at = float(proc.expect("quit_at ", 30))
        returned = float(proc.expect("run_returned_at ", 30))
        exited = targets.wait_exit(proc, 30)
    except BaseException:
        proc.kill()
        raise
    return {
        "quit_s": exited - quit_at,
        "shutdown_s": returned - quit_at,
        "depth_at_quit": flooded["depth"],
    }


def bench(args: argparse.Namespace) -> dict[str, Any]:
    confdir = Path(tempfile.mkdtemp(prefix="inspector-bench-life-")) / "inspector"
    startup_once(confdir)  # creates the CA; not counted
    startups = [startup_once(confdir) for _ in range(args.launches)]
    quits: dict[str, list[dict[str, float]]] = {}
    for index in range(args.launches):
        for config, mode in QUIT_CONFIGS.items():
            quits.setdefault(f"{config}, {args.events:,} events", []).append(
                quit_once(mode, confdir, args.events)
            )
        if index == 0:
            quits.setdefault("relay-process, idle", []).append(quit_once("desktop", confdir, 0))

    def med(rows: list[dict[str, float]]) -> dict[str, float]:
        return {k: statistics.median(r[k] for r in rows) for k in rows[0]}

    return {
        "config": {"launches": args.launches, "events": args.events},
        "startup": {**med(startups), "all_paint_s": [s["paint_s"] for s in startups]},
        "quit": {
            name: {**med(rows), "all": [r["quit_s"] for r in rows]} for name, rows in quits.items()
        },
    }


def render(summary: dict[str, Any]) -> str:
    s = summary["startup"]
    lines = [
        f"Start-up to window painted: {s['paint_s']:.2f} s median of "
        f"{summary['config']['launches']} (listening {s['listening_s']:.2f} s, shown "
        f"{s['show_s']:.2f} s)",
    ]
    for name, q in summary["quit"].items():
        lines.append(
            f"Quit ({name}): {q['quit_s']:.2f} s to exit (app shutdown {q['shutdown_s']:.2f} s, "
            f"relay depth at quit {q['depth_at_quit']:,.0f})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 launches")
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.launches = 2
    summary = bench(args)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
