"""``inspector session ...`` and ``inspector har ...``: captures for scripts.

- ``inspector session info SESSION``: ``flows N`` and the time span.
- ``inspector session search SESSION EXPR [--after ID] [--watch]``: the ids
  of the flows EXPR matches, bodies and headers included (``search_cli``).

- ``inspector har export SESSION OUT.har [--include-secrets] [--ids FILE]
  [--filter EXPR]``: the session's flows (those FILE lists, those EXPR
  matches) as HAR 1.2, in the order they
  started, secrets redacted unless asked to keep them.
- ``inspector har import IN.har SESSION``: a new session from a HAR file,
  ``imported N flows (E with errors)``; N counts every entry, those with
  errors included.

Bad input (not a session, not HAR, a file that exists where a new one is
to be written) is exit status 2 with one line on standard error, and
leaves nothing behind. These commands read a session that is being
written (SQLite readers do not block its writer), or one whose writer was
killed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from inspector import search_cli
from inspector.cli_errors import fail as _fail
from inspector.core.filter import FilterError, FlowFilter, parse_filter
from inspector.core.format import duration
from inspector.core.rules_file import write_rules
from inspector.core.session import Session, SessionError
from inspector.core.session_files import remove


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2, like the rest of the CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


def session_main(argv: list[str]) -> int:
    parser = _Parser(prog="inspector session", description="Inspector session files.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="print the number of flows and the time span")
    info.add_argument("session", metavar="SESSION")
    rules = commands.add_parser(
        "rules", help="print the rules in effect when the session was recorded, as a rules file"
    )
    rules.add_argument("session", metavar="SESSION")
    search_cli.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "search":
        return search_cli.run(args)
    try:
        with Session.open(Path(args.session)) as session:
            summary = session.info()
            kept = session.meta("rules")
    except (SessionError, sqlite3.Error) as exc:
        return _fail(str(exc))
    if args.command == "rules":
        sys.stdout.write(kept if kept is not None else write_rules([]))
        return 0
    print(f"flows {summary.flows}")
    if summary.first_start is not None and summary.last_end is not None:
        span = summary.last_end - summary.first_start
        print(f"span {_when(summary.first_start)} .. {_when(summary.last_end)} ({duration(span)})")
    return 0


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[Path]:
    """``path`` is written by the block; on any failure it is removed."""
    try:
        yield path
    except BaseException:
        with contextlib.suppress(OSError):
            remove(path)
        raise


def har_main(argv: list[str]) -> int:
    parser = _Parser(prog="inspector har", description="HAR files in and out of sessions.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a session's flows as HAR 1.2")
    export.add_argument("session", metavar="SESSION")
    export.add_argument("out", metavar="OUT.har")
    export.add_argument(
        "--include-secrets",
        action="store_true",
        help="keep credentials, cookies and secret-looking parameters (redacted by default)",
    )
    export.add_argument(
        "--filter",
        metavar="EXPR",
        help="export only the flows that match EXPR (the filter language, docs/filter.md)",
    )
    export.add_argument(
        "--ids",
        metavar="FILE",
        help="export only the flows whose ids FILE lists (one a line; - for standard input)",
    )
    imp = commands.add_parser("import", help="create a session from a HAR file")
    imp.add_argument("har", metavar="IN.har")
    imp.add_argument("session", metavar="SESSION")
    args = parser.parse_args(argv)
    # Stopped (by the window that started it, say): end as for Ctrl+C, so
    # the partial file goes.
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.command == "export":
            only = None
            if args.filter is not None:
                try:
                    only = parse_filter(args.filter)
                except FilterError as exc:
                    return _fail(f"--filter: {exc}")
            ids = _read_ids(args.ids) if args.ids else None
            return _export(Path(args.session), Path(args.out), args.include_secrets, ids, only)
        return _import(Path(args.har), Path(args.session))
    except KeyboardInterrupt:
        return 130


def _read_ids(source: str) -> set[int]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise SystemExit(_fail(f"--ids: {exc.strerror or exc}")) from None
    ids = set()
    for line in text.split():
        if not line.isdigit():
            raise SystemExit(_fail(f"--ids: {line[:40]!r} is not a flow id"))
        ids.add(int(line))
    return ids


def _export(
    session_path: Path,
    out: Path,
    include_secrets: bool,
    ids: set[int] | None,
    only: FlowFilter | None = None,
) -> int:
    from inspector.core.har_export import write_har

    try:
        session = Session.open(session_path)
    except SessionError as exc:
        return _fail(str(exc))
    # Written beside the target and renamed at the end: a failed export
    # leaves no half file, and never half-overwrites an old one.
    partial = out.with_name(f".{out.name}.partial")
    try:
        with session, _new_file(partial), partial.open("wb") as stream:
            flows = session.flows(by_start=True)
            if ids is not None:
                flows = (flow for flow in flows if flow.id in ids)
            if only is not None:
                flows = (flow for flow in flows if only.matches_flow(flow))
            count = write_har(flows, stream, include_secrets=include_secrets)
        partial.replace(out)
    except (SessionError, sqlite3.Error) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{out}: {exc.strerror or exc}")
    print(f"exported {count} flows")
    return 0


BATCH = 500
"""Flows written to the new session a transaction at a time."""


def _import(har: Path, session_path: Path) -> int:
    from inspector.core.har_import import NotHar, TruncatedHar, read_har

    if session_path.exists():
        return _fail(f"{session_path} exists; name a new session file")
    try:
        source = har.open("rb")
    except OSError as exc:
        return _fail(f"{har}: {exc.strerror or exc}")
    with source:
        try:
            flows = read_har(source)
        except NotHar as exc:
            return _fail(f"{har}: {exc}")
        except OSError as exc:
            return _fail(f"{har}: {exc.strerror or exc}")
        count = errors = 0
        broke_off = ""
        try:
            with _new_file(session_path), Session.create(session_path) as session:
                batch = []
                try:
                    for flow in flows:
                        count += 1
                        flow.id = count
                        if flow.error is not None and flow.error.kind == "import":
                            errors += 1
                        batch.append(flow)
                        if len(batch) >= BATCH:
                            session.write(batch)
                            batch.clear()
                except TruncatedHar as exc:
                    broke_off = str(exc)
                session.write(batch)
                session.renumber_by_start()
        except (SessionError, sqlite3.Error) as exc:
            return _fail(str(exc))
        except OSError as exc:
            return _fail(f"{exc.filename or session_path}: {exc.strerror or exc}")
    if broke_off:
        print(
            f"inspector: {har}: {broke_off}; the entries before it were imported", file=sys.stderr
        )
    print(f"imported {count} flows ({errors} with errors)")
    return 0
