"""The desktop app's options, as the command line and the persisted
settings make them (built once, in ``cli.py``) and the app takes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from inspector.core.settings import Settings

ENGINES = ("process", "thread", "qasync")
"""Where the desktop app runs its engine: a child process (the default), a
thread of the window's process, or the window's own loop. The last two
stay for the benchmarks to compare."""


@dataclass
class Options:
    settings: Settings
    confdir: Path
    relay: str = "coalescing"
    engine: str = "process"
    loop: str = "auto"
    """The engine's asyncio loop: auto (uvloop where installed), uvloop or asyncio."""
    theme: str = "system"
    selftest: bool = False
    screenshot: str | None = None
    persist: bool = True
    session: Path | None = None
    """The session file the engine records to (None: not recorded)."""
    open_path: Path | None = None
    """A session file to show instead of capturing (``--open``)."""
    sessions_dir: Path | None = None
    """Where sessions are recorded and imported (None: nowhere, the selftest)."""
    control: Path | None = None
    """The engine's control socket (``--control``; None: the default path)."""
    window_args: list[str] = field(default_factory=list)
    """Arguments a window opened from this one takes too, so it sees the
    same configuration (``--confdir``, ``--theme``)."""
    problems: list[str] = field(default_factory=list)
