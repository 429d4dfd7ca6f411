"""Replay from the flow table: R on a row sends its request again through
the engine, and the new row says it is a replay; "Replay 10 Times" sends
it ten times; a refusal is said in the status bar and the event log."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from inspector.app import DesktopApp
from inspector.gui.flow_cells import REPLAY_MARK, Column
from tests.gui.test_engine_process import _get, _port, _select, _until
from tests.proxy.harness import Client, Origin, Received, Reply

RunApp = Callable[..., int]


async def _answer(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"text/plain")], b"body of " + req.target)


def test_r_replays_the_selected_row(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        model, table = window.model, window.table
        async with Origin(_answer) as origin:
            await _get(app, origin, "/again?x=1")
            await _until(lambda: model.rowCount() == 1)
            window.activateWindow()
            table.setFocus()
            _select(app, 0)
            assert table.replay_action.shortcut().toString() == "R"
            QTest.keyClick(table, Qt.Key.Key_R)
            await _until(lambda: model.rowCount() == 2, what="the replay's row")
            assert len(origin.requests) == 2
            assert origin.requests[1].target == b"/again?x=1"
            replay = model.index(1, Column.PATH)
            assert model.data(replay) == f"{REPLAY_MARK}/again?x=1"
            assert model.data(model.index(0, Column.PATH)) == "/again?x=1"
            tip = model.data(model.index(1, Column.ID), Qt.ItemDataRole.ToolTipRole)
            assert tip is not None and tip.startswith("Replay")
            assert model.data(model.index(0, Column.ID), Qt.ItemDataRole.ToolTipRole) is None
            second = app.mirror.get(model.id_at(1) or 0)
            assert second is not None and second.is_replay
            # Its details name the flow it replays.
            _select(app, 1)
            summary = window.detail.request.summary
            await _until(lambda: "Replay of #" in summary.text(), what="the replay's details")
            assert f"Replay of #{model.id_at(0)}" in summary.text()

            _select(app, 0)
            table.replay_many_action.trigger()
            await _until(lambda: model.rowCount() == 12, what="ten more rows")
            await _until(lambda: len(origin.requests) == 12, what="ten more requests")
            window.filter_box.setText("is:replay")
            window.filter_bar.apply()
            await _until(lambda: model.rowCount() == 11, what="the replays alone")

    assert run_app(scenario) == 0


def test_a_refused_replay_is_said(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        async with Origin(_answer) as origin:
            client = await Client.connect(_port(app))
            authority = f"127.0.0.1:{origin.port}"
            await client.send(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
            await _until(lambda: window.model.rowCount() == 1, what="the tunnel's row")
            _select(app, 0)
            window.table.replay_action.trigger()
            await _until(
                lambda: "CONNECT tunnel" in window.statusBar().currentMessage(),
                what="the refusal in the status bar",
            )
            assert any("refused" in line for line in window.log.lines())
            client.close()
            assert window.model.rowCount() == 1

    assert run_app(scenario) == 0
