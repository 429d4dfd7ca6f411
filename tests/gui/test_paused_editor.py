"""The paused-flow editor against a real engine and origin: a held POST
is shown with its method, URL, headers and body; its edits reach the
origin and the client gets the answer; Abort gives the client a 502 (or
a reset); an edit the engine refuses is said and loses nothing; a second
flow held meanwhile neither replaces the one being edited nor takes the
focus, and is offered once the first is done; a held response's status
is edited; Resume All lets everything go."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from PySide6.QtWidgets import QApplication

from inspector.app import DesktopApp
from inspector.gui.paused_editor import PausedEditor
from inspector.gui.paused_message import MessageEditor
from tests.gui.test_breakpoints_panel import add_breakpoint, echo, send
from tests.gui.test_engine_process import _until
from tests.proxy.harness import Client, Origin, Received, Reply

RunApp = Callable[..., int]
JSON = [(b"Content-Type", b"application/json"), (b"X-Trace", b"one")]


def _editor(app: DesktopApp) -> PausedEditor:
    return app.window.breakpoints.editor


async def _editing(app: DesktopApp, count: int = 1) -> MessageEditor:
    """Wait for ``count`` held flows and the current one loaded."""
    editor = _editor(app)
    await _until(lambda: len(app.window.breakpoints.held) == count, what=f"{count} held")
    await _until(
        lambda: editor.current is not None and editor.current in editor.editors,
        what="the held flow loaded",
    )
    assert editor.current is not None
    return editor.editors[editor.current]


def _set_header(message: MessageEditor, name: str, value: str) -> None:
    table = message.headers.table
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        if item is not None and item.text().lower() == name.lower():
            table.item(row, 1).setText(value)  # type: ignore[union-attr]
            return
    row = message.headers.add(name, value)
    assert row >= 0


def test_an_edited_post_reaches_the_origin_and_the_client_gets_its_answer(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        editor = _editor(app)
        async with Origin(echo) as origin:
            await add_breakpoint(app, "method:POST")
            answer = send(app, "POST", f"{origin.base}/x", b'{"a":1}', JSON)
            message = await _editing(app)
            editor.open()
            assert message.method_box.text() == "POST"
            assert message.url_box.text() == f"{origin.base}/x"
            assert message.body_edit.toPlainText() == '{"a":1}'
            assert ("X-Trace", "one") in message.headers.pairs()
            assert (
                "POST " in message.raw_head() and "X-Trace: one" in message.raw_view.toPlainText()
            )
            assert "held at its request for 0:0" in editor.title.text()
            assert editor.execute_button.isEnabled()
            _set_header(message, "X-Trace", "edited")
            _set_header(message, "X-Added", "yes")
            message.body_edit.setPlainText('{"a": 2, "edited": true}')
            assert "X-Added: yes" in message.raw_view.toPlainText()
            editor.execute()
            result = await answer
            assert result.status == 200
            assert result.body == b'POST /x {"a": 2, "edited": true}'
            [received] = origin.requests
            headers = {n.lower(): v for n, v in received.headers}
            assert headers[b"x-trace"] == b"edited" and headers[b"x-added"] == b"yes"
            assert headers[b"content-length"] == b"24"
            await _until(lambda: editor.current is None, what="the editor emptied")
            assert "sent on edited" in editor.note_label.text()
            assert editor.stack.currentWidget() is editor.empty
            await _until(
                lambda: "resumed edited at its request" in "\n".join(app.window.log.lines()),
                what="the log line",
            )

    assert run_app(scenario) == 0


def test_abort_answers_502_with_the_reason_or_resets(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        editor = _editor(app)
        async with Origin(echo) as origin:
            await add_breakpoint(app, "path:/stop")
            answer = send(app, "GET", f"{origin.base}/stop")
            await _editing(app)
            editor.reason_box.setText("not today")
            editor.abort()
            result = await answer
            assert result.status == 502 and b"not today" in result.body
            assert origin.requests == []
            await _until(lambda: len(app.window.breakpoints.held) == 0)

            client = await Client.connect(int(app.controller.address.rsplit(":", 1)[1]))
            await client.send(
                f"GET {origin.base}/stop HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            await _editing(app)
            editor.reset_check.setChecked(True)
            editor.abort()
            assert await client.closed_by_peer()
            client.close()

    assert run_app(scenario) == 0


def test_a_refused_edit_is_said_and_the_flow_stays_held_with_its_edits(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        editor = _editor(app)
        async with Origin(echo) as origin:
            await add_breakpoint(app, "method:POST")
            answer = send(
                app, "POST", f"{origin.base}/y", b"plain", [(b"Content-Type", b"text/plain")]
            )
            message = await _editing(app)
            flow_id = editor.current
            message.headers.add("Bad Name", "x")
            message.body_edit.setPlainText("kept")
            editor.execute()
            await _until(lambda: "invalid header name" in editor.error_label.text())
            assert "Bad Name" in editor.error_label.text()
            await asyncio.sleep(0.2)
            assert not answer.done() and origin.requests == []
            assert editor.current == flow_id and flow_id in app.window.breakpoints.held
            assert editor.editors[flow_id] is message
            assert message.body_edit.toPlainText() == "kept"
            # Mended, it goes.
            message.headers.table.removeRow(message.headers.table.rowCount() - 1)
            editor.execute()
            assert (await answer).body == b"POST /y kept"

    assert run_app(scenario) == 0


def test_a_second_pause_neither_replaces_the_flow_being_edited_nor_takes_the_focus(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        editor = _editor(app)
        async with Origin(echo) as origin:
            await add_breakpoint(app, "method:POST")
            first = send(
                app, "POST", f"{origin.base}/first", b"1", [(b"Content-Type", b"text/plain")]
            )
            message = await _editing(app)
            first_id = editor.current
            editor.open()
            await _until(lambda: QApplication.activeWindow() is editor, what="the editor active")
            message.body_edit.setFocus()
            await _until(lambda: QApplication.focusWidget() is message.body_edit, what="focus")
            message.body_edit.setPlainText("one, edited")
            focused = QApplication.focusWidget()
            active = QApplication.activeWindow()
            second = send(
                app, "POST", f"{origin.base}/second", b"2", [(b"Content-Type", b"text/plain")]
            )
            await _until(lambda: len(app.window.breakpoints.held) == 2, what="the second held")
            await asyncio.sleep(0.3)
            assert editor.current == first_id
            assert editor.stack.currentWidget() is message
            assert message.body_edit.toPlainText() == "one, edited"
            assert QApplication.focusWidget() is focused
            assert QApplication.activeWindow() is active
            assert editor.more_label.text() == "1 more paused"
            assert editor.list.count() == 2
            assert app.window.breakpoints.badge.text() == "2 paused"
            editor.execute()
            assert (await first).body == b"POST /first one, edited"
            # The second is offered now.
            second_message = await _editing(app)
            assert editor.current != first_id
            assert second_message.url_box.text().endswith("/second")
            assert editor.more_label.text() == ""
            editor.resume_unchanged()
            assert (await second).body == b"POST /second 2"

    assert run_app(scenario) == 0


async def _json_reply(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"application/json")], json.dumps({"ok": True}).encode())


def test_a_held_response_gets_a_new_status_and_resume_all_lets_everything_go(
    run_app: RunApp,
) -> None:
    async def scenario(app: DesktopApp) -> None:
        editor = _editor(app)
        async with Origin(_json_reply) as origin:
            await add_breakpoint(app, "path:/answer", "response")
            answer = send(app, "GET", f"{origin.base}/answer")
            message = await _editing(app)
            assert message.response_row.isVisibleTo(editor)
            assert not message.request_row.isVisibleTo(editor)
            assert message.status_box.value() == 200
            assert message.body_edit.toPlainText() == '{"ok": true}'
            message.status_box.setValue(418)
            message.reason_box.setText("Teapot")
            message.body_edit.setPlainText('{"ok": false}')
            editor.execute()
            result = await answer
            assert result.status == 418 and result.body == b'{"ok": false}'

            others = [send(app, "GET", f"{origin.base}/answer?n={n}") for n in range(3)]
            await _editing(app, 3)
            editor.resume_all_button.click()
            for other in others:
                assert (await other).status == 200
            await _until(lambda: editor.current is None)
            await _until(lambda: app.window.breakpoints.badge.text() == "0 paused")

    assert run_app(scenario) == 0
