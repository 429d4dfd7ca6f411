"""Session files on disk: their names, the recorded ones, their removal.

The app records one session a start in a folder of its own
(``core.config.sessions_dir``); these find, name and prune those files.
A session file has WAL companions (``-wal``, ``-shm``) while it is
written, which go with it.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from inspector.core.files import make_private_dir

SUFFIX = ".inspector"


def private_dir(path: Path) -> None:
    """The app's own sessions folder: created if needed, and owner-only
    even if it existed (it holds decrypted traffic)."""
    make_private_dir(path)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)


def new_path(directory: Path, now: float | None = None) -> Path:
    """A fresh session file name in ``directory``, by the local time."""
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.localtime(now))
    path = directory / f"{stamp}{SUFFIX}"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{stamp}-{n}{SUFFIX}"
    return path


def recorded(directory: Path) -> list[Path]:
    """The session files in ``directory``, newest first."""
    try:
        files = [p for p in directory.iterdir() if p.suffix == SUFFIX and p.is_file()]
    except OSError:
        return []
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def remove(path: Path) -> None:
    """Delete a session file with its WAL companions (missing ones too)."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def prune(directory: Path, keep_days: float, now: float | None = None) -> list[Path]:
    """Delete recorded sessions not written for ``keep_days``; return them."""
    limit = (time.time() if now is None else now) - keep_days * 86400
    gone = []
    for path in recorded(directory):
        try:
            if path.stat().st_mtime >= limit:
                continue
            remove(path)
        except OSError:
            continue
        gone.append(path)
    return gone
