"""What the File menu remembers: session files opened or saved lately, and
the notes the user asked not to see again.

Kept in ``recent.json`` in the configuration directory (not in QSettings,
which would ignore ``--confdir`` and ``INSPECTOR_HOME``), written whole and
renamed into place, owner-only: the names of capture files say what was
being debugged. A missing or damaged file is an empty list, never an error.

Also here: a session file's flow count and end time, read off the file for
the menu and the reopen offer (a SQLite count; run it off the GUI thread).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from inspector.core.session import Session, SessionError
from inspector.core.session_files import recorded

STATE_FILE = "recent.json"
MAX_RECENT = 10
"""Entries in each part of Open Recent (recorded sessions, other files)."""


class RecentState:
    def __init__(self, confdir: Path | None) -> None:
        """``confdir`` None keeps everything in memory (the selftest)."""
        self.path = confdir / STATE_FILE if confdir is not None else None
        self._recent: list[str] = []
        self._quiet: set[str] = set()
        self._load()

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(data, dict):
            return
        recent = data.get("recent")
        if isinstance(recent, list):
            self._recent = [p for p in recent if isinstance(p, str)][:MAX_RECENT]
        quiet = data.get("quiet")
        if isinstance(quiet, list):
            self._quiet = {q for q in quiet if isinstance(q, str)}

    def _save(self) -> None:
        if self.path is None:
            return
        data = {"recent": self._recent, "quiet": sorted(self._quiet)}
        partial = self.path.with_name(f".{self.path.name}.partial")
        # A full disk or a read-only directory only costs the list.
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=1)
            partial.replace(self.path)

    def files(self) -> list[Path]:
        """Files opened or saved lately that still exist, newest first."""
        return [Path(p) for p in self._recent if Path(p).is_file()]

    def add(self, path: Path) -> None:
        name = str(path.resolve())
        self._recent = [name, *(p for p in self._recent if p != name)][:MAX_RECENT]
        self._save()

    def is_quiet(self, note: str) -> bool:
        return note in self._quiet

    def quieten(self, note: str) -> None:
        """Do not show ``note`` again."""
        self._quiet.add(note)
        self._save()


def recent_files(
    sessions_dir: Path | None, state: RecentState, exclude: Path | None = None
) -> tuple[list[Path], list[Path]]:
    """Open Recent's two parts: sessions recorded in ``sessions_dir``
    (newest first), and other files opened or saved lately; ``exclude``
    (the session being recorded) in neither."""
    skip = {exclude.resolve()} if exclude is not None else set()
    found = recorded(sessions_dir) if sessions_dir is not None else []
    sessions = [p for p in found if p.resolve() not in skip][:MAX_RECENT]
    skip.update(p.resolve() for p in sessions)
    others = [p for p in state.files() if p.resolve() not in skip]
    return sessions, others


@dataclass(frozen=True, slots=True)
class FileSummary:
    flows: int
    ended: float
    """When its last flow ended (the file's time when it has none)."""


def summarize_file(path: Path) -> FileSummary | None:
    """Flow count and end time of a session file; None when it is not one."""
    try:
        with Session.open(path) as session:
            info = session.info()
        mtime = path.stat().st_mtime
    except (SessionError, sqlite3.Error, OSError):
        return None
    return FileSummary(info.flows, info.last_end if info.last_end is not None else mtime)


def when(t: float, now: float | None = None) -> str:
    """``today 14:03``, ``yesterday 09:12``, or ``2025-03-02 17:40``."""
    day = time.localtime(t)[:3]
    today = time.localtime(now)
    yesterday = time.localtime((now if now is not None else time.time()) - 86400)
    clock = time.strftime("%H:%M", time.localtime(t))
    if day == today[:3]:
        return f"today {clock}"
    if day == yesterday[:3]:
        return f"yesterday {clock}"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def describe(path: Path, summary: FileSummary | None) -> str:
    """A menu entry: the file's name, and what it holds when known."""
    if summary is None:
        return path.name
    flows = "1 flow" if summary.flows == 1 else f"{summary.flows:,} flows"
    return f"{path.stem}   ({flows}, {when(summary.ended)})"
