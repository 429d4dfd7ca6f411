"""The app recording a session, and a window showing one from a file."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from inspector.app import DesktopApp
from inspector.core.session import Session
from inspector.gui.flow_cells import Column
from tests.proxy.harness import Client, Origin, Received, Reply

RunApp = Callable[..., int]


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _big(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"text/plain")], b"line\n" * 2000)


def test_the_app_records_and_a_window_shows_the_file(run_app: RunApp, tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "a.inspector"

    async def record(app: DesktopApp) -> None:
        async with Origin(_big) as origin:
            port = int(app.controller.address.rsplit(":", 1)[1])
            client = await Client.connect(port)
            for i in range(3):
                assert (await client.request("GET", f"{origin.base}/p{i}")).status == 200
            client.close()
            await _until(lambda: app.window.model.rowCount() == 3)

            def written() -> bool:
                if not path.exists():
                    return False
                with Session.open(path) as session:
                    return session.info().flows == 3

            await _until(written)

    assert run_app(record, session=path) == 0

    async def view(app: DesktopApp) -> None:
        model = app.window.model
        await _until(lambda: model.rowCount() == 3)
        assert [model.data(model.index(r, Column.PATH)) for r in range(3)] == ["/p0", "/p1", "/p2"]
        assert not app.window.toggle_action.isEnabled()
        assert "a.inspector" in app.window.windowTitle()
        app.window.table.selectRow(1)
        viewer = app.window.detail.response.body
        await _until(lambda: viewer.text.toPlainText().startswith("line\nline"))

    assert run_app(view, open_path=path) == 0
