"""The breakpoints panel in the window, against a real engine: a
breakpoint added in its dialog holds a request (the badge counts it, the
table's status cell says so, the log too), the dialog checks expressions
as they are typed, a rule added behind the window's back (as ``inspector
ctl break add`` does) shows up, switching and removing reach the engine,
"Break on this host/path" fills the dialog in, and the breakpoints are
kept in the settings and given to a restarted engine."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt

from inspector.app import DesktopApp
from inspector.core.events import FlowPaused, FlowResumed, RulesChanged
from inspector.gui.breakpoint_dialog import BreakpointDialog
from inspector.gui.breakpoint_rules import path_match, quote_value
from inspector.gui.event_log import describe
from inspector.gui.flow_cells import Column
from tests.gui.test_engine_process import _get, _port, _select, _until
from tests.proxy.harness import Answer, Client, Origin, Received, Reply

RunApp = Callable[..., int]


async def echo(req: Received) -> Reply:
    """Answers with what it got: method, target, body."""
    body = req.method + b" " + req.target + b" " + req.body
    return Reply(200, [(b"Content-Type", b"text/plain")], body)


def send(
    app: DesktopApp,
    method: str,
    url: str,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> asyncio.Task[Answer]:
    """A client's request through the proxy, answered whenever it is."""

    async def go() -> Answer:
        client = await Client.connect(_port(app))
        try:
            return await client.request(method, url, headers=headers, body=body)
        finally:
            client.close()

    return asyncio.ensure_future(go())


async def add_breakpoint(app: DesktopApp, match: str, on: str = "request") -> None:
    """Add a breakpoint the way a user does: the panel's Add dialog."""
    panel = app.window.breakpoints.panel
    count = len(panel.labels())
    dialog = panel.open_add_dialog()
    dialog.match_box.setText(match)
    dialog.set_on(on)
    assert dialog.add_button.isEnabled(), dialog.message.text()
    dialog.accept()
    await _until(lambda: len(panel.labels()) == count + 1, what="the breakpoint listed")


async def engine_rules(app: DesktopApp) -> list[dict[str, Any]]:
    return list((await app.link.request("rules"))["rules"])


def test_a_breakpoint_from_the_panel_holds_a_request_and_the_window_shows_it(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        control = window.breakpoints
        assert control.badge.text() == "0 paused"
        async with Origin(echo) as origin:
            await add_breakpoint(app, "path:/held")
            assert control.panel.labels() == ["path:/held"]
            [rule] = await engine_rules(app)
            assert rule["match"] == "path:/held" and rule["enabled"]
            answer = send(app, "GET", f"{origin.base}/held?x=1")
            await _until(lambda: len(control.held) == 1, what="the flow held")
            assert control.badge.text() == "1 paused"
            assert origin.requests == []
            [flow_id] = control.held.ids()
            await _until(lambda: window.model.rowCount() == 1, what="the held row")
            row = window.model.row_of(flow_id)
            assert row is not None
            status = window.model.index(row, Column.STATUS)
            await _until(
                lambda: str(window.model.data(status)).startswith("Paused · request · 0:0"),
                what="the status cell",
            )
            assert f"Flow {flow_id} paused at its request" in "\n".join(window.log.lines())
            # Its hit is counted in the panel.
            await _until(lambda: "1 hit" in _hits(app), what="the hit counted")
            # The filter knows it too.
            window.filter_box.setText("is:paused")
            window.filter_bar.apply()
            window.model.wait_job()
            assert window.model.rowCount() == 1
            control.editor.resume_unchanged()
            assert (await answer).status == 200
            await _until(lambda: len(control.held) == 0, what="the flow let go")
            assert control.badge.text() == "0 paused"
            assert window.model.data(status) != "Paused"
            assert origin.requests[0].target == b"/held?x=1"

    assert run_app(scenario) == 0


def _hits(app: DesktopApp) -> str:
    tree = app.window.breakpoints.panel.tree
    item = tree.topLevelItem(0)
    return item.text(2) if item is not None else ""


def test_the_dialog_checks_the_expression_as_it_is_typed(qtbot: Any) -> None:
    dialog = BreakpointDialog()
    qtbot.addWidget(dialog)
    assert dialog.add_button.isEnabled()
    assert "every flow" in dialog.message.text()
    dialog.match_box.setText("host:(")
    assert not dialog.add_button.isEnabled()
    assert "needs a value" in dialog.message.text()
    dialog.match_box.setText("status:5xx")
    assert not dialog.add_button.isEnabled()
    assert "response" in dialog.message.text()
    dialog.set_on("response")
    assert dialog.add_button.isEnabled() and dialog.message.text() == ""
    dialog.limit_check.setChecked(True)
    dialog.limit_box.setValue(3)
    chosen: list[Any] = []
    dialog.rule_chosen.connect(chosen.append)
    dialog.accept()
    assert chosen == [
        {
            "match": "status:5xx",
            "enabled": True,
            "times": 3,
            "actions": [{"type": "breakpoint", "on": "response"}],
        }
    ]


def test_values_are_quoted_where_the_filter_language_needs_it() -> None:
    assert quote_value("api.example.com") == "api.example.com"
    assert quote_value("/v1/items") == "/v1/items"
    assert quote_value("/v1/") == '"/v1/"'
    assert quote_value('a "b" (c)') == '"a \\"b\\" (c)"'
    assert path_match("h", "/a b?q=1") == 'host:h path:"/a b"'


def test_a_rule_added_behind_the_window_shows_and_is_switched_and_removed(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        panel = app.window.breakpoints.panel
        # As `inspector ctl break add` does: straight to the engine.
        await app.link.request(
            "add_rule",
            rule={"match": "host:api", "actions": [{"type": "breakpoint", "on": "both"}]},
        )
        await _until(lambda: panel.labels() == ["host:api"], what="the rule listed")
        item = panel.tree.topLevelItem(0)
        assert item is not None and item.text(1) == "both"
        assert app.settings.gui.rules[0]["match"] == "host:api"
        item.setCheckState(0, Qt.CheckState.Unchecked)
        await _until(lambda: not app.settings.gui.rules[0]["enabled"], what="switched off, kept")
        assert not (await engine_rules(app))[0]["enabled"]
        # One the engine cannot use is listed with why, in red.
        await app.link.request(
            "add_rule",
            rule={
                "match": "status:404",
                "times": 2,
                "actions": [{"type": "breakpoint", "on": "request"}],
            },
        )
        await _until(lambda: len(panel.labels()) == 2, what="the second rule")
        [error] = panel.errors()
        assert "status:404" in error and "response" in error
        assert "only 2 more" in _hits_of(app, 1)
        panel.tree.topLevelItem(0).setSelected(True)  # type: ignore[union-attr]
        panel.remove_selected()
        await _until(lambda: panel.labels() == ["status:404"], what="the first removed")
        assert [r["match"] for r in app.settings.gui.rules] == ["status:404"]
        saved = json.loads((app.options.confdir / "settings.json").read_text())
        assert [r["match"] for r in saved["gui"]["rules"]] == ["status:404"]

    assert run_app(scenario) == 0


def _hits_of(app: DesktopApp, row: int) -> str:
    item = app.window.breakpoints.panel.tree.topLevelItem(row)
    return item.text(2) if item is not None else ""


def test_break_on_this_host_and_path_fill_the_dialog_in(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        panel = window.breakpoints.panel
        async with Origin(echo) as origin:
            await _get(app, origin, "/items/7?full=1")
            await _until(lambda: window.model.rowCount() == 1)
            _select(app, 0)
            window.table.break_path_action.trigger()
            dialog = panel.findChild(BreakpointDialog)
            assert dialog is not None and dialog.isVisible()
            assert dialog.match_box.text() == "host:127.0.0.1 path:/items/7"
            dialog.reject()
            window.table.break_host_action.trigger()
            await _until(lambda: _open_dialog(app) is not None)
            dialog = _open_dialog(app)
            assert dialog is not None and dialog.match_box.text() == "host:127.0.0.1"
            dialog.accept()
            await _until(lambda: panel.labels() == ["host:127.0.0.1"])
            # From the filter box.
            window.filter_box.setText("method:POST")
            panel.from_filter_button.click()
            dialog = _open_dialog(app)
            assert dialog is not None and dialog.match_box.text() == "method:POST"
            dialog.reject()

    assert run_app(scenario) == 0


def _open_dialog(app: DesktopApp) -> BreakpointDialog | None:
    for dialog in app.window.breakpoints.panel.findChildren(BreakpointDialog):
        if dialog.isVisible():
            return dialog
    return None


def test_breakpoints_are_kept_and_given_to_a_restarted_engine(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        panel = app.window.breakpoints.panel
        await add_breakpoint(app, "method:POST", "both")
        await add_breakpoint(app, 'path:"/a b"')
        pid = app.engine_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await _until(lambda: app.window.notice.isVisible(), what="the engine lost")
        await app.restart_engine()
        assert app.engine_pid != pid
        rules = await engine_rules(app)
        assert [(r["match"], r["actions"][0]["on"]) for r in rules] == [
            ("method:POST", "both"),
            ('path:"/a b"', "request"),
        ]
        assert panel.labels() == ["method:POST", 'path:"/a b"']
        saved = json.loads((app.options.confdir / "settings.json").read_text())
        assert [r["match"] for r in saved["gui"]["rules"]] == ["method:POST", 'path:"/a b"']

    assert run_app(scenario) == 0


def test_the_log_says_what_breakpoints_did() -> None:
    assert describe(FlowPaused(12, "request", 0)) == "Flow 12 paused at its request"
    assert describe(FlowResumed(12, "response", "edited")) == (
        "Flow 12 resumed edited at its response"
    )
    assert describe(FlowResumed(3, "request", "gone")) == (
        "Flow 3 ended while paused at its request: the client left"
    )
    assert describe(RulesChanged(1)) == "Rules changed: 1 rule now"
