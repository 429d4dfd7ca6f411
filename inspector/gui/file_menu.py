"""The File menu's session entries: New Session, Open…, Open Recent, Save
As…, Import HAR…, Export HAR…, put before the window's Quit.

The menu only asks (by signal); ``SessionActions`` does the work. Open
Recent is rebuilt each time it opens: sessions recorded in the sessions
directory, then other files opened or saved lately. What each holds (flow
count, end time) is read off the files by someone else, off the GUI
thread, and shown when it arrives (``set_summaries``).

Signals:
    new_session(): record to a fresh session file.
    open_file(): choose a session file to open.
    open_path(object): open this session file (a Path).
    save_as(): copy the session to a file.
    import_har(): choose a HAR file to import.
    export_har(): export flows as HAR.
    summaries_wanted(object): the Open Recent entries (a list of Paths)
        whose summaries are not known yet.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from inspector.gui.recent import FileSummary, describe

RecentLister = Callable[[], tuple[list[Path], list[Path]]]


def _stamp(path: Path) -> tuple[float, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime, st.st_size


class FileMenu(QObject):
    new_session = Signal()
    open_file = Signal()
    open_path = Signal(object)
    save_as = Signal()
    import_har = Signal()
    export_har = Signal()
    summaries_wanted = Signal(object)

    def __init__(self, menu: QMenu, window: QWidget, before: QAction, recent: RecentLister) -> None:
        super().__init__(window)
        self.menu = menu
        self._window = window
        self._recent = recent
        self._summaries: dict[Path, tuple[tuple[float, int] | None, FileSummary | None]] = {}
        self._entries: dict[Path, QAction] = {}
        self._tips: dict[QAction, str] = {}

        self.new_action = self._action(
            "New Session",
            "Ctrl+N",
            self.new_session.emit,
            "Record to a fresh session file (the current one is kept)",
        )
        self.open_action = self._action(
            "Open…", "Ctrl+O", self.open_file.emit, "Open a session file in a window of its own"
        )
        self.recent_menu = QMenu("Open Recent", window)
        self.recent_menu.aboutToShow.connect(self.rebuild_recent)
        self.save_as_action = self._action(
            "Save As…", "Ctrl+Shift+S", self.save_as.emit, "Copy this session to a file"
        )
        self.import_action = self._action(
            "Import HAR…",
            "Ctrl+Shift+I",
            self.import_har.emit,
            "Make a session of a HAR file and open it",
        )
        self.export_action = self._action(
            "Export HAR…", "Ctrl+Shift+E", self.export_har.emit, "Write this session's flows as HAR"
        )

        for action in (self.new_action, self.open_action):
            menu.insertAction(before, action)
        menu.insertMenu(before, self.recent_menu)
        menu.insertSeparator(before)
        menu.insertAction(before, self.save_as_action)
        menu.insertSeparator(before)
        for action in (self.import_action, self.export_action):
            menu.insertAction(before, action)
        menu.insertSeparator(before)

    def _action(self, text: str, shortcut: str, slot: Callable[[], None], tip: str) -> QAction:
        action = QAction(text, self._window)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self._tips[action] = tip
        self.enable(action)
        self._window.addAction(action)
        return action

    def enable(self, action: QAction) -> None:
        action.setEnabled(True)
        action.setStatusTip(self._tips[action])
        action.setToolTip(self._tips[action])

    def disable(self, action: QAction, why: str) -> None:
        """Grey ``action`` out, saying why where the user will look."""
        action.setEnabled(False)
        action.setStatusTip(why)
        action.setToolTip(why)

    # Open Recent

    def rebuild_recent(self) -> None:
        menu = self.recent_menu
        menu.clear()
        self._entries.clear()
        sessions, others = self._recent()
        unknown = []
        for group, heading in ((sessions, "Recorded sessions"), (others, "Opened and saved")):
            if not group:
                continue
            menu.addSection(heading)
            for path in group:
                action = menu.addAction(describe(path, self._known(path)))
                action.setStatusTip(str(path))
                action.setToolTip(str(path))
                action.triggered.connect(lambda _c=False, p=path: self.open_path.emit(p))
                self._entries[path] = action
                if path not in self._summaries or self._summaries[path][0] != _stamp(path):
                    unknown.append(path)
        if not self._entries:
            empty = menu.addAction("No sessions yet")
            empty.setEnabled(False)
        if unknown:
            self.summaries_wanted.emit(unknown)

    def _known(self, path: Path) -> FileSummary | None:
        known = self._summaries.get(path)
        return known[1] if known is not None else None

    def set_summaries(self, found: dict[Path, FileSummary | None]) -> None:
        """What files hold, read elsewhere; entries on show are updated."""
        for path, summary in found.items():
            self._summaries[path] = (_stamp(path), summary)
            action = self._entries.get(path)
            if action is not None:
                action.setText(describe(path, summary))

    def entry_texts(self) -> list[str]:
        """The Open Recent entries as shown (after ``rebuild_recent``)."""
        return [action.text() for action in self._entries.values()]
