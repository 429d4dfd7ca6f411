"""Save As, Export HAR and Import HAR from the File menu, through the real
dialogs and the real ``inspector har`` helper process."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QMessageBox, QPushButton

from inspector.app import DesktopApp
from inspector.core.session import Session
from inspector.gui.cli_job import CliJob
from inspector.gui.har_dialogs import Scope
from inspector.gui.launch import inspector_command
from tests.gui.sessions import (
    TOKEN,
    Opener,
    choose_file,
    flows_in,
    message_box,
    record,
    until,
    write_session,
)

RunApp = Callable[..., int]


def _entries(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    return entries


async def _done(job: CliJob | None) -> CliJob:
    assert job is not None
    await until(lambda: job.done, timeout=60)
    return job


def _har(entries: int) -> str:
    items = [
        {
            "startedDateTime": f"2024-05-01T10:00:{i:02d}.000Z",
            "time": 5,
            "request": {
                "method": "GET",
                "url": f"https://example.com/item/{i}",
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": "Host", "value": "example.com"}],
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": 200,
                "statusText": "OK",
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": "Content-Type", "value": "text/plain"}],
                "cookies": [],
                "content": {"size": 2, "mimeType": "text/plain", "text": "ok"},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 2,
            },
            "cache": {},
            "timings": {"send": 1, "wait": 3, "receive": 1},
        }
        for i in range(entries)
    ]
    creator = {"name": "tests", "version": "1"}
    return json.dumps({"log": {"version": "1.2", "creator": creator, "entries": items}})


def test_save_as_copies_the_live_session_privately(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    first, second = tmp_path / "out" / "copy.inspector", tmp_path / "out" / "again.inspector"
    first.parent.mkdir()

    async def scenario(app: DesktopApp) -> None:
        await record(app, ["/a", "/b", "/c"])
        app.sessions.save_as()
        warning = await message_box(app.window)
        assert "credentials" in warning.text()
        checkbox = warning.checkBox()
        assert checkbox is not None
        checkbox.setChecked(True)
        warning.button(QMessageBox.StandardButton.Save).click()
        await choose_file(app.window, first)
        await until(lambda: first.exists() and flows_in(first) == 3)
        # Once told, not told again: straight to the file dialog.
        app.sessions.save_as()
        await choose_file(app.window, second)
        await until(lambda: second.exists() and flows_in(second) == 3)

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0
    for copy in (first, second):
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert not copy.with_name(f".{copy.name}.partial").exists()
    with Session.open(first) as session:
        assert [flow.request.target.split("?")[0] for flow in session.flows()] == [
            "/a",
            "/b",
            "/c",
        ]


def test_export_all_and_selected_with_and_without_secrets(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    out = tmp_path / "out"
    out.mkdir()

    async def scenario(app: DesktopApp) -> None:
        await record(app, ["/a", "/b", "/c"])
        live = app.sessions.session
        assert live is not None

        job = await _done(app.sessions.export_to(live, out / "all.har", None, False))
        assert job.command[-4:] == ["har", "export", str(live), str(out / "all.har")]
        entries = _entries(out / "all.har")
        assert len(entries) == 3
        assert TOKEN not in (out / "all.har").read_text(encoding="utf-8")
        assert "REDACTED" in (out / "all.har").read_text(encoding="utf-8")

        # Selected, through the dialog: its default is the selection.
        table = app.window.table
        table.selectRow(0)
        flags = QItemSelectionModel.SelectionFlag
        table.selectionModel().select(app.window.model.index(2, 0), flags.Select | flags.Rows)
        app.sessions.export_har()
        dialog = app.sessions.export_dialog
        assert dialog is not None
        await until(dialog.isVisible)
        assert dialog.scope is Scope.SELECTED
        assert not dialog.secrets.isChecked()
        assert "WebSocket messages are never redacted" in dialog.note.text()
        dialog.accept()
        await choose_file(app.window, out / "selected.har")
        await _done(app.sessions.job)
        entries = _entries(out / "selected.har")
        assert [e["request"]["url"].split("?")[0].rsplit("/", 1)[1] for e in entries] == ["a", "c"]
        assert TOKEN not in (out / "selected.har").read_text(encoding="utf-8")

        job = await _done(app.sessions.export_to(live, out / "secrets.har", [2], True))
        assert "--include-secrets" in job.command
        assert len(_entries(out / "secrets.har")) == 1
        assert TOKEN in (out / "secrets.har").read_text(encoding="utf-8")
        assert "Exported 1 flows" in app.window.statusBar().currentMessage()

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0
    assert sorted(p.name for p in out.iterdir()) == ["all.har", "secrets.har", "selected.har"]


def test_export_from_a_window_showing_a_file(run_app: RunApp, tmp_path: Path) -> None:
    opened = write_session(tmp_path / "shown.inspector", 5)

    async def scenario(app: DesktopApp) -> None:
        await until(lambda: app.window.model.rowCount() == 5)
        assert app.sessions.session == opened
        assert app.sessions.menu.export_action.isEnabled()
        await _done(app.sessions.export_to(opened, tmp_path / "x.har", None, False))
        assert len(_entries(tmp_path / "x.har")) == 5

    assert run_app(scenario, open_path=opened, sessions_dir=tmp_path / "sessions") == 0


def test_import_makes_a_session_and_opens_it(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    har = tmp_path / "from browser.har"
    har.write_text(_har(4), encoding="utf-8")
    opener = Opener()

    async def scenario(app: DesktopApp) -> None:
        app.sessions.opener.start = opener
        app.sessions.menu.import_action.trigger()
        await choose_file(app.window, har)
        await _done(app.sessions.job)
        await until(lambda: bool(opener.commands))
        target = sessions / "from browser.inspector"
        assert opener.commands == [inspector_command(["--open", str(target)])]
        assert flows_in(target) == 4
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert "Imported 4 flows (0 with errors)" in app.window.statusBar().currentMessage()

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0


def test_a_failed_import_says_why_and_leaves_nothing(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    bad = tmp_path / "broken.har"
    bad.write_text('{"log": {"entries": 3}}', encoding="utf-8")
    opener = Opener()

    async def scenario(app: DesktopApp) -> None:
        app.sessions.opener.start = opener
        await _done(app.sessions.import_har(bad))
        box = await message_box(app.window)
        assert box.text().startswith("Import failed: ")
        assert "\n" not in box.text()
        box.close()

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0
    assert opener.commands == []
    assert sorted(p.name for p in sessions.iterdir() if "broken" in p.name) == []


@contextlib.contextmanager
def _endless_har(path: Path) -> Iterator[threading.Event]:
    """A HAR file that never ends: a FIFO fed the start of one (a header
    and some entries) and kept open until the event is set."""
    os.mkfifo(path)
    text = _har(400)  # past the 64 KiB the reader asks for at a time
    head = text[: text.rindex("]")] + ","  # the array stays open
    stop = threading.Event()

    def feed() -> None:
        with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as stream:
            stream.write(head)
            stream.flush()
            stop.wait(60)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        # A feeder still waiting in open() for a reader gets one, and ends.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        thread.join(10)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_cancelling_an_import_leaves_no_file(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    har = tmp_path / "endless.har"
    opener = Opener()

    async def scenario(app: DesktopApp) -> None:
        app.sessions.opener.start = opener
        with _endless_har(har):
            job = app.sessions.import_har(har)
            assert job is not None
            target = sessions / "endless.inspector"
            # The helper has made the session and waits for more entries.
            await until(target.exists)
            assert app.sessions.progress is not None
            await until(app.sessions.progress.isVisible)
            cancel = app.sessions.progress.findChild(QPushButton)
            assert cancel is not None and cancel.text() == "Cancel"
            cancel.click()
            await _done(job)
            assert job.cancelled
        assert not shown_boxes(app)

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0
    assert opener.commands == []
    assert [p.name for p in sessions.iterdir() if p.name.startswith("endless")] == []


def shown_boxes(app: DesktopApp) -> list[QMessageBox]:
    return [box for box in app.window.findChildren(QMessageBox) if box.isVisible()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_quitting_during_an_import_leaves_no_file(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    har = tmp_path / "endless.har"

    async def scenario(app: DesktopApp) -> None:
        app.sessions.opener.start = Opener()
        assert app.sessions.import_har(har) is not None
        await until((sessions / "endless.inspector").exists)

    with _endless_har(har):
        assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0
        assert [p.name for p in sessions.iterdir() if p.name.startswith("endless")] == []
