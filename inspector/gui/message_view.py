"""A request or response in the detail pane: its first line, the tables
of its headers, query, cookies, form and parts, and its body; "Save body
as..." and "Open raw" beside the first line.

The tables get the height their rows need, up to ``TABLES_SHARE`` of the
view, and the body the rest, until the user drags the splitter between
them; the first line is one line however long the URL (the whole of it in
its tooltip), so a long URL no longer squashes the headers.
"""

from __future__ import annotations

import concurrent.futures

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.flow import Flow, Message, Request
from inspector.core.message_tables import Table, message_tables
from inspector.gui.body_viewer import BodyViewer
from inspector.gui.message_parts import ROW_HEIGHT, HeadersTable, PartTabs
from inspector.gui.raw_view import BodySaver, RawDialog, body_file_name
from inspector.gui.render_client import RenderHelper

TABLES_SHARE = 0.55
NO_BODY_SHARE = 0.85
"""The tables' share of a message with no body."""
TABLES_ON_WORKER = 256 * 1024
"""Bodies longer than this are read for forms on the worker thread."""

__all__ = ["HeadersTable", "MessageView"]


class _Relay(QObject):
    done = Signal(int, object)


class MessageView(QWidget):
    """Signals: tables_shown(): the parsed tables are on screen."""

    tables_shown = Signal()

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        parent: QWidget | None = None,
        renderer: RenderHelper | None = None,
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.save_body = _button("Save body as…", "Write the body (decoded) to a file")
        self.open_raw = _button("Open raw", "The message as sent: start line, headers and body")
        self.save_body.clicked.connect(self._save)
        self.open_raw.clicked.connect(self._open_raw)
        self.saver = BodySaver(executor, self)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.save_body)
        top.addWidget(self.open_raw)
        self.parts = PartTabs()
        self.headers = self.parts.headers
        self.body = BodyViewer(executor, renderer=renderer)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.parts)
        self.split.addWidget(self.body)
        self.split.setChildrenCollapsible(False)
        self.split.splitterMoved.connect(self._dragged)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.split, 1)
        self._shown: tuple[int, int, int] | None = None
        self._message: Message | None = None
        self._url = ""
        self._user_sized = False
        self._fitting = False
        self._generation = 0
        self._relay = _Relay(self)
        self._relay.done.connect(self._show_tables, Qt.ConnectionType.QueuedConnection)
        self.parts.currentChanged.connect(lambda _: self._fit())
        self._set_actions(None)

    def set_message(self, summary: str, message: Message | None, flow: Flow | None = None) -> None:
        self.summary.setText(summary)
        if flow is not None:
            self._url = flow.request.url
        self.summary.setToolTip(self._url if message is not None else "")
        # Re-render only when the message itself changed, not on every
        # progress update of the same flow.
        key = (id(message), id(message.body), message.body_size) if message is not None else None
        if key == self._shown:
            return
        self._shown = key
        self._message = message
        self._set_actions(message)
        self.headers.set_headers(message.headers if message is not None else [])
        self.body.set_message(message)
        self._generation += 1
        if message is None:
            self._show_tables(self._generation, [])
            return
        received = flow.t_end or flow.t_start if flow is not None else 0.0
        if len(message.body) <= TABLES_ON_WORKER:
            self._show_tables(self._generation, message_tables(message, received or 0.0))
        else:
            generation = self._generation
            future = self._executor.submit(message_tables, message, received or 0.0)
            future.add_done_callback(lambda f: self._relay.done.emit(generation, f))

    def _show_tables(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return
        if isinstance(result, concurrent.futures.Future):
            try:
                result = result.result()
            except Exception:  # a body the parsers cannot read has no tables
                result = []
        assert isinstance(result, list)
        tables: list[Table] = result
        self.parts.set_tables(tables)
        self._fit()
        self.tables_shown.emit()

    def _set_actions(self, message: Message | None) -> None:
        self.save_body.setEnabled(message is not None and bool(message.body))
        self.open_raw.setEnabled(message is not None)

    def _save(self) -> None:
        if self._message is not None:
            self.saver.choose(self, self._message, body_file_name(self._message, self._url))

    def _open_raw(self) -> None:
        message = self._message
        if message is None:
            return
        kind = "request" if isinstance(message, Request) else "response"
        dialog = RawDialog(message, f"Raw {kind} — {self._url}", self.saver, self)
        dialog.show()

    # The tables' height

    def _dragged(self) -> None:
        if not self._fitting:
            self._user_sized = True

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit)

    def _fit(self) -> None:
        """The tables as tall as their rows, within their share."""
        if self._user_sized:
            return
        total = sum(self.split.sizes())
        if total <= 0:
            return
        floor = self.parts.tabBar().sizeHint().height() + 3 * ROW_HEIGHT
        share = TABLES_SHARE if self._message is not None and self._message.body else NO_BODY_SHARE
        wanted = max(floor, min(self.parts.content_height(), int(total * share)))
        self._fitting = True
        self.split.setSizes([wanted, max(0, total - wanted)])
        self._fitting = False


def _button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button
