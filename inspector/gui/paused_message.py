"""The held message as the paused-flow editor edits it: for a request its
method and URL, for a response its status and reason; its headers, its
raw head as it stands, and its body.

A body is edited as text when it is text (decoded from its
Content-Encoding by the engine, in its charset); anything else is shown
in hex and cannot be edited, and a body held at its head only (streamed,
or over the capture limit) is not there to edit at all. ``edits()`` is
what a ``resume`` sends: only what changed, the headers as the whole
list, the body decoded (the engine encodes and frames it again).

Signals:
    changed(): a field was edited.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.bodyview import BodyKind, classify, hexdump
from inspector.core.format import size
from inspector.gui.composer_pairs import PairTable

REQUEST = "request"
HEX_SHOWN = 64 * 1024
"""Bytes of a binary body the hex view shows."""
NOTE_STYLE = "color: palette(mid); padding: 2px;"


@dataclass(slots=True)
class PausedFlow:
    """A held flow as ``paused_flow`` reports it."""

    id: int
    phase: str
    since: float
    method: str
    url: str
    status: int
    reason: str
    head_only: bool
    body_size: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    decoded: bool
    encoding: str

    @classmethod
    def from_wire(cls, value: dict[str, Any]) -> PausedFlow:
        return cls(
            int(value["id"]),
            str(value["phase"]),
            float(value["since"]),
            str(value["method"]),
            str(value["url"]),
            int(value["status"]),
            str(value["reason"]),
            bool(value["head_only"]),
            int(value["body_size"]),
            [(bytes(n), bytes(v)) for n, v in value["headers"]],
            bytes(value["body"]),
            bool(value["decoded"]),
            str(value["encoding"]),
        )

    def header(self, lower_name: bytes) -> str:
        for name, value in self.headers:
            if name.lower() == lower_name:
                return value.decode("latin-1")
        return ""


def body_text(flow: PausedFlow) -> str | None:
    """The body as editable text, or None when it is not text (or was
    not decoded)."""
    if not flow.decoded:
        return None
    kind_of = flow.header(b"content-type")
    mime = kind_of.split(";", 1)[0].strip().lower()
    if classify(mime, flow.body) not in (BodyKind.TEXT, BodyKind.JSON, BodyKind.EMPTY):
        return None
    try:
        return flow.body.decode(_charset(kind_of))
    except (UnicodeDecodeError, LookupError):
        return None


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                break
    return "utf-8"


def _wire(text: str) -> bytes:
    """A header name or value as bytes: Latin-1 when it fits (what the
    head carries), UTF-8 otherwise."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


class MessageEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow: PausedFlow | None = None
        self._text: str | None = None
        """The body's text as loaded (None: not editable)."""
        self._held_note = ""
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.method_box = QLineEdit()
        self.method_box.setMaximumWidth(110)
        self.url_box = QLineEdit()
        self.status_box = QSpinBox()
        self.status_box.setRange(100, 999)
        self.reason_box = QLineEdit()
        self.context_label = QLabel()
        self.context_label.setStyleSheet(NOTE_STYLE)
        self.request_row = QWidget()
        request_layout = QHBoxLayout(self.request_row)
        request_layout.setContentsMargins(0, 0, 0, 0)
        request_layout.addWidget(self.method_box)
        request_layout.addWidget(self.url_box, 1)
        self.response_row = QWidget()
        response_layout = QFormLayout(self.response_row)
        response_layout.setContentsMargins(0, 0, 0, 0)
        status_line = QHBoxLayout()
        status_line.addWidget(self.status_box)
        status_line.addWidget(self.reason_box, 1)
        response_layout.addRow("Status", status_line)
        response_layout.addRow("", self.context_label)

        self.headers = PairTable("Header")
        self.body_edit = QPlainTextEdit()
        self.body_edit.setFont(mono)
        self.body_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.hex_view = QPlainTextEdit()
        self.hex_view.setFont(mono)
        self.hex_view.setReadOnly(True)
        self.body_note = QLabel()
        self.body_note.setWordWrap(True)
        self.body_note.setStyleSheet(NOTE_STYLE)
        self.body_stack = QStackedWidget()
        self.body_stack.addWidget(self.body_edit)
        self.body_stack.addWidget(self.hex_view)
        body_page = QWidget()
        body_layout = QVBoxLayout(body_page)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_title = QLabel("Body")
        bold = QFont(body_title.font())
        bold.setBold(True)
        body_title.setFont(bold)
        body_line = QHBoxLayout()
        body_line.addWidget(body_title)
        body_line.addWidget(self.body_note, 1)
        body_layout.addLayout(body_line)
        body_layout.addWidget(self.body_stack, 1)
        self.raw_view = QPlainTextEdit()
        self.raw_view.setFont(mono)
        self.raw_view.setReadOnly(True)
        self.raw_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.headers, "Headers")
        self.tabs.addTab(self.raw_view, "Raw head")
        # Headers and body at once: most edits touch both.
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.tabs)
        self.split.addWidget(body_page)
        self.split.setSizes([300, 200])
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.request_row)
        layout.addWidget(self.response_row)
        layout.addWidget(self.split, 1)

        for box in (self.method_box, self.url_box, self.reason_box):
            box.textChanged.connect(self._edited)
        self.status_box.valueChanged.connect(self._edited)
        self.headers.changed.connect(self._edited)
        self.body_edit.textChanged.connect(self._edited)

    def load(self, flow: PausedFlow) -> None:
        """Show ``flow`` as held, every earlier edit dropped."""
        self.flow = flow
        widgets = (self.method_box, self.url_box, self.status_box, self.reason_box, self.body_edit)
        for widget in widgets:
            widget.blockSignals(True)
        request = flow.phase == REQUEST
        self.request_row.setVisible(request)
        self.response_row.setVisible(not request)
        self.method_box.setText(flow.method)
        self.url_box.setText(flow.url)
        self.status_box.setValue(flow.status or 200)
        self.reason_box.setText(flow.reason)
        self.context_label.setText(f"in answer to {flow.method} {flow.url}")
        self.headers.set_pairs(
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in flow.headers]
        )
        self._load_body(flow)
        for widget in widgets:
            widget.blockSignals(False)
        self._edited()

    def _load_body(self, flow: PausedFlow) -> None:
        encoded = f", decoded from {flow.encoding}" if flow.encoding and flow.decoded else ""
        self._text = None if flow.head_only else body_text(flow)
        if flow.head_only:
            self.body_note.setText(
                "Only the head can be edited: the body is streamed or over the capture"
                f" limit ({size(flow.body_size)} held so far) and goes on as it came."
            )
            self.hex_view.setPlainText(hexdump(flow.body[:HEX_SHOWN]))
            self.body_stack.setCurrentWidget(self.hex_view)
        elif self._text is None:
            why = "it does not decode" if not flow.decoded else "it is binary"
            self.body_note.setText(
                f"{size(len(flow.body))}: not editable here ({why}); it goes on unchanged."
            )
            self.hex_view.setPlainText(hexdump(flow.body[:HEX_SHOWN]))
            self.body_stack.setCurrentWidget(self.hex_view)
        else:
            self._held_note = f"{size(len(flow.body))} of text{encoded}; edit it freely."
            self.body_note.setText(self._held_note)
            self.body_edit.setPlainText(self._text)
            self.body_stack.setCurrentWidget(self.body_edit)

    def _edited(self) -> None:
        self.raw_view.setPlainText(self.raw_head())
        if self._text is not None:
            self.body_note.setText(
                f"edited: {size(len(self.body_edit.toPlainText().encode()))}; Content-Length"
                " follows it when sent."
                if self.body_changed()
                else self._held_note
            )
        self.changed.emit()

    # What the editor holds

    def header_list(self) -> list[tuple[bytes, bytes]]:
        return [(_wire(name), _wire(value)) for name, value in self.headers.pairs()]

    def body_changed(self) -> bool:
        return self._text is not None and self.body_edit.toPlainText() != self._text

    def edits(self) -> dict[str, Any]:
        """The ``resume`` arguments for what was changed (empty: nothing)."""
        flow = self.flow
        if flow is None:
            return {}
        args: dict[str, Any] = {}
        if flow.phase == REQUEST:
            if self.method_box.text().strip() != flow.method:
                args["method"] = self.method_box.text().strip()
            if self.url_box.text().strip() != flow.url:
                args["url"] = self.url_box.text().strip()
        else:
            if self.status_box.value() != flow.status:
                args["status"] = self.status_box.value()
            if self.reason_box.text() != flow.reason:
                args["reason"] = self.reason_box.text()
        headers = self.header_list()
        if headers != flow.headers:
            args["headers"] = [[name, value] for name, value in headers]
        if self.body_changed():
            content_type = flow.header(b"content-type")
            args["body"] = self.body_edit.toPlainText().encode(_charset(content_type), "replace")
        return args

    def raw_head(self) -> str:
        """The head as it stands with the edits (before the engine frames
        an edited body)."""
        flow = self.flow
        if flow is None:
            return ""
        if flow.phase == REQUEST:
            first = f"{self.method_box.text().strip()} {self.url_box.text().strip()} HTTP/1.1"
        else:
            first = f"HTTP/1.1 {self.status_box.value()} {self.reason_box.text()}"
        lines = [first] + [f"{name}: {value}" for name, value in self.headers.pairs()]
        return "\n".join(lines) + "\n"
