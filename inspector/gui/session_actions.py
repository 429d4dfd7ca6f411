"""What the File menu does with session files: open one in a window of its
own, copy this one (Save As), import a HAR file into a new session and
open it, export flows as HAR, and offer to reopen the last session.

The session here is the file the engine records to (or the file this
window shows, with ``--open``); exports and copies read it, so they lag
the table by the writer's quarter second at most. Reading a file's flow
count and copying a file run on a worker thread; exports and imports in a
helper process (``cli_job``). Dialogs open with ``open()``, never
``exec()``: a nested event loop is what qasync cannot survive.
New Session restarts the engine, which the composition root owns: it is
asked for by ``FileMenu.new_session``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QCheckBox, QFileDialog, QMessageBox

from inspector.core.session import Session, SessionError
from inspector.core.session_files import SUFFIX, private_dir, recorded, remove
from inspector.gui.cli_job import CliJob, JobProgress
from inspector.gui.file_menu import FileMenu
from inspector.gui.har_dialogs import ExportHarDialog, Scope
from inspector.gui.launch import WindowOpener
from inspector.gui.main_window import MainWindow
from inspector.gui.recent import (
    MAX_RECENT,
    FileSummary,
    RecentState,
    recent_files,
    summarize_file,
)
from inspector.gui.reopen_bar import ReopenBar
from inspector.gui.tasks import GuiTasks

SECRETS_NOTE = "save-holds-secrets"
SESSION_FILTER = f"Inspector sessions (*{SUFFIX});;All files (*)"
HAR_FILTER = "HAR files (*.har *.json);;All files (*)"
NOT_RECORDED = (
    "This capture is not recorded to a session file (Inspector was started with "
    "--no-session, or the file could not be written)."
)


def copy_session(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` at ``target`` (replaced if there),
    mode 0600; nothing at ``target`` changes if the copy fails."""
    if target.resolve() == source.resolve():
        raise SessionError(f"{target.name} is the session itself; choose another file")
    partial = target.with_name(f".{target.name}.partial")
    remove(partial)
    with Session.open(source) as session:
        session.save_as(partial)
    # An older session there goes with its WAL files: a stale WAL beside
    # the new file would be read as part of it.
    remove(target)
    partial.replace(target)


def fresh_path(directory: Path, stem: str) -> Path:
    path = directory / f"{stem}{SUFFIX}"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}{SUFFIX}"
    return path


class SessionActions(QObject):
    def __init__(
        self,
        window: MainWindow,
        tasks: GuiTasks,
        state: RecentState,
        opener: WindowOpener,
        sessions_dir: Path | None,
        live_session: Callable[[], Path | None],
        opened: Path | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.tasks = tasks
        self.state = state
        self.opener = opener
        self.sessions_dir = sessions_dir
        self._live_session = live_session
        self.opened = opened
        self.job: CliJob | None = None
        self.progress: JobProgress | None = None
        self.export_dialog: ExportHarDialog | None = None
        self.reopen_task: asyncio.Task[None] | None = None
        self._last_dir = Path.home()
        self.menu = FileMenu(window.file_menu, window, window.quit_action, self._recent)
        self.menu.open_file.connect(self.choose_open)
        self.menu.open_path.connect(self.open_path)
        self.menu.save_as.connect(self.save_as)
        self.menu.import_har.connect(self.choose_import)
        self.menu.export_har.connect(self.export_har)
        self.menu.summaries_wanted.connect(
            lambda paths: self.tasks.spawn(self._summarize(paths), "Reading session files")
        )
        self.reopen_bar = ReopenBar()
        self.reopen_bar.open_requested.connect(self.open_path)
        window.add_notice(self.reopen_bar)
        self.update_actions()

    @property
    def session(self) -> Path | None:
        """The file this window's flows are in: the one opened, or the
        one being recorded (None with ``--no-session``)."""
        return self.opened if self.opened is not None else self._live_session()

    def update_actions(self) -> None:
        menu = self.menu
        for action in (menu.new_action, menu.save_as_action, menu.export_action):
            menu.enable(action)
        if self.session is None:
            why = "This capture is not recorded to a session file"
            menu.disable(menu.save_as_action, why)
            menu.disable(menu.export_action, why)
        if self.opened is not None:
            menu.disable(menu.new_action, "This window shows a session file; it captures nothing")
        elif self._live_session() is None:
            menu.disable(menu.new_action, "This capture is not recorded to a session file")
        if self.sessions_dir is None:
            menu.disable(menu.import_action, "No directory for sessions")

    def _recent(self) -> tuple[list[Path], list[Path]]:
        return recent_files(self.sessions_dir, self.state, exclude=self._live_session())

    async def _summarize(self, paths: list[Path]) -> None:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, lambda: {p: summarize_file(p) for p in paths})
        self.menu.set_summaries(found)

    # Messages

    def _tell(self, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> None:
        box = QMessageBox(icon, "Inspector", text, parent=self.window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

    def _chooser(self, title: str, filters: str, save: bool, name: str = "") -> QFileDialog:
        chooser = QFileDialog(self.window, title, str(self._last_dir / name), filters)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if save:
            chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        else:
            chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        return chooser

    # Opening

    def choose_open(self) -> None:
        start = self.sessions_dir if self.sessions_dir is not None else self._last_dir
        chooser = self._chooser("Open a session", SESSION_FILTER, save=False)
        chooser.setDirectory(str(start))
        chooser.fileSelected.connect(lambda chosen: self.open_path(Path(chosen)))
        chooser.open()

    def open_path(self, path: Path, done: str = "") -> None:
        """Open ``path`` in a new window (``done``: what led here, for the
        status bar)."""
        self.tasks.spawn(self._open(path, done), "Opening a session")

    async def _open(self, path: Path, done: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, lambda: Session.open(path).close())
        except (SessionError, sqlite3.Error) as exc:
            self._tell(f"Cannot open the session: {exc}")
            return
        self._last_dir = path.parent
        self.state.add(path)
        if self.opener.open(path):
            opening = f"opening {path.name} in a new window"
            self._status(f"{done}; {opening}" if done else opening.capitalize())
        else:
            self._tell(f"Could not start a window for {path}")

    def offer_reopen(self) -> None:
        """At start: if an earlier session holds flows, offer it (a bar)."""
        if self.sessions_dir is not None and self.opened is None:
            self.reopen_task = self.tasks.spawn(
                self._offer_reopen(self.sessions_dir), "Looking for the last session"
            )

    async def _offer_reopen(self, directory: Path) -> None:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self._last_session, directory)
        if found is not None:
            self.reopen_bar.offer(*found)

    def _last_session(self, directory: Path) -> tuple[Path, FileSummary] | None:
        """The newest earlier session with flows (an app started and quit
        without traffic leaves an empty one, which is not worth offering)."""
        live = self._live_session()
        for path in recorded(directory)[: MAX_RECENT + 1]:
            if live is not None and path.resolve() == live.resolve():
                continue
            summary = summarize_file(path)
            if summary is not None and summary.flows > 0:
                return path, summary
        return None

    # Save As

    def save_as(self) -> None:
        source = self.session
        if source is None:
            self._tell(NOT_RECORDED)
            return
        if self.state.is_quiet(SECRETS_NOTE):
            self._choose_save(source)
            return
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Save As",
            "A session file holds the traffic as it was decrypted, credentials included: "
            "passwords, cookies, tokens and API keys. Keep the copy where only you can "
            "read it. (Export HAR leaves secrets out by default.)",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.button(QMessageBox.StandardButton.Save).setText("Save…")
        quiet = QCheckBox("Don't show this again")
        box.setCheckBox(quiet)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: int) -> None:
            if button != QMessageBox.StandardButton.Save:
                return
            if quiet.isChecked():
                self.state.quieten(SECRETS_NOTE)
            self._choose_save(source)

        box.finished.connect(answered)
        box.open()

    def _choose_save(self, source: Path) -> None:
        chooser = self._chooser("Save the session as", SESSION_FILTER, save=True, name=source.name)
        chooser.setDefaultSuffix(SUFFIX.lstrip("."))
        chooser.fileSelected.connect(
            lambda chosen: self.tasks.spawn(self.save_to(source, Path(chosen)), "Saving")
        )
        chooser.open()

    async def save_to(self, source: Path, target: Path) -> bool:
        self._last_dir = target.parent
        self._status(f"Saving to {target}…")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, copy_session, source, target)
        except (SessionError, sqlite3.Error) as exc:
            self._tell(f"Could not save the session: {exc}")
            return False
        except OSError as exc:
            self._tell(f"Could not save the session to {target}: {exc.strerror or exc}")
            return False
        self.state.add(target)
        self._status(f"Saved the session to {target}")
        return True

    # HAR

    def _busy(self) -> bool:
        if self.job is not None and not self.job.done:
            self._tell("An export or import is running; wait for it or cancel it.")
            return True
        return False

    def choose_import(self) -> None:
        if self._busy():
            return
        chooser = self._chooser("Import a HAR file", HAR_FILTER, save=False)
        chooser.fileSelected.connect(lambda chosen: self.import_har(Path(chosen)))
        chooser.open()

    def import_har(self, har: Path) -> CliJob | None:
        """Make a session of ``har`` in the sessions directory, then open it."""
        if self.sessions_dir is None or self._busy():
            return None
        self._last_dir = har.parent
        private_dir(self.sessions_dir)
        target = fresh_path(self.sessions_dir, har.stem)
        job = CliJob(["har", "import", str(har), str(target)], leftovers=[target], parent=self)
        job.finished.connect(lambda ok, message: self._imported(job, target, ok, message))
        return self._run(job, f"Importing {har.name}…")

    def _imported(self, job: CliJob, target: Path, ok: bool, message: str) -> None:
        if not ok:
            if not job.cancelled:
                self._tell(f"Import failed: {message}")
            return
        said = f"{message[:1].upper()}{message[1:]}"
        self.open_path(target, f"{said} ({job.warning})" if job.warning else said)

    def export_har(self) -> None:
        source = self.session
        if source is None:
            self._tell(NOT_RECORDED)
            return
        if self._busy():
            return
        window = self.window
        model = window.model
        dialog = ExportHarDialog(
            total=len(window.mirror),
            shown=model.rowCount(),
            selected=len(window.table.selected_rows()),
            filtered=bool(window.filter_box.text().strip()),
            parent=window,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(
            lambda: self._choose_export(source, dialog.scope, dialog.include_secrets)
        )
        dialog.open()
        self.export_dialog = dialog

    def ids_of(self, scope: Scope) -> list[int] | None:
        """The flow ids ``scope`` names (None: all of them)."""
        if scope is Scope.SELECTED:
            return self.window.table.selected_ids()
        if scope is Scope.FILTERED:
            return self.window.model.shown_ids()
        return None

    def _choose_export(self, source: Path, scope: Scope, include_secrets: bool) -> None:
        ids = self.ids_of(scope)
        chooser = self._chooser(
            "Export HAR", HAR_FILTER, save=True, name=f"{source.stem.replace(' ', '_')}.har"
        )
        chooser.setDefaultSuffix("har")
        chooser.fileSelected.connect(
            lambda chosen: self.export_to(source, Path(chosen), ids, include_secrets)
        )
        chooser.open()

    def export_to(
        self, source: Path, out: Path, ids: list[int] | None, include_secrets: bool
    ) -> CliJob | None:
        if self._busy():
            return None
        self._last_dir = out.parent
        args = ["har", "export", str(source), str(out)]
        if include_secrets:
            args.append("--include-secrets")
        stdin = None
        if ids is not None:
            args += ["--ids", "-"]
            stdin = "".join(f"{i}\n" for i in ids).encode("ascii")
        # The tool writes beside OUT and renames at the end; a killed one
        # leaves that behind.
        partial = out.with_name(f".{out.name}.partial")
        job = CliJob(args, stdin=stdin, leftovers=[partial], parent=self)
        job.finished.connect(lambda ok, message: self._exported(job, out, ok, message))
        count = f"{len(ids):,} flows" if ids is not None else "all flows"
        return self._run(job, f"Exporting {count} to {out.name}…")

    def _exported(self, job: CliJob, out: Path, ok: bool, message: str) -> None:
        if ok:
            self._status(f"{message[:1].upper()}{message[1:]} to {out}")
        elif not job.cancelled:
            self._tell(f"Export failed: {message}")

    def stop(self) -> None:
        """The app is quitting: end a running export or import, and remove
        what it was writing."""
        if self.job is not None:
            self.job.abort()

    def _run(self, job: CliJob, label: str) -> CliJob:
        self.job = job
        self.progress = JobProgress(job, label, self.window)
        job.start()
        return job
