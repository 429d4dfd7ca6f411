"""Composition root of an engine serving a window.

``serve`` builds the engine (store, relay, CA, service) and serves one
channel until it closes. The desktop app runs it in a child process
(``main``, the hidden ``__engine__`` subcommand: the default), on a thread
of its own, or on its own qasync loop (``--engine thread|qasync``, kept to
compare in the benchmarks); the window speaks the same protocol to all
three. Headless mode does not use this: it runs the engine in-process
with a printer instead of a window.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspector.core import gcpolicy
from inspector.core.ca import CAError
from inspector.core.certs import CertStore
from inspector.core.events import CAFailed
from inspector.core.memory import pin_mmap_threshold
from inspector.core.naive_relay import NaiveRelay
from inspector.core.protocol import ProtocolError
from inspector.core.relay import Relay, RelayLimits
from inspector.core.session import SessionError
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.link.channel import open_channel
from inspector.link.launcher import EngineHandle, Launcher
from inspector.link.spawn import ENGINE_COMMAND, Bootstrap, spawn_engine
from inspector.proxy.control import ControlServer
from inspector.proxy.host import EngineHost
from inspector.proxy.loops import LOOPS, loop_factory
from inspector.proxy.service import EngineService
from inspector.proxy.session_reader import SessionReader
from inspector.proxy.session_writer import SessionWriter

log = logging.getLogger(__name__)


@dataclass
class EngineOptions:
    confdir: Path
    relay: str = "coalescing"
    first_id: int = 0
    """Flow ids start after this (a restarted engine continues the window's ids)."""
    session: Path | None = None
    """Record every flow to this session file (created, or continued)."""
    open_path: Path | None = None
    """Show this session file's flows instead (nothing listens, nothing is
    recorded)."""
    control: Path | None = None
    """The control socket's path (default: this process's in the control
    directory)."""


def build(options: EngineOptions) -> tuple[EngineService, CertStore | None]:
    if options.open_path is not None:
        return _build_viewer(options.open_path), None
    writer: SessionWriter | None = None
    first_id = options.first_id
    if options.session is not None:
        try:
            writer = SessionWriter.open(options.session, ProxySettings().session_max_bytes)
            first_id = max(first_id, writer.last_id)
        except (SessionError, OSError) as exc:
            log.error("not recording to %s: %s", options.session, exc)
    store = FlowStore(start_after=first_id)
    relay: Relay | NaiveRelay = (
        NaiveRelay(RelayLimits()) if options.relay == "naive" else Relay(RelayLimits())
    )
    certs: CertStore | None
    try:
        certs = CertStore.load_or_create(options.confdir)
        ca: dict[str, Any] = {
            "path": str(certs.ca_cert_path),
            "pem": certs.ca_cert_pem().decode("ascii"),
            "fingerprint": certs.ca_fingerprint(),
        }
    except CAError as exc:
        certs = None
        message = f"{exc}; HTTPS will pass through undecrypted"
        ca = {"error": message}
        relay.emit(CAFailed(message))
    service = EngineService(store, relay, ProxySettings(), certs, ca=ca, writer=writer)
    return service, certs


def _build_viewer(path: Path) -> EngineService:
    """An engine showing a session file: its flows, no listener, no CA."""
    reader = SessionReader.open(path)
    store = FlowStore(max_flows=1 << 62, start_after=max(reader.session.first_id() - 1, 0))
    relay = Relay(RelayLimits())
    return EngineService(store, relay, ProxySettings(), None, ca={}, reader=reader)


async def serve(sock: socket.socket, secret: str, options: EngineOptions) -> None:
    """Serve the window at the other end of ``sock`` until it goes."""
    service, certs = build(options)
    control = ControlServer(service, options.control)
    try:
        channel = await open_channel(sock, service.handle, "window channel")
        control.start()
        await service.run(channel, secret)
    finally:
        await control.close()
        if certs is not None:
            certs.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"inspector {ENGINE_COMMAND}", add_help=False)
    parser.add_argument("--confdir", required=True)
    parser.add_argument("--relay", choices=("coalescing", "naive"), default="coalescing")
    parser.add_argument("--first-id", type=int, default=0)
    parser.add_argument("--loop", choices=LOOPS, default="auto")
    parser.add_argument("--session")
    parser.add_argument("--open")
    parser.add_argument("--control")
    return parser


def main(argv: list[str]) -> int:
    """The engine process: bootstrap from standard input, then serve."""
    args = build_parser().parse_args(argv)
    # Ctrl+C in a terminal reaches the whole process group: the window
    # handles it and shuts this engine down in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        bootstrap = Bootstrap.from_line(sys.stdin.readline())
        sock = bootstrap.connect()
    except (ProtocolError, OSError) as exc:
        print(f"inspector engine: cannot start: {exc}", file=sys.stderr)
        return 2
    gcpolicy.install()
    pin_mmap_threshold()
    options = EngineOptions(
        Path(args.confdir),
        args.relay,
        args.first_id,
        Path(args.session) if args.session else None,
        Path(args.open) if args.open else None,
        Path(args.control) if args.control else None,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        # SIGTERM (the system shutting down, or a kill): stop in order.
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(sock, bootstrap.secret, options)

    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        runner.run(run())
    return 0


class InProcessEngine:
    """An engine in this process (``--engine thread|qasync``), behind the
    same handle as a child process: one end of a socketpair each."""

    def __init__(self, options: EngineOptions, host: EngineHost | None) -> None:
        """With ``host`` the engine runs on that host's loop (its own
        thread); without, on the loop running now (the window's)."""
        self.secret = secrets.token_hex(16)
        self._host = host
        self._ours, theirs = socket.socketpair()
        coro = serve(theirs, self.secret, options)
        self._done: concurrent.futures.Future[None] | asyncio.Future[None]
        if host is not None:
            host.start()
            self._done = host.submit(coro)
        else:
            self._done = asyncio.ensure_future(coro)
        # Held here for its life; a failure is logged, not lost.
        self._done.add_done_callback(_log_failure)

    @property
    def pid(self) -> int:
        return os.getpid()

    async def channel_socket(self) -> socket.socket:
        return self._ours

    def exit_description(self) -> str:
        if not self._done.done():
            return "still running"
        if self._done.cancelled():
            return "cancelled"
        error = self._done.exception()
        return f"failed: {error!r}" if error is not None else "stopped"

    async def wait(self, timeout: float) -> None:
        done = self._done
        future = asyncio.wrap_future(done) if isinstance(done, concurrent.futures.Future) else done
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(future), timeout)

    def terminate(self, timeout: float = 2.0) -> None:
        # Its channel has closed: serve returns on its own. A hosted loop
        # is stopped with it, however the engine ended (a failure was
        # logged when it happened; result() would raise it again here).
        if self._host is not None:
            assert isinstance(self._done, concurrent.futures.Future)
            concurrent.futures.wait([self._done], timeout)
            self._host.stop()


def _log_failure(done: concurrent.futures.Future[None] | asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("the engine failed", exc_info=done.exception())


def launcher(options: EngineOptions, layout: str, loop: str = "auto") -> Launcher:
    """Starts engines for a window: in a child process (``process``), on a
    thread (``thread``) or on the window's loop (``qasync``)."""

    def launch(first_id: int) -> EngineHandle:
        these = dataclasses.replace(options, first_id=first_id)
        if layout == "process":
            args = ["--confdir", str(these.confdir), "--relay", these.relay]
            if these.session is not None:
                args += ["--session", str(these.session)]
            if these.open_path is not None:
                args += ["--open", str(these.open_path)]
            if these.control is not None:
                args += ["--control", str(these.control)]
            return spawn_engine([*args, "--first-id", str(first_id), "--loop", loop])
        if layout == "thread":
            return InProcessEngine(these, EngineHost())
        return InProcessEngine(these, None)

    return launch
