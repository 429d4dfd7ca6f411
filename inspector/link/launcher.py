"""What a window needs of an engine it started, wherever that engine runs.

The desktop app starts its engine in a child process (``spawn.py``), or,
for comparison, on a thread or on the window's own loop (composed in
``app.py``); all three give back an ``EngineHandle``: the window's end of
the channel, the secret to check, and how to tell and make it end.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Protocol


class EngineHandle(Protocol):
    secret: str

    @property
    def pid(self) -> int: ...

    async def channel_socket(self) -> socket.socket: ...

    def exit_description(self) -> str:
        """How the engine ended, in words ("still running" while it runs)."""
        ...

    async def wait(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the engine to end."""
        ...

    def terminate(self, timeout: float = 2.0) -> None:
        """Make sure the engine is gone (after its channel closed)."""
        ...


Launcher = Callable[[int], EngineHandle]
"""Starts an engine whose flow ids continue after the given one."""
