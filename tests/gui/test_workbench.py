"""The workbench layout and the window defects a new user met, end to end
in the desktop app: the detail pane collapsed until a flow is selected and
placed below or beside, the layout remembered in window.json, the side
panels as status-bar buttons, the empty window's hint, the toolbar after a
failed start, the selection after filtering and deleting and on Home/End,
and the frozen display named as such."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from inspector.app import DesktopApp
from inspector.core.settings import Settings
from inspector.gui.flow_cells import Column
from inspector.gui.help_menu import ShortcutsDialog, shortcuts
from inspector.gui.window_state import STATE_FILE, WindowStateFile
from tests.proxy.harness import Client

RunApp = Callable[..., int]


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _flows(app: DesktopApp, count: int) -> None:
    """``count`` flows: requests for the proxy's own help page."""
    port = int(app.controller.address.rsplit(":", 1)[1])
    client = await Client.connect(port)
    for i in range(count):
        await client.send(f"GET /{i} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        await client.reader.readuntil(b"</html>")
    client.close()
    model = app.window.model
    await _until(lambda: model.rowCount() == count)


def _key(
    app: DesktopApp, key: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    table = app.window.table
    for kind in (QKeyEvent.Type.KeyPress, QKeyEvent.Type.KeyRelease):
        QApplication.sendEvent(table, QKeyEvent(kind, key, mods))


def test_the_detail_pane_opens_with_a_selection_and_the_list_keeps_the_room(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        window.show()
        await _flows(app, 3)
        assert not window.workbench.detail_open
        assert window.table.height() > window.height() * 0.6
        # A first run keeps the side panels closed, their badges in the status bar.
        assert not window.pressure_dock.isVisible() and not window.log_dock.isVisible()
        window.pressure_badge.click()
        assert window.pressure_dock.isVisible() and window.pressure_badge.isChecked()
        window.pressure_badge.click()
        assert not window.pressure_dock.isVisible()
        window.navigation.select_row(1)
        assert window.workbench.detail_open
        assert window.workbench.orientation() == Qt.Orientation.Vertical
        window.view_options.placement_actions["beside"].trigger()
        assert window.workbench.orientation() == Qt.Orientation.Horizontal
        window.table.clearSelection()
        assert not window.workbench.detail_open

    assert run_app(scenario) == 0


def test_the_layout_columns_and_theme_are_remembered(run_app: RunApp, tmp_path: Path) -> None:
    async def first(app: DesktopApp) -> None:
        window = app.window
        window.view_options.placement_actions["beside"].trigger()
        window.columns.set_shown(Column.RULES, True)
        window.columns.set_shown(Column.TIME, False)
        window.log_dock.show()
        window.view_options.set_theme("dark")

    async def second(app: DesktopApp) -> None:
        window = app.window
        assert window.workbench.placement == "beside"
        header = window.table.horizontalHeader()
        assert not header.isSectionHidden(Column.RULES) and header.isSectionHidden(Column.TIME)
        assert window.view_options.theme == "dark"
        assert not window.log_dock.isHidden()
        window.view_options.set_theme("system")

    assert run_app(first) == 0
    saved = json.loads((tmp_path / "conf" / STATE_FILE).read_text())
    assert saved["placement"] == "beside" and saved["theme"] == "dark"
    assert run_app(second) == 0
    assert WindowStateFile(tmp_path / "conf").load().theme == "system"


def test_a_damaged_state_file_is_the_default_layout(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text('{"placement": "sideways", "geometry": "%%", "split": 3}')
    state = WindowStateFile(tmp_path).load()
    assert state.placement == "below" and state.geometry == b"" and state.split == {}
    (tmp_path / STATE_FILE).write_text("not json")
    assert WindowStateFile(tmp_path).load().theme == "system"


def test_the_empty_window_says_where_the_proxy_listens(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        window.show()
        hint = window.empty_hint
        assert hint.isVisible()
        address = app.controller.address
        assert f"curl -x http://{address}" in hint.text()
        assert f"https_proxy=http://{address}" in hint.text()
        with_ca: list[bool] = []
        window.ca_requested.connect(lambda: with_ca.append(True))
        hint.linkActivated.emit("inspector:ca")
        assert with_ca == [True]
        await _flows(app, 1)
        assert not hint.isVisible()

    assert run_app(scenario) == 0


def test_after_a_failed_start_the_toolbar_offers_start(run_app: RunApp) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()

    async def scenario(app: DesktopApp) -> None:
        assert not app.controller.running
        window = app.window
        assert window.toggle_action.text() == "Start"
        assert window.address_label.text() == "Proxy stopped"
        assert "stopped" in window.empty_hint.text()

    try:
        settings = Settings()
        settings.proxy.listen_port = blocker.getsockname()[1]
        assert run_app(scenario, settings=settings) == 0
    finally:
        blocker.close()


def test_selection_follows_filter_delete_and_home_end(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        window.show()
        await _flows(app, 5)
        table = window.table
        _key(app, Qt.Key.Key_End)
        assert table.current_flow_id() == 5
        _key(app, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
        assert table.current_flow_id() == 1
        _key(app, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        assert table.current_flow_id() == 5
        _key(app, Qt.Key.Key_Home)
        assert table.current_flow_id() == 1
        await _until(lambda: window.detail.flow_id == 1)
        # Delete: the next flow is selected.
        window.navigation.select_row(1)
        table.delete_selected()
        assert table.current_flow_id() == 3
        assert window.workbench.detail_open
        # The filter hides the selected flow: the detail pane lets it go.
        await _until(lambda: window.detail.flow_id == 3)
        window.filter_box.setText("path:/0")
        window.filter_bar.apply()
        await _until(lambda: window.model.rowCount() == 1 and not window.model.job_running)
        assert table.current_flow_id() is None
        await _until(lambda: window.detail.flow_id is None)
        assert not window.workbench.detail_open

    assert run_app(scenario) == 0


def test_freezing_the_display_says_so_and_what_waits(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        window.show()
        await _flows(app, 2)
        window.pause_action.trigger()
        assert window.pause_action.text() == "Unfreeze Display"
        notice = window.frozen_notice
        assert notice.isVisible() and "Display frozen" in notice.text()
        port = int(app.controller.address.rsplit(":", 1)[1])
        client = await Client.connect(port)
        for i in range(3):
            await client.send(f"GET /{i} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            await client.reader.readuntil(b"</html>")
        client.close()
        await _until(lambda: len(app.mirror) == 5)
        window.refresh_stats()
        assert "3 new flows" in notice.text()
        assert window.count_label.text().startswith("2 flows shown")
        assert "of" not in window.count_label.text().split("(")[0]
        window.pause_action.trigger()
        assert not notice.isVisible() and window.model.rowCount() == 5

    assert run_app(scenario) == 0


def test_help_lists_the_shortcuts_of_the_window(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        listed = dict(shortcuts(window))
        assert listed["Freeze Display"] == "Ctrl+P"
        assert listed["Keyboard Shortcuts"] == "Ctrl+/"
        assert "First flow" in listed
        window.help_menu.show_shortcuts()
        dialog = window.findChild(ShortcutsDialog)
        assert dialog is not None and dialog.table.rowCount() == len(listed)
        dialog.close()
        titles = [a.text() for a in window.menuBar().actions()]
        assert titles[-1] == "&Help"

    assert run_app(scenario) == 0


def test_the_column_chooser_adds_the_http_version_and_the_addresses(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        header = window.table.horizontalHeader()
        for column in (Column.VERSION, Column.CLIENT_ADDR, Column.SERVER_ADDR):
            assert header.isSectionHidden(column)
            window.columns.set_shown(column, True)
            assert not header.isSectionHidden(column)
        # Rules and proxy time are shown from the start.
        assert not header.isSectionHidden(Column.RULES)
        assert not header.isSectionHidden(Column.PROXY)
        await _flows(app, 1)
        model = window.model
        texts = {
            column: model.data(model.index(0, column))
            for column in (Column.VERSION, Column.CLIENT_ADDR)
        }
        assert texts[Column.VERSION] == "HTTP/1.1"
        assert texts[Column.CLIENT_ADDR].startswith("127.0.0.1:")
        # The help page is answered by the proxy itself: no server address.
        assert model.data(model.index(0, Column.SERVER_ADDR)) in ("", None)

    assert run_app(scenario) == 0
