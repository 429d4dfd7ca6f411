"""Running this program again from the window: a session file opened in a
window of its own, and the ``inspector har ...`` helpers.

A frozen build is one executable that takes the same arguments; otherwise
this interpreter runs the package. Opened windows are detached (Qt forks
twice), so they outlive this one and never become zombies of it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QProcess


def inspector_command(args: list[str]) -> list[str]:
    """The command line running ``inspector`` with ``args``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "inspector", *args]


def start_detached(command: list[str]) -> bool:
    started, _pid = QProcess.startDetached(command[0], command[1:])
    return bool(started)


class WindowOpener:
    """Opens session files in new windows (``inspector --open FILE``).

    ``start`` runs a command line and says whether it started; tests give
    it one that records the command instead."""

    def __init__(self, extra_args: list[str] | None = None) -> None:
        self.extra_args = list(extra_args or [])
        """Arguments every opened window gets too (``--confdir``, ``--theme``)."""
        self.start: Callable[[list[str]], bool] = start_detached

    def command(self, path: Path) -> list[str]:
        return inspector_command([*self.extra_args, "--open", str(path)])

    def open(self, path: Path) -> bool:
        return self.start(self.command(path))
