"""The detail pane for the selected flow: Request, Response, Timing and
Connection tabs, and Messages for a WebSocket. The window fetches the
flow's details from the engine when the selection changes or a batch
updates the flow, and shows them here."""

from __future__ import annotations

import concurrent.futures
import datetime
import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.filter_terms import Value
from inspector.core.flow import Flow, HeaderSeq, Message, TlsInfo
from inspector.core.format import duration, size
from inspector.gui.body_viewer import BodyViewer
from inspector.gui.timing_view import TimingView
from inspector.gui.ws_view import WebSocketView

SELECT = "Select a flow to see its details."


class HeadersTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Name", "Value"])
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(22)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)

    def set_headers(self, headers: HeaderSeq) -> None:
        self.setRowCount(len(headers))
        for row, (name, value) in enumerate(headers):
            self.setItem(row, 0, QTableWidgetItem(name.decode("latin-1")))
            self.setItem(row, 1, QTableWidgetItem(value.decode("latin-1")))


class MessageView(QWidget):
    """A request or response: first line, headers table, body viewer."""

    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setWordWrap(True)
        self.headers = HeadersTable()
        self.body = BodyViewer(executor)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.headers)
        split.addWidget(self.body)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self._shown: tuple[int, int, int] | None = None

    def set_message(self, summary: str, message: Message | None) -> None:
        self.summary.setText(summary)
        # Re-render only when the message itself changed, not on every
        # progress update of the same flow.
        key = (id(message), id(message.body), message.body_size) if message is not None else None
        if key == self._shown:
            return
        self._shown = key
        self.headers.set_headers(message.headers if message is not None else [])
        self.body.set_message(message)


class DetailPane(QTabWidget):
    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.request = MessageView(executor)
        self.response = MessageView(executor)
        self.timing = TimingView()
        self.connection = QWidget()
        self._connection_form = QFormLayout(self.connection)
        self.messages = WebSocketView(executor)
        self.addTab(self.request, "Request")
        self.addTab(self.response, "Response")
        self.addTab(self.messages, "Messages")
        self.addTab(self.timing, "Timing")
        self.addTab(self.connection, "Connection")
        self.flow_id: int | None = None
        self._messages_wanted = False
        """The Messages tab was open when a flow without it was selected:
        it opens again with the next WebSocket flow."""
        self.show_flow(None)

    def set_highlight(self, values: list[tuple[str, Value]]) -> None:
        """Highlight the filter's body terms (side and value) in the request
        and response bodies, each term on the side it searches."""
        self.request.body.set_highlight([v for side, v in values if side in ("req", "")])
        self.response.body.set_highlight([v for side, v in values if side in ("res", "")])

    def show_message(self, text: str) -> None:
        """No details to show, and why."""
        self.show_flow(None, text)

    def show_flow(self, flow: Flow | None, empty: str = SELECT) -> None:
        self.flow_id = flow.id if flow is not None else None
        self._show_messages(flow)
        if flow is None:
            # A reason (not the prompt to select) shows on whichever tab is open.
            self.request.set_message(_escape(empty), None)
            self.response.set_message(_escape(empty) if empty != SELECT else "", None)
            self.timing.set_flow(None)
            self._set_connection([])
            return
        request = flow.request
        replay = f"<br><i>Replay of #{flow.replay_of}</i>" if flow.replay_of is not None else ""
        self.request.set_message(
            f"<b>{request.method}</b> {_escape(request.url)} HTTP/{request.version}"
            f" — {size(request.body_size)} body{replay}",
            request,
        )
        response = flow.response
        if response is not None:
            summary = f"<b>{response.status} {_escape(response.reason)}</b>"
            summary += f" — {size(response.body_size)} body"
        else:
            summary = "Waiting for the response…"
        if flow.error is not None:
            summary += f"<br><span style='color:#d73a49'>Error ({flow.error.kind}): "
            summary += f"{_escape(flow.error.message)}</span>"
        if flow.bodies_dropped:
            summary += (
                "<br><i>Bodies dropped to stay under the memory limit for captured bodies "
                "(Settings)</i>"
            )
        self.response.set_message(summary, response)
        self.timing.set_flow(flow)
        started = datetime.datetime.fromtimestamp(flow.t_start).isoformat(
            sep=" ", timespec="milliseconds"
        )
        rows = [
            ("Client", f"{flow.client_addr[0]}:{flow.client_addr[1]}"),
            (
                "Upstream",
                f"{flow.upstream_addr[0]}:{flow.upstream_addr[1]}" if flow.upstream_addr else "—",
            ),
            ("Upstream connection", "new" if flow.t_upstream_connected else "reused from the pool"),
            ("Started", started),
            ("Duration", duration(flow.duration) or "in progress"),
            ("State", flow.state.value),
        ]
        if flow.replay_of is not None:
            rows.append(("Replay of", f"#{flow.replay_of}"))
        if flow.tunnel_id is not None:
            rows.append(("Tunnel", f"#{flow.tunnel_id}"))
        tunnel = flow.tunnel
        if tunnel is not None:
            rows.append(("Tunnel mode", tunnel.mode))
            rows.append(("Bytes up / down", f"{size(tunnel.bytes_up)} / {size(tunnel.bytes_down)}"))
            rows.append(("Requests inside", str(tunnel.inner_flows)))
            if tunnel.client_tls is not None:
                rows.append(("Client TLS", _tls_text(tunnel.client_tls)))
            if tunnel.upstream_tls is not None:
                rows.append(("Upstream TLS", _tls_text(tunnel.upstream_tls)))
        if flow.upstream_tls is not None:
            rows.append(("Upstream TLS", _tls_text(flow.upstream_tls)))
        if flow.websocket is not None:
            ws = flow.websocket
            rows.append(("WebSocket bytes up / down", f"{size(ws.wire_up)} / {size(ws.wire_down)}"))
        self._set_connection(rows)

    def _show_messages(self, flow: Flow | None) -> None:
        """The Messages tab, there for WebSocket flows only."""
        self.messages.show_flow(flow)
        websocket = flow is not None and flow.websocket is not None
        index = self.indexOf(self.messages)
        if self.isTabVisible(index) == websocket:
            return
        if not websocket:
            self._messages_wanted = self.currentIndex() == index
        self.setTabVisible(index, websocket)
        if websocket and self._messages_wanted:
            self.setCurrentIndex(index)

    def _set_connection(self, rows: list[tuple[str, str]]) -> None:
        while self._connection_form.rowCount():
            self._connection_form.removeRow(0)
        for label, value in rows:
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._connection_form.addRow(f"{label}:", field)


def _tls_text(tls: TlsInfo) -> str:
    parts = [tls.version, tls.cipher]
    if tls.alpn:
        parts.append(f"ALPN {tls.alpn}")
    if tls.sni:
        parts.append(f"SNI {tls.sni}")
    return ", ".join(p for p in parts if p)


def _escape(text: str) -> str:
    return html.escape(text)
