"""The viewer for one WebSocket message: its payload as text, as pretty
JSON or as a hex dump.

The mode is picked from the message (binary frames as hex, text that
parses as JSON pretty-printed, other text as it is) until the user picks
one, which then sticks for messages of that kind (text or binary).
Rendering runs on a worker thread, as the body viewer's does: a payload
may be a megabyte; the newest message wins when the selection moves on.

Signals:
    rendered(): a render finished and is on screen (tests wait on it).
"""

from __future__ import annotations

import concurrent.futures
import enum
import json
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.bodyview import hexdump
from inspector.core.format import size
from inspector.core.websocket import BINARY, WsMessage
from inspector.gui.body_viewer import RenderRelay
from inspector.gui.ws_messages import (
    clock_time,
    direction_arrow,
    direction_text,
    payload_text,
    type_text,
)

HEX_LIMIT = 64 * 1024
"""Payload bytes shown as a hex dump at most (4,096 lines)."""
SELECT = "Select a message to see its data."


class Mode(enum.Enum):
    TEXT = "Text"
    JSON = "JSON"
    HEX = "Hex"


@dataclass(frozen=True, slots=True)
class Rendered:
    mode: Mode
    text: str
    note: str


def render(payload: bytes, binary: bool, mode: Mode | None = None) -> Rendered:
    """``payload`` in ``mode``, or in the mode that suits it when None."""
    text = payload_text(payload)
    if mode is None:
        if binary or text is None:
            mode = Mode.HEX
        else:
            mode = Mode.JSON if _pretty_json(text) is not None else Mode.TEXT
    if mode is Mode.HEX:
        note = ""
        if len(payload) > HEX_LIMIT:
            note = f"first {size(HEX_LIMIT)} of {size(len(payload))} shown"
        return Rendered(mode, hexdump(payload[:HEX_LIMIT]), note)
    if mode is Mode.JSON:
        pretty = _pretty_json(text) if text is not None else None
        if pretty is not None:
            return Rendered(mode, pretty, "")
        shown = text if text is not None else payload.decode("utf-8", "replace")
        return Rendered(mode, shown, "not JSON: shown as text")
    if text is None:
        return Rendered(mode, payload.decode("utf-8", "replace"), "not UTF-8: bad bytes shown as �")
    return Rendered(mode, text, "")


def _pretty_json(text: str) -> str | None:
    stripped = text.strip()
    if not stripped or stripped[0] not in '[{"-0123456789tfn':
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return json.dumps(value, indent=2, ensure_ascii=False)


class PayloadViewer(QWidget):
    rendered = Signal()

    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self._message: WsMessage | None = None
        self._note = ""
        self._generation = 0
        self._picked: dict[bool, Mode] = {}
        """The mode the user chose, for binary (True) and text messages."""
        self.mode: Mode | None = None
        """The mode of what is shown."""
        self._relay = RenderRelay(self)
        self._relay.done.connect(self._show, Qt.ConnectionType.QueuedConnection)

        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long title is cut, never widening the pane at the list's expense.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note = QLabel()
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.setWordWrap(True)
        self.buttons: dict[Mode, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.title, 1)
        for mode in Mode:
            button = QToolButton()
            button.setText(mode.value)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.clicked.connect(lambda _c=False, m=mode: self.pick(m))
            self._group.addButton(button)
            self.buttons[mode] = button
            bar.addWidget(button)

        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText(SELECT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.note)
        layout.addWidget(self.text, 1)
        self.show_message(None)

    def show_message(self, message: WsMessage | None, note: str = "") -> None:
        """Show ``message`` (None: nothing), with a line about its payload."""
        self._message = message
        self._note = note
        self._generation += 1
        for button in self.buttons.values():
            button.setEnabled(message is not None)
        self.text.setPlaceholderText(SELECT if message is None else "")
        if message is None:
            self.mode = None
            self.title.setText("")
            self._set_note("")
            self.text.clear()
            self._check(None)
            self.rendered.emit()
            return
        self.title.setText(
            f"{direction_arrow(message)} {type_text(message)} · {size(message.size)}"
            f" · {clock_time(message.t)}"
        )
        self.title.setToolTip(direction_text(message))
        generation = self._generation
        binary = message.opcode == BINARY
        future = self._executor.submit(render, message.payload, binary, self._picked.get(binary))
        future.add_done_callback(lambda f: self._relay.done.emit(generation, f))

    def pick(self, mode: Mode) -> None:
        """The user chose ``mode``: for this message and the next of its kind."""
        message = self._message
        if message is None:
            return
        self._picked[message.opcode == BINARY] = mode
        self.show_message(message, self._note)

    def _show(self, generation: int, future: concurrent.futures.Future[Rendered]) -> None:
        if generation != self._generation:
            return  # another message replaced this one
        try:
            result = future.result()
        except Exception as exc:
            self.mode = None
            self._set_note(f"Cannot show this payload: {exc}")
            self.text.clear()
            self.rendered.emit()
            return
        self.mode = result.mode
        self._check(result.mode)
        wrap = result.mode is Mode.TEXT
        self.text.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if wrap else QPlainTextEdit.LineWrapMode.NoWrap
        )
        self.text.setPlainText(result.text)
        self._set_note("; ".join(n for n in (self._note, result.note) if n))
        self.rendered.emit()

    def _set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _check(self, mode: Mode | None) -> None:
        # An exclusive group keeps one button checked; none is wanted here.
        self._group.setExclusive(False)
        for each, button in self.buttons.items():
            button.setChecked(each is mode)
        self._group.setExclusive(True)
