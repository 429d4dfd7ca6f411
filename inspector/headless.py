"""Composition root without Qt: the engine on a plain asyncio loop, flows
printed one line each as they finish."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from inspector.core.events import Event, FlowFailed, FlowFinished
from inspector.core.format import flow_line
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.proxy.errors import ListenError
from inspector.proxy.server import ProxyServer

PRINT_INTERVAL = 0.1
"""Finished flows are printed in batches this often, off the request path."""


class _FinishedIds:
    """Sink that only remembers which flows finished, for the printer."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def emit(self, event: Event) -> None:
        if isinstance(event, FlowFinished | FlowFailed):
            self.ids.append(event.flow_id)


async def run(settings: ProxySettings, quiet: bool = False, out: TextIO = sys.stdout) -> int:
    """Serve until SIGINT or SIGTERM; return the process exit status."""
    store = FlowStore()
    finished = _FinishedIds()
    server = ProxyServer(settings, store, finished)
    try:
        host, port = await server.start()
    except ListenError as exc:
        print(f"inspector: {exc}", file=sys.stderr)
        return 2
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on {shown}:{port}", file=out, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PRINT_INTERVAL)
            _print_finished(finished, store, quiet, out)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.stop()
        _print_finished(finished, store, quiet, out)
    return 0


def _print_finished(finished: _FinishedIds, store: FlowStore, quiet: bool, out: TextIO) -> None:
    ids, finished.ids = finished.ids, []
    if quiet or not ids:
        return
    lines = []
    for flow_id in ids:
        flow = store.get(flow_id)
        if flow is not None:
            lines.append(flow_line(flow))
    out.write("\n".join(lines) + "\n")
    out.flush()
