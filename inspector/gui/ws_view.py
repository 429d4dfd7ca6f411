"""The Messages tab: a WebSocket flow's handshake and how it ended, its
messages in a table that keeps up with new ones, a filter, and the
selected message's payload.

The view shows what it is given: the flow (from its details) and pages of
messages, which ``WsFollower`` fetches from the engine. A row carries a
preview of its message's payload; when that is not all of it, the view
asks for the whole (``payload_wanted``) and shows the preview meanwhile.
Like the flow table, it follows the newest message while scrolled to the
bottom, and stays put once the user scrolls up.

Signals:
    payload_wanted(int): the seq of the selected message, whose whole
        kept payload is wanted.
"""

from __future__ import annotations

import concurrent.futures
import html
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inspector.core.flow import Flow
from inspector.core.format import size
from inspector.core.websocket import UP, WebSocketInfo, WsMessage
from inspector.gui.ws_messages import Column, Show, WsMessageModel
from inspector.gui.ws_payload import PayloadViewer

ROW_HEIGHT = 22
WIDTHS = {Column.DIRECTION: 26, Column.TIME: 92, Column.TYPE: 80, Column.SIZE: 64}
LIST_LIMIT = 20_000
"""Messages the list holds at most, the newest. The engine may keep more
(Settings); the list then starts this far back, so selecting a socket
never fetches more than this, and the window's memory stays bounded."""
LIVE_COLOR = "#2ea05a"
WARN_COLOR = "#c77800"


@dataclass(frozen=True, slots=True)
class Page:
    """A ``ws_messages`` reply: messages after a seq, and what the engine
    keeps (``first_seq`` is the oldest it still has)."""

    messages: list[WsMessage]
    first_seq: int
    next_seq: int


def handshake_text(info: WebSocketInfo) -> str:
    """The tab's first lines (rich text): what was agreed and whether the
    socket is open or how it ended; then what passed each way."""
    head = ["<b>WebSocket</b> over TLS (wss)" if info.tls else "<b>WebSocket</b> (ws)"]
    if info.protocol:
        head.append(f"subprotocol <b>{html.escape(info.protocol)}</b>")
    if info.open:
        head.append(f"<span style='color:{LIVE_COLOR}'><b>● open</b></span>")
    else:
        head.append(f"<b>ended</b>: {html.escape(info.end)}")
    if info.close_code is not None:
        who = "the client" if info.closed_by == UP else "the server"
        close = f"close {info.close_code} from {who}"
        if info.close_reason:
            close += f" “{html.escape(info.close_reason)}”"
        head.append(close)
    counts = [
        f"{info.msgs_up:,} ↑ sent ({size(info.bytes_up)})",
        f"{info.msgs_down:,} ↓ received ({size(info.bytes_down)})",
    ]
    if info.extensions:
        counts.append(f"extensions: {html.escape(info.extensions)}")
    return " · ".join(head) + "<br>" + " · ".join(counts)


def payload_note(message: WsMessage, whole: bool) -> str:
    """A line about how much of the payload is at hand."""
    if message.payload_dropped:
        return "The payload was dropped to stay within the memory limit (Settings)."
    if not message.size:
        return "No payload."
    have = len(message.payload)
    if have >= message.size:
        return ""
    if not whole:
        return f"The first {size(have)} of {size(message.size)}; fetching the rest…"
    return f"The first {size(have)} of {size(message.size)} were kept."


class WebSocketView(QWidget):
    payload_wanted = Signal(int)

    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = WsMessageModel(self)
        self.flow_id: int | None = None
        """The flow whose messages are shown."""
        self.wanted_seq: int | None = None
        """The selected message, while its whole payload is on its way."""
        self.first_seq = 0
        """The oldest message the engine still has."""
        self._floor = -1
        """Seq the list started after (older ones are past its limit)."""
        self._paged = False
        """A page came since the flow was shown: ``first_seq`` is known."""
        self.follow = True
        """Scroll to the newest message as they arrive; off once the user
        scrolls away from the bottom, on again when they come back."""
        self._info: WebSocketInfo | None = None
        self._problem = ""

        self.handshake = QLabel()
        self.handshake.setWordWrap(True)
        self.handshake.setTextFormat(Qt.TextFormat.RichText)
        self.handshake.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.RichText)
        self.notice.setStyleSheet(f"color: {WARN_COLOR};")
        self.notice.hide()

        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter messages by their data")
        self.filter_box.setClearButtonEnabled(True)
        self.show_combo = QComboBox()
        for show in Show:
            self.show_combo.addItem(show.value, show)
        self.count = QLabel()
        self.count.setStyleSheet("color: palette(placeholder-text);")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter_box, 1)
        bar.addWidget(self.show_combo)
        bar.addWidget(self.count)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        vertical.hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        for column, width in WIDTHS.items():
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(Column.PREVIEW, QHeaderView.ResizeMode.Stretch)
        self.viewer = PayloadViewer(executor)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(4)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.viewer)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.handshake)
        layout.addWidget(self.notice)
        layout.addWidget(split, 1)

        self.filter_box.textChanged.connect(self._filter)
        self.show_combo.currentIndexChanged.connect(self._filter)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.model.rowsInserted.connect(self._rows_inserted)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self._update_labels()

    # What the follower and the detail pane feed in

    def show_flow(self, flow: Flow | None) -> None:
        """The selected flow (its details again, or another flow): a flow
        other than the one shown starts an empty list."""
        info = flow.websocket if flow is not None else None
        if flow is None or info is None:
            if self.flow_id is not None:
                self.flow_id = None
                self._info = None
                self._reset()
            return
        if flow.id != self.flow_id:
            self.flow_id = flow.id
            self.model.t0 = flow.t_start
            self._reset()
            self._floor = max(-1, info.next_seq - 1 - LIST_LIMIT)
        self._info = info
        self._update_labels()

    def add_page(self, flow_id: int, after: int, page: Page) -> bool:
        """Messages after ``after`` for ``flow_id``; False when they no
        longer fit what is shown (another flow, or a list started anew)."""
        if flow_id != self.flow_id or after != self.after:
            return False
        self.model.append(page.messages)
        self.model.drop_before(max(page.first_seq, self.model.last_seq + 1 - LIST_LIMIT))
        self.first_seq = page.first_seq
        self._paged = True
        self._problem = ""
        self._update_labels()
        return True

    @property
    def after(self) -> int:
        """The seq the next page starts after."""
        return max(self.model.last_seq, self._floor)

    def show_payload(self, flow_id: int, seq: int, message: WsMessage | None) -> None:
        """The whole kept payload of message ``seq`` (None: the engine no
        longer has it)."""
        if flow_id != self.flow_id or seq != self.wanted_seq:
            return
        self.wanted_seq = None
        if message is not None and message.seq == seq:
            self.viewer.show_message(message, payload_note(message, whole=True))
            return
        row = self.model.row_of(seq)
        shown = self.model.message_at(row)
        if shown is not None:
            self.viewer.show_message(
                shown, "Only this preview is left: the engine no longer has the message."
            )

    def set_problem(self, text: str) -> None:
        """Messages could not be fetched, and why."""
        self._problem = text
        self._update_labels()

    # Inside

    def _reset(self) -> None:
        self.first_seq = 0
        self._floor = -1
        self._paged = False
        self.wanted_seq = None
        self._problem = ""
        self.follow = True
        self.model.clear()
        self.viewer.show_message(None)
        self._update_labels()

    def _update_labels(self) -> None:
        info = self._info
        self.handshake.setText(handshake_text(info) if info is not None else "")
        notes = []
        if self.first_seq:
            notes.append(
                f"{self.first_seq:,} older messages were dropped to stay within the"
                " WebSocket limits (Settings)."
            )
        listed_from = self.model.first_seq if self.model.fetched else self.after + 1
        if self._paged and listed_from > self.first_seq:
            notes.append(
                f"{listed_from - self.first_seq:,} older messages are not listed:"
                f" the list keeps the latest {LIST_LIMIT:,}."
            )
        if info is not None and info.note:
            note = info.note[0].upper() + info.note[1:]
            notes.append(f"{html.escape(note)}; the bytes still passed through untouched.")
        if self._problem:
            notes.append(html.escape(self._problem))
        self.notice.setText("<br>".join(notes))
        self.notice.setVisible(bool(notes))
        shown, held = self.model.rowCount(), self.model.fetched
        if shown == held:
            self.count.setText(f"{held:,} message{'s' if held != 1 else ''}")
        else:
            self.count.setText(f"{shown:,} of {held:,}")

    def _filter(self) -> None:
        current = self.model.message_at(self.table.currentIndex().row())
        show = self.show_combo.currentData()
        self.model.set_filter(self.filter_box.text(), show if isinstance(show, Show) else Show.ALL)
        row = self.model.row_of(current.seq) if current is not None else -1
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            # A reset drops the current row without saying so.
            self.wanted_seq = None
            self.viewer.show_message(None)
            if self.follow:
                self.table.scrollToBottom()
        self._update_labels()

    def _scrolled(self, value: int) -> None:
        self.follow = value >= self.table.verticalScrollBar().maximum() - 1

    def _rows_inserted(self) -> None:
        if self.follow:
            self.table.scrollToBottom()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        message = self.model.message_at(current.row()) if current.isValid() else None
        self.wanted_seq = None
        if message is None:
            self.viewer.show_message(None)
            return
        whole = message.payload_dropped or len(message.payload) >= message.size
        self.viewer.show_message(message, payload_note(message, whole))
        if not whole:
            self.wanted_seq = message.seq
            self.payload_wanted.emit(message.seq)
