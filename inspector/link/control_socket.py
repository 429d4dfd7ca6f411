"""Where engines' control sockets live, and finding the running ones.

Every engine listens for control clients (``inspector ctl``, scripts) on a
Unix socket of its own, ``inspector-<pid>.sock``, in a directory only its
user can enter: ``$XDG_RUNTIME_DIR/inspector`` where the session has a
runtime directory (a tmpfs emptied at logout), else ``run`` in the
configuration directory. The engine's end is ``proxy.control``; this
module is what both ends share: the directory, made or checked, and the
live sockets in it. A socket whose process is gone is stale: finding
engines removes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

from inspector.core.config import config_dir
from inspector.core.files import make_private_dir
from inspector.core.protocol import Message
from inspector.link.client import EngineClient

_NAME = re.compile(r"inspector-(\d+)\.sock")
CONNECT_TIMEOUT = 1.0
"""Seconds a liveness probe waits for an engine to accept."""


class Unreachable(Exception):
    """Nothing accepts connections on a control socket; the message says why."""


class ControlDirError(Exception):
    """The control directory is not safe to use (another owner, or a mode
    that lets others in)."""


def control_dir() -> Path:
    """The directory of control sockets (not created here)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "inspector"
    return config_dir() / "run"


def socket_path(pid: int, directory: Path | None = None) -> Path:
    return (directory or control_dir()) / f"inspector-{pid}.sock"


def ensure_private(directory: Path) -> None:
    """Create ``directory`` owner-only, or check that an existing one is
    ours and closed to others; ControlDirError (or OSError) when not."""
    make_private_dir(directory)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise ControlDirError(f"{directory} is not a directory")
    if info.st_uid != os.getuid():
        raise ControlDirError(f"{directory} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise ControlDirError(
            f"{directory} is open to other users (mode {stat.S_IMODE(info.st_mode):o}); "
            "chmod 700 it"
        )


def answers(path: Path, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether something accepts connections on the socket at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(timeout)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


@contextlib.asynccontextmanager
async def control_client(path: Path, timeout: float) -> AsyncIterator[tuple[EngineClient, Message]]:
    """A client of the engine whose control socket is ``path``, and the
    engine's hello; closed when the block ends. Raises Unreachable when
    nothing accepts there, ProtocolError when no hello comes in
    ``timeout`` seconds."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        raise Unreachable(exc.strerror or str(exc)) from None
    client = EngineClient(name="control")
    try:
        hello = await client.connect(sock, timeout=timeout)
        yield client, hello
    finally:
        client.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone's: not ours to clean up
    return True


def running(directory: Path | None = None) -> list[Path]:
    """The control sockets of running engines in ``directory``, by pid.
    Sockets of processes that are gone, or that no longer answer, are
    removed on the way."""
    directory = directory or control_dir()
    found: list[tuple[int, Path]] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    for path in entries:
        match = _NAME.fullmatch(path.name)
        if match is None:
            continue
        try:
            if not stat.S_ISSOCK(path.lstat().st_mode):
                continue
        except OSError:
            continue
        pid = int(match.group(1))
        if _alive(pid) and answers(path):
            found.append((pid, path))
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return [path for _, path in sorted(found)]
