"""The composer: write a request (or edit a captured one), send it through
the engine, see the response beside it.

The window has the history of composed flows on the left, the request in
the middle (``RequestEditor``) and the response on the right. Send asks
the engine to send the request (``send`` with ``wait``; the window never
touches the network), then fetches the new flow's details as the detail
pane does. Sending never blocks: each send is a task, and a newer send's
answer replaces an older one's. Every problem ends as a line in the
window: what the editor finds wrong, the engine's refusal, an engine gone.

``ComposerOpener`` belongs to the main window: it keeps the composed
flows' ids from every batch (so the history is there when the composer is
first opened, a reopened session's included) and opens the window, empty
or with a flow ("Edit and Resend").
"""

from __future__ import annotations

import concurrent.futures
import html
import http

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector.core.curl import CurlRequest
from inspector.core.flow import Flow
from inspector.core.format import duration, size
from inspector.core.mirror import RowMirror
from inspector.core.rowbatch import RowBatch
from inspector.gui.composer_curl import CurlDialog
from inspector.gui.composer_history import ComposedRows, HistoryList
from inspector.gui.composer_request import RequestEditor
from inspector.gui.details import fetch_flow
from inspector.gui.engine_link import EngineLink
from inspector.gui.message_view import MessageView
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

NOTHING_SENT = "Nothing sent yet: press Send (Ctrl+Return)."
ERROR_STYLE = "color: #d73a49;"
WARNING_STYLE = "color: #b08800;"


class ComposerWindow(QWidget):
    def __init__(
        self,
        link: EngineLink,
        tasks: GuiTasks,
        executor: concurrent.futures.Executor,
        rows: ComposedRows,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Composer — Inspector")
        self.resize(1200, 720)
        self.link = link
        self.tasks = tasks
        self._generation = 0
        self.editor = RequestEditor()
        self.editor.changed.connect(self._show_problems)
        self.editor.curl_pasted.connect(self.import_curl)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send the request through the proxy (Ctrl+Return)")
        self.send_button.clicked.connect(self.send)
        self.curl_button = QPushButton("Import curl…")
        self.curl_button.clicked.connect(lambda: self.import_curl(""))
        self.send_action = QAction("Send", self)
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.send_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.send_action.triggered.connect(self.send)
        self.addAction(self.send_action)
        self.curl_dialog = CurlDialog(self)
        self.curl_dialog.imported.connect(self._curl_imported)

        line = QHBoxLayout()
        line.addWidget(self.editor.method)
        line.addWidget(self.editor.url, 1)
        line.addWidget(self.send_button)
        line.addWidget(self.curl_button)
        self.problem = QLabel()
        # Room kept for one line, so the editor does not jump as it comes and goes.
        self.problem.setMinimumHeight(self.problem.fontMetrics().height())
        request = QWidget()
        request_layout = QVBoxLayout(request)
        request_layout.setContentsMargins(0, 0, 0, 0)
        request_layout.addWidget(QLabel("<b>Request</b>"))
        request_layout.addWidget(self.editor, 1)

        self.status = QLabel(NOTHING_SENT)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.response = MessageView(executor)
        response = QWidget()
        response_layout = QVBoxLayout(response)
        response_layout.setContentsMargins(0, 0, 0, 0)
        response_layout.addWidget(QLabel("<b>Response</b>"))
        response_layout.addWidget(self.status)
        response_layout.addWidget(self.response, 1)

        self.history = HistoryList(rows)
        self.history.chosen.connect(self.open_flow)
        history = QWidget()
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addWidget(QLabel("<b>History</b>"))
        history_layout.addWidget(self.history, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        for part, stretch in ((history, 1), (request, 3), (response, 3)):
            split.addWidget(part)
            split.setStretchFactor(split.count() - 1, stretch)
        split.setSizes([220, 490, 490])
        layout = QVBoxLayout(self)
        layout.addLayout(line)
        layout.addWidget(self.problem)
        layout.addWidget(split, 1)
        self.response.set_message("", None)
        self.editor.load("GET", "", [], b"")

    # Loading

    def open_flow(self, flow_id: int) -> None:
        """Load flow ``flow_id``'s request (and its response) from the engine."""
        self._generation += 1
        self._say(f"Loading #{flow_id}…")
        self.tasks.spawn(self._open(flow_id, self._generation), "Loading a flow into the composer")

    async def _open(self, flow_id: int, generation: int) -> None:
        try:
            flow = await fetch_flow(self.link, flow_id)
        except (ChannelClosed, EngineError) as exc:
            self._say(f"#{flow_id} could not be loaded: {exc}", ERROR_STYLE)
            return
        if generation != self._generation:
            return
        if flow is None:
            self._say(f"#{flow_id} is no longer held by the engine.", ERROR_STYLE)
            return
        self.editor.load_request(flow.request)
        self.show_response(flow)
        if flow.request.body_truncated or flow.bodies_dropped:
            self._say(
                f"#{flow_id}'s request body was not kept whole; what was kept is loaded.",
                WARNING_STYLE,
            )

    def import_curl(self, text: str) -> None:
        self.curl_dialog.start(text)
        if text:
            self.curl_dialog.try_import()

    def _curl_imported(self, request: CurlRequest) -> None:
        self.editor.load_curl(request)

    # Sending

    def send(self) -> None:
        editor = self.editor
        if editor.error is not None:
            self._show_problems()
            self._say(f"Not sent: {editor.error}", ERROR_STYLE)
            return
        method, url, headers, body = editor.request()
        if not self.link.connected:
            self._say("Not sent: the engine is not running.", ERROR_STYLE)
            return
        self._generation += 1
        self._say(f"Sending {method} {url}…")
        self.tasks.spawn(
            self._send(method, url, headers, body, self._generation), "Sending a request"
        )

    async def _send(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes, gen: int
    ) -> None:
        try:
            result = await self.link.request(
                "send",
                method=method,
                url=url,
                headers=[[name, value] for name, value in headers],
                body=body,
                wait=True,
            )
            flow = await fetch_flow(self.link, int(result["id"]))
        except (ChannelClosed, EngineError) as exc:
            if gen == self._generation:
                self._say(f"Not sent: {exc}", ERROR_STYLE)
            return
        if gen != self._generation:
            return
        if flow is None:
            self._say(f"#{result['id']} was sent; the engine no longer holds it.", ERROR_STYLE)
            return
        self.show_response(flow)

    def show_response(self, flow: Flow) -> None:
        response, error = flow.response, flow.error
        took = f" · {duration(flow.duration)}" if flow.duration is not None else ""
        if error is not None:
            style = ERROR_STYLE
            line = f"#{flow.id} failed: {error.message}{took}"
        elif response is None:
            style, line = ERROR_STYLE, f"#{flow.id}: no response"
        else:
            style = ""
            reason = response.reason or _phrase(response.status)
            line = (
                f"#{flow.id}  HTTP/{response.version} {response.status} {reason}"
                f"{took} · {size(response.body_size)}"
            )
        self._say(line, style)
        self.response.set_message("", response)

    # Saying

    def _say(self, text: str, style: str = "") -> None:
        self.status.setText(html.escape(text))
        self.status.setStyleSheet(style)

    def _show_problems(self) -> None:
        """What stops the request going out, under the URL; a warning about
        the body (invalid JSON) shows there too, and under the body."""
        editor = self.editor
        if editor.error is not None and editor.url.text().strip():
            self.problem.setText(editor.error)
            self.problem.setStyleSheet(ERROR_STYLE)
        elif editor.warning is not None:
            self.problem.setText(f"{editor.warning} (sent as typed)")
            self.problem.setStyleSheet(WARNING_STYLE)
        else:
            self.problem.setText("")


def _phrase(status: int) -> str:
    """The standard reason phrase, for a response that gave none."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class ComposerOpener(QObject):
    """Opens the composer (one per main window) and keeps its history."""

    def __init__(
        self,
        mirror: RowMirror,
        link: EngineLink,
        tasks: GuiTasks,
        executor: concurrent.futures.Executor,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._link = link
        self._tasks = tasks
        self._executor = executor
        self.rows = ComposedRows(mirror)
        self.window: ComposerWindow | None = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)  # after the window applied the batch
        self._refresh.timeout.connect(self._refresh_history)
        link.batch_received.connect(self._batch)

    def show_empty(self) -> ComposerWindow:
        window = self._window()
        window.show()
        window.raise_()
        window.activateWindow()
        window.editor.url.setFocus()
        return window

    def edit_flow(self, flow_id: int) -> ComposerWindow:
        """Open the composer with flow ``flow_id``'s request in it."""
        window = self.show_empty()
        window.open_flow(flow_id)
        return window

    def _window(self) -> ComposerWindow:
        if self.window is None:
            self.window = ComposerWindow(
                self._link, self._tasks, self._executor, self.rows, self._parent
            )
        self.window.history.refresh()
        return self.window

    def _batch(self, batch: RowBatch) -> None:
        if self.rows.note_batch(batch) and self.window is not None:
            self._refresh.start()

    def _refresh_history(self) -> None:
        if self.window is not None:
            self.window.history.refresh()
