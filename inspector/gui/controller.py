"""Starting, stopping and configuring the proxy, from the window.

Every change is a command to the engine (which owns the listener) over the
link; the controller keeps what the window shows of it.

Signals:
    state_changed(bool, str): listening or not, and the address.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from inspector.core.settings import Settings
from inspector.core.wire import settings_to_wire
from inspector.gui.engine_link import EngineLink


class ProxyController(QObject):
    state_changed = Signal(bool, str)

    def __init__(self, link: EngineLink, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.settings = settings
        self.address = ""

    @property
    def running(self) -> bool:
        return bool(self.address)

    async def configure(self) -> str:
        """Send the settings as they are now; the engine restarts its
        listener only when the address changed. Returns the address
        (empty when not listening); EngineError when it cannot listen."""
        try:
            result = await self.link.request(
                "configure",
                proxy=settings_to_wire(self.settings.proxy),
                relay=settings_to_wire(self.settings.relay),
            )
        except Exception:
            self._set("")
            raise
        self._set(str(result.get("address", "")))
        return self.address

    async def start(self) -> str:
        """Start listening; returns ``host:port``. EngineError (with the
        reason, such as a port in use) when the engine cannot."""
        result = await self.link.request("start")
        self._set(str(result["address"]))
        return self.address

    async def stop(self) -> None:
        try:
            await self.link.request("stop")
        finally:
            self._set("")

    def forget(self) -> None:
        """The engine is gone: nothing listens."""
        self._set("")

    def _set(self, address: str) -> None:
        if address != self.address:
            self.address = address
            self.state_changed.emit(bool(address), address)
