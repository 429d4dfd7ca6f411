"""The File menu: its entries and shortcuts, what is greyed out without a
session, Open and Open Recent, the offer to reopen the last session, and
New Session recording to a fresh file."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QKeySequence

from inspector.app import DesktopApp
from inspector.cli import build_parser, options_from
from inspector.core.session import Session
from inspector.gui.launch import WindowOpener, inspector_command
from inspector.gui.recent import RecentState, recent_files
from tests.gui.sessions import Opener, flows_in, message_box, record, until, write_session

RunApp = Callable[..., int]


def _menu_entries(app: DesktopApp) -> list[tuple[str, str]]:
    return [
        (action.text(), action.shortcut().toString())
        for action in app.window.file_menu.actions()
        if not action.isSeparator()
    ]


def test_the_file_menu_has_its_entries_and_shortcuts(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"

    async def scenario(app: DesktopApp) -> None:
        assert _menu_entries(app) == [
            ("New Session", "Ctrl+N"),
            ("Open…", "Ctrl+O"),
            ("Open Recent", ""),
            ("Save As…", "Ctrl+Shift+S"),
            ("Import HAR…", "Ctrl+Shift+I"),
            ("Export HAR…", "Ctrl+Shift+E"),
            ("Import Rules…", ""),
            ("Export Rules…", ""),
            ("Quit", QKeySequence(QKeySequence.StandardKey.Quit).toString()),
        ]
        menu = app.sessions.menu
        for action in (menu.new_action, menu.save_as_action, menu.export_action):
            assert action.isEnabled(), action.text()
        # Shortcuts work from the window, not only from the open menu.
        assert menu.export_action in app.window.actions()

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0


def test_without_a_session_file_save_and_export_are_greyed_out(
    run_app: RunApp, tmp_path: Path
) -> None:
    async def scenario(app: DesktopApp) -> None:
        menu = app.sessions.menu
        for action in (menu.new_action, menu.save_as_action, menu.export_action):
            assert not action.isEnabled(), action.text()
            assert "not recorded" in action.statusTip()
        assert menu.open_action.isEnabled() and menu.import_action.isEnabled()
        app.sessions.export_har()  # a shortcut pressed anyway says why
        box = await message_box(app.window)
        assert "--no-session" in box.text()
        box.close()

    assert run_app(scenario, session=None, sessions_dir=tmp_path / "sessions") == 0


def test_open_starts_a_window_and_remembers_the_file(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    elsewhere = write_session(tmp_path / "saved.inspector", 4)
    bad = tmp_path / "notes.inspector"
    bad.write_text("not a session")
    opener = Opener()

    async def scenario(app: DesktopApp) -> None:
        app.sessions.opener.start = opener
        app.sessions.open_path(bad)
        box = await message_box(app.window)
        assert "not an Inspector session" in box.text()
        box.close()
        assert opener.commands == []

        app.sessions.open_path(elsewhere)
        await until(lambda: bool(opener.commands))
        assert opener.commands == [inspector_command(["--open", str(elsewhere)])]
        menu = app.sessions.menu
        menu.rebuild_recent()
        await until(lambda: any("4 flows" in text for text in menu.entry_texts()))
        texts = menu.entry_texts()
        assert len(texts) == 1 and texts[0].startswith("saved   (4 flows, "), texts

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0
    state = RecentState(tmp_path / "conf")
    assert state.files() == [elsewhere]
    assert (tmp_path / "conf" / "recent.json").stat().st_mode & 0o777 == 0o600
    assert inspector_command(["--open", "x"])[:3] == [sys.executable, "-m", "inspector"]


def test_the_last_session_is_offered_when_it_holds_flows(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    earlier = write_session(sessions / "2020-01-01_100000.inspector", 3)
    empty = write_session(sessions / "2020-01-02_100000.inspector", 0)
    # The empty one is newer: it is passed over for the one with flows.
    os.utime(earlier, (time.time() - 120, time.time() - 120))
    os.utime(empty, (time.time() - 60, time.time() - 60))
    opener = Opener()

    async def scenario(app: DesktopApp) -> None:
        app.sessions.opener.start = opener
        assert app.sessions.reopen_task is not None
        await app.sessions.reopen_task
        bar = app.sessions.reopen_bar
        assert bar.isVisible()
        assert bar.text.text().startswith("Reopen the last session (3 flows, ")
        bar.open_button.click()
        await until(lambda: bool(opener.commands))
        assert opener.commands == [inspector_command(["--open", str(earlier)])]
        assert not bar.isVisible()

    assert run_app(scenario, session=sessions / "live.inspector", sessions_dir=sessions) == 0


def test_no_offer_without_an_earlier_session_with_flows(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    live = sessions / "live.inspector"

    async def scenario(app: DesktopApp) -> None:
        assert app.sessions.reopen_task is not None
        await app.sessions.reopen_task
        assert not app.sessions.reopen_bar.isVisible()

    # Nothing there but the session being recorded, then an empty one too.
    assert run_app(scenario, session=live, sessions_dir=sessions) == 0
    write_session(sessions / "2020-01-02_100000.inspector", 0)
    assert run_app(scenario, session=sessions / "next.inspector", sessions_dir=sessions) == 0


def test_no_offer_in_a_window_showing_a_file(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    opened = write_session(sessions / "2020-01-01_100000.inspector", 2)
    write_session(sessions / "2020-01-02_100000.inspector", 2)

    async def scenario(app: DesktopApp) -> None:
        assert app.sessions.reopen_task is None
        assert not app.sessions.reopen_bar.isVisible()
        assert not app.sessions.menu.new_action.isEnabled()
        assert app.sessions.session == opened

    assert run_app(scenario, open_path=opened, sessions_dir=sessions) == 0


def test_new_session_records_to_a_new_file(run_app: RunApp, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    first = sessions / "first.inspector"

    async def scenario(app: DesktopApp) -> None:
        await record(app, ["/a", "/b"])
        app.sessions.menu.new_action.trigger()
        await until(lambda: app.options.session != first and app.controller.running)
        second = app.options.session
        assert second is not None and second.parent == sessions
        assert app.window.model.rowCount() == 0
        assert app.sessions.session == second
        await record(app, ["/c"])
        assert flows_in(second) == 1
        assert flows_in(first) == 2
        with Session.open(second) as session:
            assert [row[0] for row in session.rows()] == [3]  # ids go on
        # The old file is in Open Recent; the one being recorded is not.
        assert recent_files(sessions, app.sessions.state, second)[0] == [first]
        assert app.sessions.menu.new_action.isEnabled()

    assert run_app(scenario, session=first, sessions_dir=sessions) == 0


def test_windows_opened_from_the_app_see_its_configuration(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    args = build_parser().parse_args(["--confdir", str(conf), "--theme", "dark", "--no-session"])
    options = options_from(args, listen_given=False)
    assert options.session is None
    assert options.sessions_dir == conf / "sessions"
    assert options.window_args == ["--confdir", str(conf.resolve()), "--theme", "dark"]
    opener = WindowOpener(options.window_args)
    shown = tmp_path / "a.inspector"
    assert opener.command(shown) == inspector_command([*options.window_args, "--open", str(shown)])
