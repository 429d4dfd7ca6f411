"""The ``map_local`` action: answer a request from a file, or from a
directory by the URL's path.

A directory mapping never reaches outside its directory: the path is
percent-decoded once, an encoded slash or backslash, a NUL, or a ``..``
segment is refused, and the resolved file (symlinks followed) must still
lie under the resolved directory. A directory asked for is answered by its
``index.html``. A missing file is a 404 that says what was looked for.
Files are read off the loop.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from inspector.core.rule_actions import MapLocal

CHUNK = 1024 * 1024
MAX_FILE = 512 * 1024 * 1024
"""Larger files are refused (a 500 that says so), not sent."""


@dataclass(slots=True, frozen=True)
class Found:
    status: int
    content_type: bytes
    path: Path | None
    """The file to send; None for an answer made of ``message``."""
    message: str = ""


def resolve(action: MapLocal, target: str) -> Found:
    """What ``action`` answers for the request target ``target``."""
    root = Path(action.path)
    if root.is_file():
        return Found(200, _type(root), root)
    path = target.split("?", 1)[0].split("#", 1)[0]
    if action.strip:
        if path != action.strip and not path.startswith(action.strip + "/"):
            return _missing(f"{path} is not under {action.strip}")
        path = path[len(action.strip) :]
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered or "%00" in lowered:
        return _missing(f"{path}: encoded slashes are not followed")
    relative = unquote(path)
    parts = [part for part in relative.replace("\\", "/").split("/") if part]
    if any(part in ("..", ".") for part in parts) or "\x00" in relative:
        return _missing(f"{path}: leaves the mapped directory")
    try:
        base = root.resolve(strict=True)
        candidate = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return _missing(f"{relative or '/'} not found in {action.path}")
    if candidate != base and base not in candidate.parents:
        return _missing(f"{relative}: leaves the mapped directory")
    if candidate.is_dir():
        candidate = candidate / "index.html"
        if not candidate.is_file():
            return _missing(f"{relative or '/'} is a directory without index.html")
    if not candidate.is_file():
        return _missing(f"{relative} not found in {action.path}")
    return Found(200, _type(candidate), candidate)


def _missing(why: str) -> Found:
    return Found(404, b"text/plain; charset=utf-8", None, f"map_local: {why}")


def _type(path: Path) -> bytes:
    guessed, encoding = mimetypes.guess_type(path.name)
    if guessed is None or encoding is not None:
        return b"application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/json", "application/javascript"):
        return f"{guessed}; charset=utf-8".encode()
    return guessed.encode()


async def read(path: Path) -> bytes:
    """The file's bytes, read off the loop; OSError when it cannot be read
    or is over ``MAX_FILE``."""
    return await asyncio.to_thread(_read, path)


def _read(path: Path) -> bytes:
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_FILE:
            raise OSError(f"{path} is larger than {MAX_FILE // (1024 * 1024)} MiB")
        return file.read()
