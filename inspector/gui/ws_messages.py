"""The Messages tab's model: a WebSocket flow's messages as table rows.

The rows are the messages fetched so far for the selected flow (pages after
a sequence number, each message with a preview of its payload), oldest
first. The model keeps its own list of the messages the filter lets
through, so a new page appends with one ``beginInsertRows`` and messages
the engine dropped from the front leave with one ``beginRemoveRows``. What
each cell shows (direction arrow, clock time, type, size, a one-line
preview) is worked out here from the message alone.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from inspector.core.format import size
from inspector.core.websocket import BINARY, CLOSE, OPCODE_NAMES, TEXT, UP, WsMessage

Index = QModelIndex | QPersistentModelIndex
PREVIEW_CHARS = 200
HEX_PREVIEW = 24
"""Bytes of a binary payload shown as hex in its row."""
UP_COLOR = QColor(46, 160, 90)
DOWN_COLOR = QColor(60, 130, 230)
CONTROL_COLOR = QColor(128, 128, 128)


class Column(enum.IntEnum):
    DIRECTION = 0
    TIME = 1
    TYPE = 2
    SIZE = 3
    PREVIEW = 4


HEADERS = {
    Column.DIRECTION: "",
    Column.TIME: "Time",
    Column.TYPE: "Type",
    Column.SIZE: "Size",
    Column.PREVIEW: "Data",
}


class Show(enum.Enum):
    """Which messages the filter's combo lets through."""

    ALL = "All"
    SENT = "Sent ↑"
    RECEIVED = "Received ↓"
    TEXT = "Text"
    BINARY = "Binary"
    CONTROL = "Close, ping, pong"


def direction_arrow(message: WsMessage) -> str:
    return "↑" if message.direction == UP else "↓"


def direction_text(message: WsMessage) -> str:
    return "Sent by the client" if message.direction == UP else "Received from the server"


def clock_time(t: float) -> str:
    """``14:03:22.123``, local time."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def type_text(message: WsMessage) -> str:
    """``text``, ``binary``, ``close 1000``, ``ping``, ``pong``."""
    name = OPCODE_NAMES.get(message.opcode, f"opcode {message.opcode}")
    if message.opcode == CLOSE and message.close_code is not None:
        return f"{name} {message.close_code}"
    return name


def payload_text(payload: bytes) -> str | None:
    """The payload as UTF-8 text, or None when it is not (a preview may
    end inside a character: that tail is forgiven)."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(payload) - 3 and exc.reason == "unexpected end of data":
            return payload[: exc.start].decode("utf-8")
        return None


def hex_bytes(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def preview_text(message: WsMessage) -> str:
    """One line for the message's row: a text payload's first line, the
    start of a binary one in hex, a close frame's reason."""
    if message.payload_dropped:
        return "(payload dropped to stay within the memory limit)"
    payload = message.payload
    if not message.size:
        return ""
    text = None if message.opcode == BINARY else payload_text(payload)
    if text is not None and message.opcode != TEXT and not text.isprintable():
        text = None  # a ping's or pong's payload is often a few random bytes
    if text is None:
        more = len(payload) > HEX_PREVIEW or message.size > len(payload)
        return hex_bytes(payload[:HEX_PREVIEW]) + (" …" if more else "")
    line, newline, _rest = text.strip().partition("\n")
    more = bool(newline) or message.size > len(payload) or len(line) > PREVIEW_CHARS
    return line[:PREVIEW_CHARS].rstrip() + ("…" if more else "")


def accepts(message: WsMessage, show: Show, needle: str, haystack: str) -> bool:
    """Whether the filter lets ``message`` through: ``needle`` (lower case)
    found in ``haystack`` (its preview, lower case), and ``show``."""
    if needle and needle not in haystack:
        return False
    if show is Show.ALL:
        return True
    if show is Show.SENT:
        return message.direction == UP
    if show is Show.RECEIVED:
        return message.direction != UP
    if show is Show.TEXT:
        return message.opcode == TEXT
    if show is Show.BINARY:
        return message.opcode == BINARY
    return message.opcode not in (TEXT, BINARY)


@dataclass(slots=True)
class Entry:
    message: WsMessage
    preview: str
    haystack: str
    """What the filter's text is looked for in: the whole preview (every
    line of it, or its hex), lower case."""


def entry_of(message: WsMessage) -> Entry:
    text = None if message.opcode == BINARY else payload_text(message.payload)
    haystack = text if text is not None else hex_bytes(message.payload)
    return Entry(message, preview_text(message), haystack.lower())


class WsMessageModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[Entry] = []
        """Every message fetched, in sequence order."""
        self._rows: list[Entry] = []
        """The ones the filter lets through: the table's rows."""
        self._needle = ""
        self._show = Show.ALL
        self.t0 = 0.0
        """When the flow started; times in tooltips count from it."""

    # Qt model interface

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(Column):
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[Column(section)]
            if role == Qt.ItemDataRole.TextAlignmentRole and section == Column.SIZE:
                return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._rows):
            return None
        entry = self._rows[row]
        message = entry.message
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.DIRECTION:
                return direction_text(message)
            if column == Column.TIME:
                return f"+{message.t - self.t0:.3f} s after the request"
            if column == Column.TYPE and message.compressed:
                return "Compressed on the wire (permessage-deflate)"
            if column == Column.SIZE:
                return f"{message.size:,} byte{'' if message.size == 1 else 's'}"
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == Column.DIRECTION:
                return UP_COLOR if message.direction == UP else DOWN_COLOR
            return CONTROL_COLOR if message.opcode not in (TEXT, BINARY) else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == Column.SIZE:
                return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            if column == Column.DIRECTION:
                return Qt.AlignmentFlag.AlignCenter
        return None

    def _display(self, entry: Entry, column: int) -> str:
        message = entry.message
        if column == Column.DIRECTION:
            return direction_arrow(message)
        if column == Column.TIME:
            return clock_time(message.t)
        if column == Column.TYPE:
            return type_text(message)
        if column == Column.SIZE:
            return size(message.size)
        return entry.preview

    # Contents

    @property
    def last_seq(self) -> int:
        """The newest message's sequence number (-1 before any): the next
        page is asked for after it."""
        return self._entries[-1].message.seq if self._entries else -1

    @property
    def first_seq(self) -> int:
        """The oldest message's sequence number (-1 before any)."""
        return self._entries[0].message.seq if self._entries else -1

    @property
    def fetched(self) -> int:
        """Messages held, shown or filtered out."""
        return len(self._entries)

    def message_at(self, row: int) -> WsMessage | None:
        return self._rows[row].message if 0 <= row < len(self._rows) else None

    def row_of(self, seq: int) -> int:
        """The row showing message ``seq``, or -1."""
        for row in range(len(self._rows) - 1, -1, -1):
            if self._rows[row].message.seq == seq:
                return row
        return -1

    def clear(self) -> None:
        self.beginResetModel()
        self._entries = []
        self._rows = []
        self.endResetModel()

    def append(self, messages: Iterable[WsMessage]) -> None:
        """Add messages newer than the newest held (older ones are ignored:
        a page may overlap what came before)."""
        last = self.last_seq
        fresh = [entry_of(m) for m in messages if m.seq > last]
        if not fresh:
            return
        self._entries.extend(fresh)
        shown = [e for e in fresh if accepts(e.message, self._show, self._needle, e.haystack)]
        if shown:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(shown) - 1)
            self._rows.extend(shown)
            self.endInsertRows()

    def drop_before(self, seq: int) -> None:
        """Let go of messages before ``seq``: the engine no longer has them."""
        entries = self._entries
        gone = 0
        while gone < len(entries) and entries[gone].message.seq < seq:
            gone += 1
        if not gone:
            return
        del entries[:gone]
        rows = self._rows
        hidden = 0
        while hidden < len(rows) and rows[hidden].message.seq < seq:
            hidden += 1
        if hidden:
            self.beginRemoveRows(QModelIndex(), 0, hidden - 1)
            del rows[:hidden]
            self.endRemoveRows()

    def set_filter(self, text: str, show: Show) -> None:
        needle = text.strip().lower()
        if (needle, show) == (self._needle, self._show):
            return
        self._needle, self._show = needle, show
        self.beginResetModel()
        self._rows = [e for e in self._entries if accepts(e.message, show, needle, e.haystack)]
        self.endResetModel()
