"""The composer against a real engine and origin: a POST with JSON is sent
through the engine and its response shown; Edit and Resend fills the
editor from a row; curl imports fill it from a command; bad input is said
in the window; the history lists the composed flows, newest first."""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from inspector.app import DesktopApp
from inspector.gui.composer import ComposerWindow
from tests.gui.test_engine_process import _get, _select, _until
from tests.proxy.harness import Origin, Received, Reply

RunApp = Callable[..., int]


async def _echo(req: Received) -> Reply:
    answer = {
        "method": req.method.decode(),
        "target": req.target.decode(),
        "headers": {n.decode(): v.decode() for n, v in req.headers},
        "body": req.body.decode(),
    }
    headers = [(b"Content-Type", b"application/json"), (b"X-Origin", b"echo")]
    return Reply(200, headers, json.dumps(answer).encode())


def _composer(app: DesktopApp) -> ComposerWindow:
    window = app.window
    window.composer_action.trigger()
    composer = window.composer.window
    assert composer is not None and composer.isVisible()
    return composer


def _echoed(composer: ComposerWindow) -> dict[str, object]:
    return dict(json.loads(composer.response.body.text.toPlainText()))


def test_a_json_post_is_sent_and_its_response_shown(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        composer = _composer(app)
        editor = composer.editor
        async with Origin(_echo) as origin:
            editor.method.setCurrentText("POST")
            editor.url.setText(f"{origin.base}/items?x=1")
            editor.body.set_mode("json")
            assert editor.headers.value_of("Content-Type") == "application/json"
            editor.body.text.setPlainText('{"name": "caf\u00e9",\n "n": }')
            assert editor.warning is not None and "line 2:7" in editor.warning
            assert "line 2:7" in composer.problem.text()
            editor.body.text.setPlainText('{"name": "caf\u00e9", "n": 1}')
            assert editor.warning is None and not composer.problem.text()
            editor.body.format_json()
            assert editor.body.text.toPlainText().startswith('{\n  "name"')
            editor.headers.add("X-Trace", "abc")
            # Ctrl+Return sends (a window shortcut: which window the
            # offscreen platform calls active after other tests is its own
            # affair, so the test presses the button the shortcut triggers).
            keys = [k.toString() for k in composer.send_action.shortcuts()]
            assert "Ctrl+Return" in keys
            composer.send_button.click()
            await _until(lambda: "200" in composer.status.text(), what="the response")
            [received] = origin.requests
            assert received.method == b"POST" and received.target == b"/items?x=1"
            assert json.loads(received.body) == {"name": "café", "n": 1}
            sent = dict(received.headers)
            assert sent[b"content-length"] == str(len(received.body)).encode()
            assert sent[b"content-type"] == b"application/json"
            assert sent[b"x-trace"] == b"abc"
            assert "HTTP/1.1 200 OK" in composer.status.text()
            await _until(lambda: bool(composer.response.body.text.toPlainText()))
            assert _echoed(composer)["body"] == received.body.decode()
            headers = composer.response.headers
            names = [headers.item(r, 0).text() for r in range(headers.rowCount())]
            assert "X-Origin" in names
            # The composed flow is a row like any other, marked so.
            model = app.window.model
            await _until(lambda: model.rowCount() == 1, what="the composed row")
            row = app.mirror.get(model.id_at(0) or 0)
            assert row is not None and row.is_composed
            # The entry comes with the flow's first row and shows its status
            # once the row that ends it arrives.
            await _until(
                lambda: (
                    composer.history.count() == 1
                    and "200  POST /items?x=1" in composer.history.item(0).text()
                ),
                what="the history entry, answered",
            )

    assert run_app(scenario) == 0


def test_edit_and_resend_prefills_from_a_row(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        async with Origin(_echo) as origin:
            await _get(app, origin, "/original?q=1")
            await _until(lambda: window.model.rowCount() == 1)
            window.activateWindow()
            window.table.setFocus()
            _select(app, 0)
            assert window.table.edit_action.shortcut().toString() == "Shift+R"
            QTest.keyClick(window.table, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
            composer = window.composer.window
            assert composer is not None
            editor = composer.editor
            url = f"{origin.base}/original?q=1"
            await _until(lambda: editor.url.text() == url, what="the request loaded")
            assert editor.method.currentText() == "GET"
            assert ("Host", f"127.0.0.1:{origin.port}") in editor.headers.pairs()
            # Its response shows too, until a new one comes.
            assert "HTTP/1.1 200" in composer.status.text()
            editor.method.setCurrentText("PUT")
            editor.body.text.setPlainText("changed")
            composer.send()
            await _until(lambda: len(origin.requests) == 2, what="the edited request")
            edited = origin.requests[1]
            assert (edited.method, edited.target, edited.body) == (
                b"PUT",
                b"/original?q=1",
                b"changed",
            )
            await _until(lambda: window.model.rowCount() == 2)
            await _until(lambda: composer.history.count() == 1)

    assert run_app(scenario) == 0


def test_curl_import_fills_the_editor_and_bad_commands_are_said(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        composer = _composer(app)
        editor, dialog = composer.editor, composer.curl_dialog
        composer.curl_button.click()
        assert dialog.isVisible()
        dialog.text.setPlainText("curl 'http://h.test/a")
        dialog.import_button.click()
        assert dialog.isVisible() and "never closed" in dialog.error.text()
        assert dialog.text.toPlainText() == "curl 'http://h.test/a"  # nothing lost
        dialog.text.setPlainText(
            "curl 'http://h.test/api' \\\n  -H 'accept: application/json' \\\n"
            "  -b 'sid=1' --data-raw $'{\"a\":\"it\\'s\"}'"
        )
        dialog.import_button.click()
        assert not dialog.isVisible()
        assert editor.method.currentText() == "POST"
        assert editor.url.text() == "http://h.test/api"
        assert editor.headers.pairs() == [
            ("Cookie", "sid=1"),
            ("accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ]
        assert editor.body.body() == b'{"a":"it\'s"}'
        # Pasted into the URL field, a curl command is imported too.
        QGuiApplication.clipboard().setText("curl -X DELETE http://h.test/gone")
        editor.url.clear()
        editor.url.setFocus()
        QTest.keyClick(editor.url, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        assert editor.method.currentText() == "DELETE"
        assert editor.url.text() == "http://h.test/gone"
        assert editor.body.body() == b""
        # Typed key by key, "curl " is not imported at its space; the editor
        # says how to import it.
        editor.url.clear()
        QTest.keyClicks(editor.url, "curl http://h.test/")
        assert editor.url.text() == "curl http://h.test/"
        assert "Import curl" in composer.problem.text()
        # Through the context menu's paste (no key press), a paste still imports.
        dialog.hide()
        editor.url.clear()
        QGuiApplication.clipboard().setText("curl -I http://h.test/head")
        editor.url.paste()
        assert editor.method.currentText() == "HEAD" and editor.url.text() == "http://h.test/head"

    assert run_app(scenario) == 0


def test_bad_input_is_said_and_not_sent(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        composer = _composer(app)
        editor = composer.editor
        async with Origin(_echo) as origin:
            editor.url.setText("example.com/no-scheme")
            assert "not absolute" in composer.problem.text()
            composer.send()
            assert "Not sent" in composer.status.text()
            editor.url.setText(f"{origin.base}/ok")
            assert not composer.problem.text()
            editor.headers.add("Bad Name", "1")
            assert "not a token" in composer.problem.text()
            composer.send()
            assert "Not sent" in composer.status.text() and "Bad Name" in composer.status.text()
            editor.headers.remove_selected()
            editor.headers.table.selectRow(0)
            editor.headers.remove_selected()
            editor.method.setCurrentText("GE T")
            assert "not an HTTP token" in composer.problem.text()
            editor.method.setCurrentText("GET")
            # Invalid JSON warns and is sent as typed.
            editor.body.set_mode("json")
            editor.body.text.setPlainText("{broken")
            assert "sent as typed" in composer.problem.text()
            composer.send()
            await _until(lambda: "200" in composer.status.text(), what="the response")
            assert origin.requests[-1].body == b"{broken"
        # The engine's refusal is said too: the proxy stopped.
        await app.link.request("stop")
        composer.send()
        await _until(lambda: "not running" in composer.status.text(), what="the refusal")

    assert run_app(scenario) == 0


def test_history_lists_composed_flows_newest_first(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        composer = _composer(app)
        editor = composer.editor
        async with Origin(_echo) as origin:
            await _get(app, origin, "/captured")
            for path in ("/one", "/two"):
                editor.url.setText(f"{origin.base}{path}")
                composer.send()
                assert composer.status.text().startswith("Sending GET")
                await _until(lambda: "200" in composer.status.text(), what="the response")
            await _until(lambda: composer.history.count() == 2, what="two entries")
            texts = [composer.history.item(i).text() for i in range(2)]
            assert "GET /two" in texts[0] and "GET /one" in texts[1]
            assert all("/captured" not in t for t in texts)
            # Choosing an entry loads it.
            composer.history.chosen.emit(composer.history.item(1).data(Qt.ItemDataRole.UserRole))
            await _until(lambda: editor.url.text().endswith("/one"), what="the entry loaded")

    assert run_app(scenario) == 0
