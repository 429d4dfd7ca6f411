"""The desktop app with its engine in a child process (the default), end to
end: traffic shows, details, clear, delete and copies go through the
engine, an engine killed outright is said in words with the rows kept and
a restart continues the ids; and the real program started from a shell
has exactly one child, which goes when the window is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QGuiApplication

from inspector.app import DesktopApp
from inspector.gui.flow_cells import Column
from tests.link.processes import gone, wait_gone
from tests.proxy.harness import Client, Origin, Received, Reply

RunApp = Callable[..., int]
TIMEOUT = 30.0


async def _until(check: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout:g} s: {what or 'condition'}")
        await asyncio.sleep(0.02)


def _port(app: DesktopApp) -> int:
    return int(app.controller.address.rsplit(":", 1)[1])


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


async def _answer(req: Received) -> Reply:
    return Reply(
        200,
        [(b"Content-Type", b"text/plain; charset=utf-8"), (b"X-Origin", b"test")],
        b"body of " + req.target,
    )


async def _get(app: DesktopApp, origin: Origin, *paths: str) -> None:
    client = await Client.connect(_port(app))
    for path in paths:
        assert (await client.request("GET", f"{origin.base}{path}")).status == 200
    client.close()


async def _status(app: DesktopApp) -> dict[str, int]:
    return dict(await app.link.request("status"))


def _select(app: DesktopApp, *rows: int) -> None:
    table, model = app.window.table, app.window.model
    table.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in rows:
        table.selectionModel().select(model.index(row, 0), flags)


def test_the_engine_runs_in_a_child_process(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        pid = app.engine_pid
        assert pid is not None and pid != os.getpid()
        assert not gone(pid)
        assert "__engine__" in _cmdline(pid)
        assert pid in _children(os.getpid())
        assert app.link.hello["pid"] == pid

    assert run_app(scenario) == 0


def test_traffic_shows_and_the_detail_pane_fetches_headers_and_body(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin(_answer) as origin:
            await _get(app, origin, "/first", "/second")
            model = app.window.model
            await _until(
                lambda: model.rowCount() == 2 and model.data(model.index(1, Column.STATUS)) == "200"
            )
            assert model.data(model.index(0, Column.PATH)) == "/first"
            app.window.table.selectRow(1)
            response = app.window.detail.response
            await _until(lambda: response.body.text.toPlainText() == "body of /second")
            headers = {
                response.headers.item(r, 0).text(): response.headers.item(r, 1).text()
                for r in range(response.headers.rowCount())
            }
            assert headers["X-Origin"] == "test"
            request = app.window.detail.request
            names = [request.headers.item(r, 0).text() for r in range(request.headers.rowCount())]
            assert "Host" in names

    assert run_app(scenario) == 0


def test_clear_empties_the_table_and_the_engine(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin(_answer) as origin:
            await _get(app, origin, "/a", "/b", "/c")
            model = app.window.model
            await _until(lambda: model.rowCount() == 3)
            app.window.clear_action.trigger()
            await _until(lambda: model.rowCount() == 0 and len(app.mirror) == 0)
            status = await _status(app)
            assert (status["flows"], status["last_id"]) == (0, 3)
            await _get(app, origin, "/d")
            await _until(lambda: model.rowCount() == 1)
            assert app.window.model.id_at(0) == 4

    assert run_app(scenario) == 0


def test_deleting_selected_rows_deletes_them_in_the_engine(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin(_answer) as origin:
            await _get(app, origin, "/1", "/2", "/3", "/4")
            model = app.window.model
            await _until(lambda: model.rowCount() == 4)
            _select(app, 1, 3)
            app.window.table.delete_action.trigger()
            await _until(lambda: model.rowCount() == 2)
            assert [model.id_at(r) for r in range(2)] == [1, 3]
            await _until(lambda: app.window.counters.flows == 2, what="the engine's count")
            assert (await _status(app))["flows"] == 2
            assert await app.link.request("detail", id=2) == {"flow": None}
            assert (await app.link.request("detail", id=3))["flow"]["id"] == 3

    assert run_app(scenario) == 0


def test_copies_put_the_right_text_on_the_clipboard(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        clipboard = QGuiApplication.clipboard()
        async with Origin(_answer) as origin:
            await _get(app, origin, "/copy?x=1")
            await _until(lambda: app.window.model.rowCount() == 1)
            url = f"{origin.base}/copy?x=1"
            _select(app, 0)
            table = app.window.table
            clipboard.setText("")
            table.copy_url_action.trigger()
            await _until(lambda: clipboard.text() == url)
            clipboard.setText("")
            table.copy_curl_action.trigger()
            await _until(lambda: clipboard.text().startswith("curl "))
            assert f"'{url}'" in clipboard.text()
            clipboard.setText("")
            table.copy_body_action.trigger()
            await _until(lambda: clipboard.text() == "body of /copy?x=1")

    assert run_app(scenario) == 0


def test_a_killed_engine_is_said_in_words_and_a_restart_continues(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window, model = app.window, app.window.model
        async with Origin(_answer) as origin:
            await _get(app, origin, "/before/1", "/before/2", "/before/3")
            await _until(lambda: model.rowCount() == 3)
            old_pid = app.engine_pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)
            await _until(lambda: window.notice.isVisible(), what="the notice")
            text = window.notice.text.text()
            assert "stopped unexpectedly" in text and "SIGKILL" in text
            assert model.rowCount() == 3
            assert not app.controller.running and not app.link.connected
            assert window.notice.restart.isEnabled()

            window.notice.restart.click()
            await _until(lambda: app.link.connected and app.controller.running)
            await _until(lambda: not window.notice.isVisible(), what="the notice to hide")
            assert app.engine_pid not in (None, old_pid) and gone(old_pid)
            assert app.link.hello["first_id"] == 4
            await _get(app, origin, "/after/1", "/after/2")
            await _until(lambda: model.rowCount() == 5)
            ids = [model.id_at(r) for r in range(5)]
            paths = [model.data(model.index(r, Column.PATH)) for r in range(5)]
            assert ids == [1, 2, 3, 4, 5]
            assert paths[3:] == ["/after/1", "/after/2"]

    assert run_app(scenario) == 0


def test_the_program_has_one_child_its_engine_which_dies_with_it(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "INSPECTOR_HOME": str(tmp_path)}
    gui = subprocess.Popen(
        [sys.executable, "-m", "inspector", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    engine_pid = 0
    try:
        assert gui.stdout is not None
        line = gui.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        children = _children(gui.pid)
        assert len(children) == 1, children
        engine_pid = children[0]
        assert "__engine__" in _cmdline(engine_pid)
        gui.kill()
        gui.wait(TIMEOUT)
        assert wait_gone(engine_pid, 5.0), f"engine {engine_pid} outlived its window"
    finally:
        if gui.poll() is None:
            gui.kill()
            gui.wait()
        gui.stdout.close()  # type: ignore[union-attr]
        if engine_pid and not gone(engine_pid):
            os.kill(engine_pid, signal.SIGKILL)
