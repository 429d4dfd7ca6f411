"""The body viewer: pretty JSON, text, image or hex, chosen per body.

Rendering (decompression, JSON pretty-printing, hex dumps) runs on a worker
thread, so a large body never freezes the window; the newest request wins
when the selection changes mid-render. Bodies over 1 MiB open truncated with
a "Show all" button.

Signals:
    rendered(): a render finished and is on screen (tests wait on it).
"""

from __future__ import annotations

import concurrent.futures

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.bodyview import BodyKind, BodyView, hexdump, render
from inspector.core.flow import Message


class RenderRelay(QObject):
    """Carries a finished render from the worker thread to the GUI thread
    (the body viewer's and the WebSocket message viewer's)."""

    done = Signal(int, object)


class BodyViewer(QWidget):
    rendered = Signal()

    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self._message: Message | None = None
        self._generation = 0
        self._relay = RenderRelay(self)
        self._relay.done.connect(self._show, Qt.ConnectionType.QueuedConnection)

        self._note = QLabel()
        self._note.setWordWrap(True)
        self._note.setStyleSheet("color: palette(placeholder-text);")
        self._show_all = QPushButton("Show all")
        self._show_all.clicked.connect(lambda: self._render(show_all=True))
        self._show_all.hide()
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self._note, 1)
        bar.addWidget(self._show_all)

        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        self._placeholder = QLabel("No body")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("color: palette(placeholder-text);")
        self._stack = QStackedWidget()
        for widget in (self._placeholder, self.text, scroll):
            self._stack.addWidget(widget)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        self.kind = BodyKind.EMPTY

    def set_message(self, message: Message | None) -> None:
        self._message = message
        self._render(show_all=False)

    def _render(self, show_all: bool) -> None:
        self._generation += 1
        generation = self._generation
        message = self._message
        if message is None or not message.body:
            self._show(generation, None)
            return
        self._note.setText("Rendering…")
        future = self._executor.submit(render, message, show_all)
        future.add_done_callback(lambda f: self._relay.done.emit(generation, f))

    def _show(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return  # a newer selection replaced this one
        self._show_all.hide()
        if result is None:
            self.kind = BodyKind.EMPTY
            size = self._message.body_size if self._message is not None else 0
            self._placeholder.setText("No body" if not size else "Body not captured")
            self._note.setText("")
            self._stack.setCurrentWidget(self._placeholder)
            self.rendered.emit()
            return
        assert isinstance(result, concurrent.futures.Future)
        try:
            view: BodyView = result.result()
        except Exception as exc:
            self.kind = BodyKind.EMPTY
            self._note.setText(f"Cannot render this body: {exc}")
            self._stack.setCurrentWidget(self._placeholder)
            self.rendered.emit()
            return
        self.kind = view.kind
        self._note.setText(_describe(view))
        self._show_all.setVisible(view.truncated)
        if view.kind is BodyKind.IMAGE:
            pixmap = QPixmap()
            if pixmap.loadFromData(view.data):
                self.image.setPixmap(pixmap)
                self._stack.setCurrentIndex(2)
                self.rendered.emit()
                return
            self.kind = BodyKind.BINARY
            self._note.setText("Image data that does not decode; showing hex")
            self.text.setPlainText(hexdump(view.data[:65536]))
        else:
            self.text.setPlainText(view.text)
        self._stack.setCurrentWidget(self.text)
        self.rendered.emit()


def _describe(view: BodyView) -> str:
    label = {
        BodyKind.JSON: "JSON",
        BodyKind.TEXT: "Text",
        BodyKind.IMAGE: "Image",
        BodyKind.BINARY: "Binary (hex)",
        BodyKind.EMPTY: "Empty",
    }[view.kind]
    details = f"{label}, {len(view.data):,} bytes"
    return f"{details} — {view.note}" if view.note else details
