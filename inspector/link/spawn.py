"""Starting an engine in a process of its own, and what it is told at birth.

The engine is this same program with a hidden subcommand
(``ENGINE_COMMAND``), so a frozen build needs no second executable. The
channel between the two is private: on POSIX one end of a socketpair is
inherited by the child (nothing else can reach it); elsewhere the window
listens on a loopback port for exactly one connection. Either way the
child is given a random secret on its standard input, never in its
arguments or environment, and must present it in its ``hello`` (checked in
constant time by ``EngineClient.connect``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from inspector.core.protocol import ProtocolError

ENGINE_COMMAND = "__engine__"
"""The hidden subcommand that runs an engine for a window."""
ACCEPT_TIMEOUT = 15.0


@dataclass
class Bootstrap:
    """What the child reads from its standard input, as one JSON line."""

    secret: str
    fd: int | None = None
    """Its end of a socketpair, inherited."""
    port: int | None = None
    """Or a loopback port to connect to."""

    def to_line(self) -> bytes:
        return (
            json.dumps({"secret": self.secret, "fd": self.fd, "port": self.port}) + "\n"
        ).encode()

    @classmethod
    def from_line(cls, line: str) -> Bootstrap:
        try:
            data: Any = json.loads(line)
        except json.JSONDecodeError:
            raise ProtocolError("the bootstrap line is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("secret"), str):
            raise ProtocolError("the bootstrap line has no secret")
        fd, port = data.get("fd"), data.get("port")
        # JSON's true is an int to Python, and descriptor 1 is stdout.
        fd = fd if type(fd) is int and fd >= 0 else None
        port = port if type(port) is int and 0 < port < 65536 else None
        if fd is None and port is None:
            raise ProtocolError("the bootstrap line names neither a descriptor nor a port")
        return cls(data["secret"], fd, port)

    def connect(self) -> socket.socket:
        """The child's end of the channel."""
        if self.fd is not None:
            return socket.socket(fileno=self.fd)
        assert self.port is not None
        return socket.create_connection(("127.0.0.1", self.port), timeout=ACCEPT_TIMEOUT)


@dataclass
class EngineProcess:
    """A started engine: its process, the window's end of the channel (once
    connected) and the secret it must present."""

    process: subprocess.Popen[bytes]
    secret: str
    sock: socket.socket | None = None
    listener: socket.socket | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def channel_socket(self) -> socket.socket:
        """The window's end of the channel; with a loopback listener, the
        first connection (the secret is checked in the engine's hello)."""
        if self.sock is not None:
            return self.sock
        listener = self.listener
        assert listener is not None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(ACCEPT_TIMEOUT):
                sock, _ = await loop.sock_accept(listener)
        except TimeoutError:
            raise ProtocolError("the engine did not connect") from None
        finally:
            listener.close()
            self.listener = None
        self.sock = sock
        return sock

    def exit_description(self) -> str:
        """How the process ended, in words (or that it still runs)."""
        code = self.process.poll()
        if code is None:
            return "still running"
        if code < 0:
            try:
                import signal

                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"

    async def wait(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            await loop.run_in_executor(None, self.process.wait, timeout)

    def terminate(self, timeout: float = 2.0) -> None:
        """Make sure the process is gone: wait a little, then kill it."""
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def engine_command(args: list[str]) -> list[str]:
    """How to run this program's engine: the frozen executable itself, or
    this interpreter with the package."""
    if getattr(sys, "frozen", False):
        return [sys.executable, ENGINE_COMMAND, *args]
    return [sys.executable, "-m", "inspector", ENGINE_COMMAND, *args]


def spawn_engine(args: list[str], loopback: bool | None = None) -> EngineProcess:
    """Start an engine process with ``args`` (its own options).

    ``loopback`` forces the loopback channel (the default off POSIX)."""
    if loopback is None:
        loopback = os.name != "posix"
    secret = secrets.token_hex(32)
    command = engine_command(args)
    if loopback:
        listener = socket.create_server(("127.0.0.1", 0), backlog=1)
        listener.setblocking(False)
        bootstrap = Bootstrap(secret, port=listener.getsockname()[1])
        process = subprocess.Popen(command, stdin=subprocess.PIPE)
        engine = EngineProcess(process, secret, listener=listener)
    else:
        ours, theirs = socket.socketpair()
        try:
            bootstrap = Bootstrap(secret, fd=theirs.fileno())
            process = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=[theirs.fileno()])
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        engine = EngineProcess(process, secret, sock=ours)
    assert process.stdin is not None
    try:
        process.stdin.write(bootstrap.to_line())
        process.stdin.flush()
    except OSError:
        pass  # it died at once; the channel says so
    return engine
