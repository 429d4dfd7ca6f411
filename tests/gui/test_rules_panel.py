"""The Rules panel in the window, against a real engine and origin: a
mock made in the editor answers a request (the panel counts its hit, the
flow's Rules tab says what it did), the order decides which rule
answers, a rule switched off lets flows through, rules files are
imported (and refused whole when they are not one) and exported, a rule
made from a flow mocks its response, and every rule, breakpoints
included, is kept in the settings, in order, given to a restarted
engine, and kept in step with changes made behind the window's back."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from inspector.app import DesktopApp
from inspector.core.config import load_settings
from inspector.core.rules_file import read_rules
from inspector.gui.rule_editor import RuleEditor
from inspector.gui.rule_reply_form import ReplyForm
from tests.gui.test_breakpoints_panel import add_breakpoint, echo, engine_rules, send
from tests.gui.test_engine_process import _get, _select, _until
from tests.proxy.harness import Origin

RunApp = Callable[..., int]


def mock(name: str, match: str, body: str, enabled: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "match": match,
        "enabled": enabled,
        "times": None,
        "actions": [{"type": "reply", "status": 200, "headers": {}, "body": body}],
    }


async def add_in_editor(app: DesktopApp, name: str, match: str, body: str) -> None:
    """A mock rule made the way a user does: Add…, the editor, OK."""
    panel = app.window.rules.panel
    count = len(panel.rows())
    panel.add_button.click()
    editor = panel.editor
    assert editor is not None and editor.isVisible()
    editor.name_box.setText(name)
    editor.match_box.setText(match)
    form = editor.add_action("reply")
    assert isinstance(form, ReplyForm)
    form.add_header_button.click()
    form.headers.item(0, 0).setText("Content-Type")  # type: ignore[union-attr]
    form.headers.item(0, 1).setText("application/json")  # type: ignore[union-attr]
    form.body_box.setPlainText(body)
    assert editor.ok_button.isEnabled(), editor.message.text()
    editor.ok_button.click()
    await _until(lambda: len(panel.rows()) == count + 1, what="the rule listed")


async def body_of(app: DesktopApp, url: str) -> bytes:
    answer = await send(app, "GET", url)
    return answer.body


def stored(app: DesktopApp) -> list[dict[str, Any]]:
    """The rules the settings file on disk holds."""
    return list(json.loads((app.options.confdir / "settings.json").read_text())["gui"]["rules"])


def test_a_mock_made_in_the_editor_answers_and_the_flow_says_so(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        panel = window.rules.panel
        assert panel.empty_label.isVisibleTo(panel)
        async with Origin(echo) as origin:
            await add_in_editor(app, "User mock", "path:/users/7", '{"id": 7}')
            assert panel.rows() == [
                ("User mock", "path:/users/7", "reply 200 application/json, 9 bytes", "0 hits")
            ]
            answer = await send(app, "GET", f"{origin.base}/users/7")
            assert (answer.status, answer.body) == (200, b'{"id": 7}')
            assert answer.header(b"content-type") == b"application/json"
            assert origin.requests == []
            await _until(lambda: panel.rows()[0][3] == "1 hit", what="the hit counted")
            # The flow's row is marked, and its details say what the rule did.
            await _until(lambda: window.model.rowCount() == 1, what="the row")
            flow_id = window.model.id_at(0)
            assert flow_id is not None
            await _until(lambda: bool(window.mirror.get(flow_id).ruled), what="the flag")  # type: ignore[union-attr]
            _select(app, 0)
            rules_tab = window.detail.rules
            await _until(lambda: bool(rules_tab.lines()), what="the Rules tab filled in")
            [line] = rules_tab.lines()
            assert line.startswith("User mock: reply: answered 200")
            tabs = window.detail
            assert tabs.tabText(tabs.indexOf(rules_tab)) == "Rules (1)"
            # Other flows go through untouched.
            assert (await body_of(app, f"{origin.base}/other")) == b"GET /other "
        assert [r["name"] for r in app.settings.gui.rules] == ["User mock"]
        assert stored(app)[0]["actions"][0]["body"] == '{"id": 7}'

    assert run_app(scenario) == 0


def test_the_order_decides_and_a_rule_switched_off_lets_flows_through(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        panel = app.window.rules.panel
        async with Origin(echo) as origin:
            url = f"{origin.base}/items"
            await add_in_editor(app, "First", "path:/items", "first")
            await add_in_editor(app, "Second", "path:/items", "second")
            assert (await body_of(app, url)) == b"first"
            # Move Down: the second answers now.
            panel.select(0)
            assert panel.down_button.isEnabled() and not panel.up_button.isEnabled()
            panel.down_button.click()
            await _until(lambda: [r[0] for r in panel.rows()] == ["Second", "First"])
            assert (await body_of(app, url)) == b"second"
            assert [r["name"] for r in app.settings.gui.rules] == ["Second", "First"]
            # Dragged back on top of the other.
            first = panel.tree.topLevelItem(1)
            panel.tree.drop(first, panel.tree.topLevelItem(0), below=False)  # type: ignore[arg-type]
            await _until(lambda: [r[0] for r in panel.rows()] == ["First", "Second"])
            assert (await body_of(app, url)) == b"first"
            # Switched off, each in turn.
            for row in range(2):
                item = panel.tree.topLevelItem(row)
                assert item is not None
                item.setCheckState(0, Qt.CheckState.Unchecked)
            await _until(lambda: not any(r["enabled"] for r in app.settings.gui.rules))
            assert not any(r["enabled"] for r in await engine_rules(app))
            assert (await body_of(app, url)) == b"GET /items "
            # Duplicate goes after its rule; Remove removes the selected one.
            panel.select(0)
            panel.duplicate_button.click()
            await _until(lambda: len(panel.rows()) == 3, what="the copy")
            assert [r[0] for r in panel.rows()] == ["First", "First (copy)", "Second"]
            panel.select(2)
            panel.remove_button.click()
            await _until(lambda: len(panel.rows()) == 2, what="the removal")
            assert [r["name"] for r in await engine_rules(app)] == ["First", "First (copy)"]

    assert run_app(scenario) == 0


def test_edit_changes_the_rule_in_place(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        panel = app.window.rules.panel
        async with Origin(echo) as origin:
            await add_in_editor(app, "Mock", "path:/a", "one")
            assert (await body_of(app, f"{origin.base}/a")) == b"one"
            panel.select(0)
            panel.edit_button.click()
            editor = panel.editor
            assert editor is not None and editor.name_box.text() == "Mock"
            form = editor.form_widget
            assert isinstance(form, ReplyForm) and form.body_box.toPlainText() == "one"
            form.body_box.setPlainText("two!")
            editor.ok_button.click()
            await _until(lambda: "4 bytes" in panel.rows()[0][2], what="the edit")
            assert panel.rows()[0][3] == "1 hit"  # the same rule, its hits kept
            assert (await body_of(app, f"{origin.base}/a")) == b"two!"

    assert run_app(scenario) == 0


def test_import_replaces_the_rules_and_bad_files_change_nothing(
    run_app: RunApp, tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"rules": [mock("A", "path:/a", "a"), mock("B", "path:/b", "b")]}))
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"rules": [')
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"rules": [{"match": "", "actions": [{"type": "nope"}]}]}))
    partly = tmp_path / "partly.json"
    partly.write_text(
        json.dumps(
            {
                "rules": [
                    mock("Fine", "path:/fine", "fine"),
                    {
                        "name": "Local",
                        "match": "host:x",
                        "actions": [{"type": "map_local", "path": str(tmp_path / "gone")}],
                    },
                ]
            }
        )
    )

    async def scenario(app: DesktopApp) -> None:
        control = app.window.rules
        panel = control.panel
        await add_in_editor(app, "Mine", "path:/mine", "mine")
        assert await control.import_file(good)
        assert [r[0] for r in panel.rows()] == ["A", "B"]
        assert [r["name"] for r in await engine_rules(app)] == ["A", "B"]
        await _until(lambda: [r["name"] for r in stored(app)] == ["A", "B"], what="kept")
        for bad, reason in ((not_json, "not JSON"), (wrong, "unknown action type 'nope'")):
            assert not await control.import_file(bad)
            box = control.message_box
            assert box is not None and box.isVisible()
            assert box.icon() == QMessageBox.Icon.Warning
            assert box.windowTitle() == "Rules not imported"
            assert reason in box.text() and bad.name in box.text()
            box.close()
            assert [r["name"] for r in await engine_rules(app)] == ["A", "B"]
        # A rule that cannot work is imported off, said, and shown in red.
        assert await control.import_file(partly)
        box = control.message_box
        assert box is not None and box.icon() == QMessageBox.Icon.Information
        assert "rule 2 (Local) disabled: map_local:" in box.text()
        assert "does not exist" in box.text()
        box.close()
        assert [r[0] for r in panel.rows()] == ["Fine", "Local"]
        [error] = panel.errors()
        assert "does not exist" in error
        item = panel.tree.topLevelItem(1)
        assert item is not None and item.foreground(0).color().red() > 200

    assert run_app(scenario) == 0


def test_export_writes_a_rules_file_that_imports_again(run_app: RunApp, tmp_path: Path) -> None:
    target = tmp_path / "out" / "rules.json"
    target.parent.mkdir()

    async def scenario(app: DesktopApp) -> None:
        control = app.window.rules
        await add_in_editor(app, "Mock", "path:/a", '{"ok": true}')
        await add_breakpoint(app, "method:POST", "both")
        await _until(lambda: len(control.panel.rows()) == 2)
        assert control.export_file(target)
        rules = read_rules(target.read_text())
        assert [(r["name"], r["actions"][0]["type"]) for r in rules] == [
            ("Mock", "reply"),
            ("Breakpoint 2", "breakpoint"),
        ]
        assert "hits" not in rules[0] and "id" not in rules[0]
        assert not control.export_file(tmp_path / "missing" / "rules.json")
        box = control.message_box
        assert box is not None and box.windowTitle() == "Rules not exported"
        assert "No such file or directory" in box.text()

    assert run_app(scenario) == 0


def test_every_rule_is_kept_in_order_and_given_to_a_restarted_engine(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        panel, breakpoints = window.rules.panel, window.breakpoints.panel
        await add_in_editor(app, "Mock", "path:/a", "a")
        await add_breakpoint(app, "method:POST", "both")
        await add_in_editor(app, "Late", "path:/b", "b")
        # As `inspector ctl rules` would: straight to the engine.
        await app.link.request(
            "add_rule",
            rule={"name": "From ctl", "match": "host:x", "actions": [{"type": "delay", "ms": 5}]},
        )
        await _until(lambda: len(panel.rows()) == 4, what="the rule from behind")
        names = ["Mock", "", "Late", "From ctl"]
        await _until(lambda: [r["name"] for r in stored(app)] == names, what="kept on disk")
        # The Breakpoints panel lists its own, and switching one there
        # keeps the others.
        assert breakpoints.labels() == ["method:POST"]
        item = breakpoints.tree.topLevelItem(0)
        assert item is not None
        item.setCheckState(0, Qt.CheckState.Unchecked)
        await _until(lambda: not stored(app)[1]["enabled"], what="the breakpoint off")
        assert [r["name"] for r in stored(app)] == names
        pid = app.engine_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await _until(lambda: window.notice.isVisible(), what="the engine lost")
        await app.restart_engine()
        assert app.engine_pid != pid
        rules = await engine_rules(app)
        assert [(r["name"], r["actions"][0]["type"], r["enabled"]) for r in rules] == [
            ("Mock", "reply", True),
            ("Breakpoint 2", "breakpoint", False),
            ("Late", "reply", True),
            ("From ctl", "delay", True),
        ]
        assert [r[0] for r in panel.rows()] == ["Mock", "Breakpoint 2", "Late", "From ctl"]
        assert breakpoints.labels() == ["method:POST"]
        assert [r["name"] for r in stored(app)] == names
        # Settings read back from the file hold the same list.
        settings, problems = load_settings(app.options.confdir)
        assert problems == [] and [r["name"] for r in settings.gui.rules] == names

    assert run_app(scenario) == 0


def test_rules_from_settings_written_before_are_restored(run_app: RunApp, tmp_path: Path) -> None:
    confdir = tmp_path / "old"
    confdir.mkdir()
    breakpoint_rule = {"match": "path:/held", "actions": [{"type": "breakpoint", "on": "request"}]}
    (confdir / "settings.json").write_text(json.dumps({"gui": {"breakpoints": [breakpoint_rule]}}))
    settings, problems = load_settings(confdir)
    assert problems == []
    settings.proxy.listen_port = 0

    async def scenario(app: DesktopApp) -> None:
        await _until(lambda: len(app.window.rules.panel.rows()) == 1, what="the rule shown")
        assert app.window.breakpoints.panel.labels() == ["path:/held"]
        [rule] = await engine_rules(app)
        assert rule["match"] == "path:/held"

    assert run_app(scenario, settings=settings) == 0


def test_a_rule_from_a_flow_mocks_its_response(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        control = window.rules
        async with Origin(echo) as origin:
            await _get(app, origin, "/items/7?full=1")
            await _until(lambda: window.model.rowCount() == 1)
            _select(app, 0)
            entries = [a.text() for a in window.table.rule_menu.actions()]
            assert entries[0] == "Mock This Response" and "Throttle" in entries
            window.table.rule_menu.actions()[0].trigger()
            await _until(lambda: _open_editor(app) is not None, what="the editor")
            editor = _open_editor(app)
            assert editor is not None
            assert editor.match_box.text() == "host:127.0.0.1 path:/items/7"
            form = editor.form_widget
            assert isinstance(form, ReplyForm)
            assert form.status_box.value() == 200
            assert form.header_pairs() == [("Content-Type", "text/plain")]
            assert form.body_box.toPlainText() == "GET /items/7?full=1 "
            form.body_box.setPlainText("mocked")
            editor.ok_button.click()
            await _until(lambda: len(control.panel.rows()) == 1, what="the rule added")
            assert (await body_of(app, f"{origin.base}/items/7?other")) == b"mocked"
            assert len(origin.requests) == 1
            # Map Remote starts from the flow's own origin.
            window.table.rule_menu.actions()[1].trigger()
            await _until(
                lambda: (
                    (e := _open_editor(app)) is not None
                    and e.rule()["actions"][0]["type"] == "map_remote"
                ),
                what="the map remote editor",
            )
            editor = _open_editor(app)
            assert editor is not None
            assert editor.rule()["actions"][0]["to"] == f"http://127.0.0.1:{origin.port}"
            editor.reject()

    assert run_app(scenario) == 0


def _open_editor(app: DesktopApp) -> RuleEditor | None:
    editor = app.window.rules.panel.editor
    return editor if editor is not None and editor.isVisible() else None
