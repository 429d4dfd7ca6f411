"""Helpers for the File menu tests: polling, session files made directly,
traffic recorded through the running app, dialogs found and answered, and
an opener that records the windows it would start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from inspector.app import DesktopApp
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.session import Session
from tests.proxy.harness import Client, Origin, Received, Reply

TOKEN = "s3cr3t-token-value"


async def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def flows_in(path: Path) -> int:
    if not path.exists():
        return -1
    with Session.open(path) as session:
        return session.info().flows


def write_session(path: Path, count: int) -> Path:
    """A session file with ``count`` finished flows."""
    with Session.create(path) as session:
        flows = []
        for i in range(1, count + 1):
            flow = Flow(i, ("127.0.0.1", 40000 + i))
            flow.request = Request(
                method="GET",
                host="example.com",
                port=80,
                target=f"/f{i}",
                headers=[(b"Host", b"example.com")],
            )
            flow.response = Response(status=200, reason="OK", headers=[], body=b"ok", body_size=2)
            flow.t_start = time.time() - 60 + i
            flow.t_end = flow.t_start + 0.1
            flow.state = FlowState.COMPLETE
            flows.append(flow)
        session.write(flows)
    return path


async def _ok(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"text/plain"), (b"Set-Cookie", b"sid=abc")], b"ok")


async def record(app: DesktopApp, paths: list[str]) -> None:
    """Send a request for each path (with a secret header) and wait until
    the table shows them and the session file holds them."""
    shown = app.window.model.rowCount()
    async with Origin(_ok) as origin:
        port = int(app.controller.address.rsplit(":", 1)[1])
        client = await Client.connect(port)
        for path in paths:
            answer = await client.request(
                "GET",
                f"{origin.base}{path}?api_key={TOKEN}",
                headers=[(b"Authorization", f"Bearer {TOKEN}".encode())],
            )
            assert answer.status == 200
        client.close()
    await until(lambda: app.window.model.rowCount() == shown + len(paths))
    session = app.sessions.session
    assert session is not None
    await until(lambda: flows_in(session) >= shown + len(paths))


class Opener:
    """Stands in for starting a process: records each command line."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> bool:
        self.commands.append(command)
        return True


def shown(parent: QWidget, kind: type[QWidget]) -> list[QWidget]:
    return [w for w in parent.findChildren(kind) if w.isVisible()]


async def message_box(parent: QWidget) -> QMessageBox:
    await until(lambda: bool(shown(parent, QMessageBox)))
    box = shown(parent, QMessageBox)[-1]
    assert isinstance(box, QMessageBox)
    return box


async def choose_file(parent: QWidget, path: Path) -> None:
    """Answer the file dialog that opens next with ``path``."""
    await until(lambda: bool(shown(parent, QFileDialog)))
    chooser = shown(parent, QFileDialog)[-1]
    assert isinstance(chooser, QFileDialog)
    chooser.selectFile(str(path))
    chooser.accept()
