"""The detail pane for the selected flow: Request, Response, Timing,
Connection and Rules tabs, and Messages for a WebSocket. The window fetches the
flow's details from the engine when the selection changes or a batch
updates the flow, and shows them here."""

from __future__ import annotations

import concurrent.futures
import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QTabWidget,
    QWidget,
)

from inspector.core.filter_terms import Value
from inspector.core.flow import Flow
from inspector.core.format import size
from inspector.gui.connection_rows import connection_rows
from inspector.gui.message_view import MessageView
from inspector.gui.render_client import RenderHelper
from inspector.gui.rules_view import RulesView
from inspector.gui.timing_view import TimingView
from inspector.gui.ws_view import WebSocketView

SELECT = "Select a flow to see its details."


class DetailPane(QTabWidget):
    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.renderer = RenderHelper(self)
        """Large bodies' renders, for both sides."""
        self.request = MessageView(executor, renderer=self.renderer)
        self.response = MessageView(executor, renderer=self.renderer)
        self.timing = TimingView()
        self.connection = QWidget()
        self._connection_form = QFormLayout(self.connection)
        self.messages = WebSocketView(executor)
        self.addTab(self.request, "Request")
        self.addTab(self.response, "Response")
        self.addTab(self.messages, "Messages")
        self.addTab(self.timing, "Timing")
        self.addTab(self.connection, "Connection")
        self.rules = RulesView()
        self.addTab(self.rules, "Rules")
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
        self.rules.set_flow(flow)
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
            flow,
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
        self.response.set_message(summary, response, flow)
        self.timing.set_flow(flow)
        rows = connection_rows(flow)
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


def _escape(text: str) -> str:
    return html.escape(text)
