"""The Intercept menu and its toolbar button: start a browser or a terminal
already pointed at Inspector, in one click.

Each entry asks the engine for a port of the client's own
(``listen_tagged``), so its flows are tagged with its name (the Client
column, ``client:chromium``), and starts the client through
``launch.start`` with the engine's CA trusted by it alone. Chromium,
Firefox and Terminal are always listed, disabled with a tooltip saying
what is missing when they cannot be started here; Chrome, Edge and Brave
are listed when installed. What goes wrong is said in a message box.

Signals:
    launched(str, str): a client started; its name and the address it uses.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QToolBar, QToolButton, QWidget

from inspector.core import launch_clients
from inspector.core.config import config_dir
from inspector.core.launch_clients import Client
from inspector.gui.controller import ProxyController
from inspector.gui.engine_link import EngineLink
from inspector.gui.tasks import GuiTasks
from inspector.launch import files
from inspector.launch.start import LaunchError, launch, locate, missing
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

ALWAYS = ("chromium", "firefox", "terminal")
"""Listed even when missing (disabled), so the user learns what to install."""


def available(client: Client) -> tuple[str | None, str]:
    """The executable that starts ``client`` here, and why not when None."""
    executable = locate(client)
    if executable is None:
        return None, missing(client)
    if client.kind == "firefox" and shutil.which("certutil") is None:
        return None, (
            "Firefox needs NSS's certutil to trust Inspector's CA in its own profile "
            "(Debian and Ubuntu: libnss3-tools; Fedora: nss-tools; macOS: brew install nss)"
        )
    return executable, ""


class InterceptMenu(QObject):
    launched = Signal(str, str)

    def __init__(
        self,
        link: EngineLink,
        controller: ProxyController,
        tasks: GuiTasks,
        parent: QWidget,
        confdir: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.link = link
        self.controller = controller
        self.tasks = tasks
        self.parent_widget = parent
        self.confdir = confdir or config_dir()
        self.menu = QMenu("&Intercept", parent)
        self.menu.setToolTipsVisible(True)
        self.actions: dict[str, QAction] = {}
        self._executables: dict[str, str] = {}
        for client in launch_clients.CLIENTS:
            executable, why = available(client)
            if executable is None and client.name not in ALWAYS:
                continue
            action = QAction(client.label, self.menu)
            action.setEnabled(executable is not None)
            if executable is not None:
                self._executables[client.name] = executable
                action.setToolTip(
                    f"Start {client.label} through Inspector, its flows tagged client:{client.name}"
                )
            else:
                action.setToolTip(why)
            action.triggered.connect(lambda _=False, c=client: self.start(c))
            if client.kind == "terminal":
                self.menu.addSeparator()
            self.menu.addAction(action)
            self.actions[client.name] = action
        self.button = QToolButton()
        self.button.setText("Intercept")
        self.button.setToolTip("Start a browser or a terminal already pointed at Inspector")
        self.button.setMenu(self.menu)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # Leftovers of launches whose watcher died (a crash, a power cut).
        files.sweep(self.confdir)

    def install(self, window: QMainWindow) -> None:
        """Add the menu to ``window``'s menu bar and the button to its main
        toolbar, before the toolbar's first separator."""
        window.menuBar().addMenu(self.menu)
        toolbar = window.findChild(QToolBar, "MainToolbar")
        if toolbar is None:
            return
        separators = [a for a in toolbar.actions() if a.isSeparator()]
        if separators:
            toolbar.insertWidget(separators[0], self.button)
        else:
            toolbar.addWidget(self.button)

    def start(self, client: Client) -> None:
        self.tasks.spawn(self._start(client), f"starting {client.label}")

    async def _start(self, client: Client) -> None:
        executable = self._executables.get(client.name)
        if executable is None:
            return
        try:
            address, ca_pem = await self._target(client)
            loop = asyncio.get_running_loop()
            # Starting takes up to a few seconds (the client's first moments
            # are watched for a failure): off the GUI thread.
            await loop.run_in_executor(
                None, lambda: launch(client, executable, address, ca_pem, self.confdir)
            )
        except (LaunchError, EngineError, ChannelClosed) as exc:
            self._tell(f"Cannot start {client.label}: {exc}")
            return
        self.launched.emit(client.name, address)

    async def _target(self, client: Client) -> tuple[str, str]:
        """The client's own port, and the CA to trust."""
        if not self.controller.running:
            raise LaunchError("the proxy is not running; start it first")
        ca: Any = self.link.hello.get("ca") or {}
        pem = ca.get("pem") if isinstance(ca, dict) else None
        if not isinstance(pem, str):
            why = ca.get("error") if isinstance(ca, dict) else None
            raise LaunchError(f"Inspector has no CA certificate ({why or 'none given'})")
        result = await self.link.request("listen_tagged", name=client.name)
        return str(result["address"]), pem

    def _tell(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Inspector", text, parent=self.parent_widget)
        box.setModal(True)
        box.show()
