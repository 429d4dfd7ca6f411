"""The flow table view: fixed row height, follows the newest row unless the
user scrolled away, and a context menu to copy, replay or delete flows.

Copying, replaying and deleting need the engine (a flow's headers and body
live there), so the view only says what was asked, for the window to carry
out.

Signals:
    flow_selected(object): the selected flow id (int) or None.
    copy_requested(str, list): copy ``url``, ``curl`` or ``body`` of these flow ids.
    delete_requested(list): delete the flows in these rows.
    replay_requested(list, int): send these flows' requests again, so many times each.
    edit_requested(int): open this flow's request in the composer.
    break_requested(int, str): a breakpoint on this flow's ``host`` or ``path``.
    compare_requested(list): compare these two flows.

``rule_menu`` (New Rule from This Flow) is filled in by whoever makes the rules.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from inspector.core import copy_as
from inspector.gui.flow_cells import Column
from inspector.gui.flow_model import FlowTableModel

ROW_HEIGHT = 22
REPEATS = 10
"""How many times "Replay 10 Times" sends a request."""
WIDTHS = {
    Column.ID: 60,
    Column.TIME: 95,
    Column.METHOD: 70,
    Column.HOST: 200,
    Column.PATH: 320,
    Column.STATUS: 90,
    Column.TYPE: 140,
    Column.SIZE: 80,
    Column.DURATION: 80,
    Column.PROXY: 80,
    Column.RULES: 60,
    Column.VERSION: 70,
    Column.CLIENT_ADDR: 150,
    Column.SERVER_ADDR: 150,
}


class FlowTable(QTableView):
    flow_selected = Signal(object)
    copy_requested = Signal(str, list)
    delete_requested = Signal(list)
    replay_requested = Signal(list, int)
    edit_requested = Signal(int)
    break_requested = Signal(int, str)
    compare_requested = Signal(list)

    def __init__(self, model: FlowTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow_model = model
        self.setModel(model)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(Column.ID, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        vertical = self.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        vertical.hide()
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        for column, width in WIDTHS.items():
            self.setColumnWidth(column, width)
        header.setSectionResizeMode(Column.PATH, QHeaderView.ResizeMode.Stretch)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.follow = True
        """Scroll to the newest row as rows arrive; off once the user
        scrolls away from the bottom, on again when they come back."""
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        model.rows_appended.connect(self._on_rows_appended)
        self.selectionModel().selectionChanged.connect(self._selection_changed)

        self.copy_url_action = self._action(
            "Copy URL", QKeySequence.StandardKey.Copy, lambda: self._copy("url")
        )
        self.copy_curl_action = self._action(
            "Copy as curl", "Ctrl+Shift+C", lambda: self._copy("curl")
        )
        self.copy_body_action = self._action(
            "Copy response body", "Ctrl+Alt+C", lambda: self._copy("body")
        )
        self.replay_action = self._action("Replay", "R", lambda: self._replay(1))
        self.replay_many_action = self._action(
            f"Replay {REPEATS} Times", None, lambda: self._replay(REPEATS)
        )
        self.edit_action = self._action("Edit and Resend", "Shift+R", self._edit)
        self.delete_action = self._action(
            "Delete", QKeySequence.StandardKey.Delete, self.delete_selected
        )
        self.break_host_action = self._action(
            "Break on This Host…", None, lambda: self._break("host")
        )
        self.break_path_action = self._action(
            "Break on This Path…", None, lambda: self._break("path")
        )
        self.rule_menu = QMenu("New Rule from This Flow", self)
        self.copy_as_menu = QMenu("Copy as", self)
        self.copy_as_actions: dict[str, QAction] = {}
        for kind, label in copy_as.LABELS.items():
            action = self.copy_as_menu.addAction(label)
            action.triggered.connect(lambda _=False, k=kind: self._copy(k))
            self.copy_as_actions[kind] = action
        self.compare_action = self._action("Compare", "Ctrl+Shift+D", self._compare)

    def _action(self, text: str, shortcut: object, slot: object) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # Following the newest row

    def paintEvent(self, event: QPaintEvent) -> None:
        # Deliberately a Python override: the interpreter lock is then held
        # through the whole C++ paint, and the model's hundred-odd multiData
        # calls run inside it. With the engine on a thread of this process
        # (--engine thread), each of them would otherwise take the lock back
        # from it, which under load means waiting out its switch interval
        # (5 ms) each time: paints of 100-200 ms. The engine waits for one
        # paint instead (a few ms; the link paces batches, and so repaints,
        # to a seventh of the GUI's time at most).
        super().paintEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        following = self.follow
        super().resizeEvent(event)
        if following:
            # A resize keeps the top row in place; a user following the
            # newest rows expects to keep seeing them.
            self.follow = True
            self._on_rows_appended()

    def _scrolled(self, value: int) -> None:
        self.follow = value >= self.verticalScrollBar().maximum() - 1

    def _on_rows_appended(self) -> None:
        descending = self.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        if not self.follow:
            return
        if descending and self.horizontalHeader().sortIndicatorSection() == Column.ID:
            self.scrollToTop()
        else:
            self.scrollToBottom()

    # Selection

    def selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.selectionModel().selectedRows()})

    def current_flow_id(self) -> int | None:
        rows = self.selected_rows()
        return self.flow_model.id_at(rows[0]) if rows else None

    def selected_ids(self) -> list[int]:
        ids = (self.flow_model.id_at(row) for row in self.selected_rows())
        return [flow_id for flow_id in ids if flow_id is not None]

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.flow_selected.emit(self.current_flow_id())

    # Context menu actions

    def _menu(self, pos: QPoint) -> None:
        if not self.selected_rows():
            return
        menu = QMenu(self)
        for action in (self.copy_url_action, self.copy_curl_action, self.copy_body_action):
            menu.addAction(action)
        menu.addMenu(self.copy_as_menu)
        self.compare_action.setEnabled(len(self.selected_rows()) == 2)
        menu.addAction(self.compare_action)
        menu.addSeparator()
        menu.addAction(self.replay_action)
        menu.addAction(self.replay_many_action)
        menu.addAction(self.edit_action)
        menu.addSeparator()
        menu.addAction(self.break_host_action)
        menu.addAction(self.break_path_action)
        menu.addMenu(self.rule_menu)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.popup(self.viewport().mapToGlobal(pos))

    def _copy(self, what: str) -> None:
        ids = self.selected_ids()
        if ids:
            self.copy_requested.emit(what, ids)

    def _compare(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 2:
            self.compare_requested.emit(ids)

    def _replay(self, count: int) -> None:
        ids = self.selected_ids()
        if ids:
            self.replay_requested.emit(ids, count)

    def _edit(self) -> None:
        flow_id = self.current_flow_id()
        if flow_id is not None:
            self.edit_requested.emit(flow_id)

    def _break(self, what: str) -> None:
        flow_id = self.current_flow_id()
        if flow_id is not None:
            self.break_requested.emit(flow_id, what)

    def delete_selected(self) -> None:
        rows = self.selected_rows()
        if rows:
            self.delete_requested.emit(rows)
