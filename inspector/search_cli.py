"""``inspector session search SESSION EXPR``: the flows of a session file
that a filter expression matches, bodies and headers included.

For scripts, the matching ids are printed one a line, in id order, as
they are found (``inspector har export --ids -`` reads that). With
``--watch`` it speaks the window's line protocol instead, which runs it
as a helper process at idle priority so a body search costs neither the
proxy nor the window anything:

- ``match ID ...`` and ``miss ID ...``: verdicts, a page of flows a line;
- ``progress DONE TOTAL`` after each page of the scan;
- ``scanned`` once every flow in the file when the scan began is judged.

Then it reads ids from standard input (whitespace-separated, a line at a
time) and judges each once the file has it (flows are written when they
end), until standard input closes. A flow that is damaged in the file is
a miss. Bad input (not a session, a malformed EXPR) is exit status 2 with
one line on standard error.
"""

from __future__ import annotations

import argparse
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from inspector.cli_errors import fail as _fail
from inspector.core.filter import FilterError, FlowFilter, parse_filter
from inspector.core.search import Verdicts, check, scan
from inspector.core.session import Session, SessionError

WATCH_POLL = 0.25
"""Seconds between looks for watched flows not yet in the file."""
WATCH_FORGET = 600.0
"""A watched flow not in the file after this long is given up (deleted)."""


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    search = commands.add_parser(
        "search", help="print the ids of the flows a filter expression matches"
    )
    search.add_argument("session", metavar="SESSION")
    search.add_argument("expr", metavar="EXPR", help="a filter expression (docs/filter.md)")
    search.add_argument(
        "--after", metavar="ID", type=int, default=0, help="only flows with ids above ID"
    )
    search.add_argument(
        "--watch",
        action="store_true",
        help="the window's line protocol; then judge ids read from standard input",
    )


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    try:
        flow_filter = parse_filter(args.expr)
    except FilterError as exc:
        return _fail(f"EXPR: {exc}")
    try:
        session = Session.open(Path(args.session))
    except SessionError as exc:
        return _fail(str(exc))
    try:
        with session:
            for verdicts in scan(session, flow_filter, after=max(args.after, 0)):
                _report(out, verdicts, args.watch, progress=True)
            if args.watch:
                out.write("scanned\n")
                out.flush()
                _watch(session, flow_filter, sys.stdin, out)
    except (SessionError, sqlite3.Error) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0  # the reader went away: nobody wants the rest
    return 0


def _report(out: TextIO, verdicts: Verdicts, watch: bool, progress: bool) -> None:
    if not watch:
        out.writelines(f"{flow_id}\n" for flow_id in verdicts.matches)
    else:
        if verdicts.matches:
            out.write(f"match {' '.join(map(str, verdicts.matches))}\n")
        if verdicts.misses:
            out.write(f"miss {' '.join(map(str, verdicts.misses))}\n")
        if progress:
            out.write(f"progress {verdicts.done} {verdicts.total}\n")
    out.flush()


def _read_lines(source: TextIO, lines: queue.Queue[str | None]) -> None:
    for line in source:
        lines.put(line)
    lines.put(None)


def _ids(line: str) -> Iterable[int]:
    for word in line.split():
        if word.isdigit():
            yield int(word)


def _watch(session: Session, flow_filter: FlowFilter, source: TextIO, out: TextIO) -> None:
    """Judge the ids ``source`` sends as they reach the file, until it
    closes (the window ended the search, or went away)."""
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(source, lines), daemon=True).start()
    waiting: dict[int, float] = {}
    while True:
        try:
            line = lines.get(timeout=WATCH_POLL)
        except queue.Empty:
            line = ""
        if line is None:
            return  # closed: what is still waiting is wanted no more
        now = time.monotonic()
        for flow_id in _ids(line):
            waiting.setdefault(flow_id, now)
        if not waiting:
            continue
        verdicts, absent = check(session, flow_filter, list(waiting))
        if verdicts.matches or verdicts.misses:
            _report(out, verdicts, watch=True, progress=False)
        waiting = {i: t for i, t in waiting.items() if i in absent and now - t < WATCH_FORGET}
