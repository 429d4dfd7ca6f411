"""Starting and stopping the engine from the GUI thread.

The engine lives on the EngineHost's loop (its own thread by default, or
the GUI's qasync loop with ``--engine-loop qasync``); the controller
schedules ``start``/``stop`` there and awaits them through qasync, so the
GUI never blocks on the network. Each start builds a fresh ``ProxyServer``
over the same store and sink, with the current settings.

Signals:
    state_changed(bool, str): running or not, and the listening address.
"""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QObject, Signal

from inspector.core.events import EventSink
from inspector.core.hostmatch import HostPatterns
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.proxy.host import EngineHost
from inspector.proxy.server import ProxyServer
from inspector.proxy.tunnel import ServerContexts

STOP_TIMEOUT = 3.0


class ProxyController(QObject):
    state_changed = Signal(bool, str)

    def __init__(
        self,
        host: EngineHost,
        store: FlowStore,
        sink: EventSink,
        settings: ProxySettings,
        certs: ServerContexts | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.store = store
        self.sink = sink
        self.settings = settings
        self.certs = certs
        """None when the CA is unusable: HTTPS then passes through."""
        self.server: ProxyServer | None = None
        self.address = ""

    @property
    def running(self) -> bool:
        return self.server is not None

    async def start(self) -> str:
        """Start listening; returns ``host:port``. Raises ListenError."""
        if self.server is not None:
            return self.address
        server = ProxyServer(
            self.settings,
            self.store,
            self.sink,
            certs=self.certs,
            ignore=HostPatterns.parse(self.settings.ignore_hosts),
        )
        host, port = await asyncio.wrap_future(self.host.submit(server.start()))
        self.server = server
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.state_changed.emit(True, self.address)
        return self.address

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        try:
            await asyncio.wait_for(
                asyncio.wrap_future(self.host.submit(server.stop())), STOP_TIMEOUT
            )
        finally:
            self.state_changed.emit(False, "")

    def stop_blocking(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop from outside any coroutine (shutdown paths). With the
        engine on its own thread this waits for it; on a borrowed loop the
        loop must keep running for the stop to complete."""
        server, self.server = self.server, None
        if server is None:
            return
        if self.host.threaded:
            with contextlib.suppress(TimeoutError):
                self.host.call(server.stop(), timeout)
        self.state_changed.emit(False, "")
