"""Rules in the main window: the Rules panel, New Rule from This Flow on
the flow table, Import Rules… and Export Rules… in the File menu, and the
panel's hit counts kept current.

The engine sends no event when a rule acts on a flow (only when the list
changes, or a breakpoint holds one); rows a rule acted on carry a flag
(``FlowRow.ruled``), and their arrival reads the list again, at most
every ``HITS_EVERY_MS``.

Import reads a rules file (docs/rules.md) whole: one that is not JSON or
not the shape is refused in a message box with the one-line reason and
nothing changes; otherwise it replaces the engine's rules (``set_rules``)
and the rules the engine disabled are listed in a second box. Export
writes the engine's rules in the same form.

Signals:
    notice(str): a line for the status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from inspector.core import summary
from inspector.core.mirror import RowMirror
from inspector.core.rowbatch import RowBatch
from inspector.core.rule_actions import RuleError
from inspector.core.rules_file import read_rules, warnings, write_rules
from inspector.gui.details import fetch_flow
from inspector.gui.engine_link import EngineLink
from inspector.gui.rule_book import RuleBook
from inspector.gui.rule_editor import RuleEditor
from inspector.gui.rule_text import default_action, mock_from_flow, rule_for_flow
from inspector.gui.rules_panel import RulesPanel
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

HITS_EVERY_MS = 300
RULES_FILTER = "Rules files (*.json);;All files (*)"
FROM_FLOW = (
    ("reply", "Mock This Response"),
    ("map_remote", "Map Remote…"),
    ("map_local", "Map Local…"),
    ("set_header", "Set Header…"),
    ("block", "Block"),
    ("throttle", "Throttle"),
    ("breakpoint", "Breakpoint"),
)
"""New Rule from This Flow's entries: the action the new rule starts with."""


class RulesControl(QObject):
    notice = Signal(str)

    def __init__(
        self,
        link: EngineLink,
        tasks: GuiTasks,
        mirror: RowMirror,
        book: RuleBook,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.link = link
        self.tasks = tasks
        self.mirror = mirror
        self.book = book
        self.window = parent
        self.panel = RulesPanel(book, tasks)
        self.panel.notice.connect(self.notice)
        self.message_box: QMessageBox | None = None
        """The last message box shown (not modal)."""
        self._last_dir = Path.home()
        self._hits = QTimer(self)
        self._hits.setSingleShot(True)
        self._hits.setInterval(HITS_EVERY_MS)
        self._hits.timeout.connect(book.refresh)
        link.batch_received.connect(self._batch)
        self.import_action = QAction("Import Rules…", parent)
        self.import_action.setStatusTip("Replace the rules with those of a rules file")
        self.import_action.triggered.connect(self.choose_import)
        self.export_action = QAction("Export Rules…", parent)
        self.export_action.setStatusTip("Write the rules (breakpoints included) to a rules file")
        self.export_action.triggered.connect(self.choose_export)

    def _batch(self, batch: RowBatch) -> None:
        """Rows a rule acted on: the hits moved."""
        if self._hits.isActive():
            return
        if any(row[summary.FLAGS] & summary.FLAG_RULES for row in batch.rows):
            self._hits.start()

    # New Rule from This Flow

    def fill_menu(self, menu: QMenu, flow_id: Callable[[], int | None]) -> None:
        """``menu``'s entries: a new rule on the flow ``flow_id()`` names."""
        for kind, label in FROM_FLOW:
            menu.addAction(label, self._from_flow(flow_id, kind))

    def _from_flow(self, flow_id: Callable[[], int | None], kind: str) -> Callable[[], None]:
        def start() -> None:
            chosen = flow_id()
            if chosen is not None:
                self.tasks.spawn(self.new_rule_from_flow(chosen, kind), "A rule from a flow")

        return start

    async def new_rule_from_flow(self, flow_id: int, kind: str) -> RuleEditor | None:
        """The rule editor with a rule on the flow's host and path doing
        ``kind``: a mock answers as the flow's response did (status,
        content type, body, fetched from the engine)."""
        row = self.mirror.get(flow_id)
        if row is None:
            return None
        action = default_action(kind)
        note = ""
        if kind == "reply":
            try:
                flow = await fetch_flow(self.link, flow_id)
            except (ChannelClosed, EngineError) as exc:
                self.notice.emit(f"The flow's response could not be read: {exc}")
                return None
            if flow is None:
                self.notice.emit("The engine no longer has this flow")
                return None
            action, note = mock_from_flow(flow)
        elif kind == "map_remote":
            port = "" if row.port in (80, 443) else f":{row.port}"
            action["to"] = f"{row.scheme}://{row.host}{port}"
        rule = rule_for_flow(row.host, row.path, action)
        editor = self.panel.open_editor(rule, title="New Rule from This Flow")
        if note:
            editor.message.setText(f"Note: {note}")
        self.show_panel()
        return editor

    def show_panel(self) -> None:
        dock = self.panel.parentWidget()
        if dock is not None:
            dock.show()
            dock.raise_()

    # Import and export

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import Rules", str(self._last_dir), RULES_FILTER
        )
        if path:
            self.tasks.spawn(self.import_file(Path(path)), "Importing rules")

    async def import_file(self, path: Path) -> bool:
        """Replace the engine's rules with ``path``'s; whether it did."""
        self._last_dir = path.parent
        try:
            rules = read_rules(path.read_bytes())  # noqa: ASYNC240 (a small file, read once)
        except OSError as exc:
            self._tell(QMessageBox.Icon.Warning, "Rules not imported", f"{path}: {exc.strerror}")
            return False
        except RuleError as exc:
            self._tell(QMessageBox.Icon.Warning, "Rules not imported", f"{path.name}: {exc}")
            return False
        try:
            listed = await self.book.replace(rules)
        except (ChannelClosed, EngineError) as exc:
            self._tell(QMessageBox.Icon.Warning, "Rules not imported", str(exc))
            return False
        count = len(listed)
        self.notice.emit(f"{count} rule{'s' if count != 1 else ''} imported from {path.name}")
        disabled = warnings(listed)
        if disabled:
            self._tell(
                QMessageBox.Icon.Information,
                "Some rules are off",
                f"{path.name} was imported; the rules below cannot work and are off:\n\n"
                + "\n".join(disabled),
            )
        self.show_panel()
        return True

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export Rules", str(self._last_dir / "rules.json"), RULES_FILTER
        )
        if path:
            self.export_file(Path(path))

    def export_file(self, path: Path) -> bool:
        """Write the engine's rules (as last listed) to ``path``."""
        self._last_dir = path.parent
        try:
            path.write_text(write_rules(self.book.rules), encoding="utf-8")
        except OSError as exc:
            self._tell(QMessageBox.Icon.Warning, "Rules not exported", f"{path}: {exc.strerror}")
            return False
        count = len(self.book.rules)
        self.notice.emit(f"{count} rule{'s' if count != 1 else ''} exported to {path}")
        return True

    def _tell(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        if self.message_box is not None:
            self.message_box.close()
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window)
        box.setModal(True)
        box.open()
        self.message_box = box

    def install_file_menu(self, menu: QMenu, before: QAction) -> None:
        """Import Rules… and Export Rules… before ``before``, then a line."""
        menu.insertAction(before, self.import_action)
        menu.insertAction(before, self.export_action)
        menu.insertSeparator(before)
