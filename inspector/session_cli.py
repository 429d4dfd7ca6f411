"""``inspector session ...`` and ``inspector har ...``: captures for scripts.

- ``inspector session info SESSION``: ``flows N`` and the time span.

Bad input (not a session, not HAR, a file that exists where a new one is
to be written) is exit status 2 with one line on standard error, and
leaves nothing behind. These commands read a session that is being
written (SQLite readers do not block its writer), or one whose writer was
killed.
"""

from __future__ import annotations

import argparse
import datetime
import sqlite3
import sys
from pathlib import Path

from inspector.core.format import duration
from inspector.core.session import Session, SessionError


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2, like the rest of the CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _fail(message: str) -> int:
    print(f"inspector: {message}", file=sys.stderr)
    return 2


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def session_main(argv: list[str]) -> int:
    parser = _Parser(prog="inspector session", description="Inspector session files.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="print the number of flows and the time span")
    info.add_argument("session", metavar="SESSION")
    args = parser.parse_args(argv)
    try:
        with Session.open(Path(args.session)) as session:
            summary = session.info()
    except (SessionError, sqlite3.Error) as exc:
        return _fail(str(exc))
    print(f"flows {summary.flows}")
    if summary.first_start is not None and summary.last_end is not None:
        span = summary.last_end - summary.first_start
        print(f"span {_when(summary.first_start)} .. {_when(summary.last_end)} ({duration(span)})")
    return 0
