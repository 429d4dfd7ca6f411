""" "Open raw" and "Save body as...": a message as it went over the wire in
a window of its own (start line, headers, body; ``core/raw_message.py``),
and a body written to a file of the user's choosing.

Both write off the GUI thread: decoding a large compressed body or
writing megabytes to a slow disk is not the window's work.

Signals (on ``BodySaver``):
    saved(str): the body was written to this path.
    failed(str): it was not, and why.
"""

from __future__ import annotations

import concurrent.futures
import mimetypes
import posixpath
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.decode import DecodeError, decode_body, parse_encodings
from inspector.core.flow import Message, Request
from inspector.core.raw_message import as_text, raw_bytes, raw_view
from inspector.gui.body_text import TextLoader

RAW_SHOWN = 2 * 1024 * 1024
"""Body bytes the raw window shows; Save raw writes them all."""


def body_file_name(message: Message, url: str) -> str:
    """A name for the saved body: the URL's last path segment, with an
    extension for its media type when it has none."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    name = posixpath.basename(path.rstrip("/")) if "://" not in path[-3:] else ""
    name = "".join(c for c in name if c not in '\\/:*?"<>|') or "body"
    if "." not in name:
        media = (message.header(b"content-type") or b"").decode("latin-1").split(";")[0]
        name += mimetypes.guess_extension(media.strip().lower()) or ".bin"
    return name


def decoded_body(message: Message) -> bytes:
    """The body with its Content-Encoding undone, or as captured when that
    fails."""
    if not parse_encodings(message.header(b"content-encoding")):
        return message.body
    try:
        return decode_body(message.body, message.header(b"content-encoding")).data
    except DecodeError:
        return message.body


class BodySaver(QObject):
    saved = Signal(str)
    failed = Signal(str)

    def __init__(
        self, executor: concurrent.futures.Executor, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self._done = _Relay(self)
        self._done.finished.connect(self._finished, Qt.ConnectionType.QueuedConnection)

    def choose(self, parent: QWidget, message: Message, name: str, raw: bool = False) -> None:
        """Ask where, then write the body (decoded), or with ``raw`` the
        whole message as sent."""
        title = "Save raw message" if raw else "Save body as"
        chooser = QFileDialog(parent, title, name)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.fileSelected.connect(lambda chosen: self.write(Path(chosen), message, raw))
        chooser.open()

    def write(self, path: Path, message: Message, raw: bool = False) -> None:
        def work() -> str:
            data = raw_bytes(message) if raw else decoded_body(message)
            path.write_bytes(data)
            return str(path)

        future = self._executor.submit(work)
        future.add_done_callback(self._done.finished.emit)

    def _finished(self, future: concurrent.futures.Future[str]) -> None:
        try:
            self.saved.emit(future.result())
        except OSError as exc:
            self.failed.emit(f"Cannot save: {exc.strerror or exc}")


class _Relay(QObject):
    finished = Signal(object)


class RawDialog(QDialog):
    """A message as on the wire, with its notes, "Decode body" when it
    has a Content-Encoding, and "Save raw..."."""

    def __init__(
        self, message: Message, title: str, saver: BodySaver, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(760, 560)
        self.message = message
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: palette(placeholder-text);")
        self.decode = QCheckBox("Decode body")
        self.decode.setVisible(bool(parse_encodings(message.header(b"content-encoding"))))
        self.decode.toggled.connect(self._show)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.loader = TextLoader(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        save = QPushButton("Save raw…")
        buttons.addButton(save, QDialogButtonBox.ButtonRole.ActionRole)
        kind = "request" if isinstance(message, Request) else "response"
        save.clicked.connect(lambda: saver.choose(self, message, f"{kind}.txt", raw=True))
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notes)
        layout.addWidget(self.decode)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self._show()

    def _show(self) -> None:
        view = raw_view(self.message, self.decode.isChecked())
        notes = list(view.notes)
        shown = view.data[: view.body_start + RAW_SHOWN]
        if len(shown) < len(view.data):
            notes.append(
                f"Showing the first {RAW_SHOWN:,} of {len(view.data) - view.body_start:,} "
                "body bytes; Save raw… writes them all"
            )
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))
        self.loader.load(as_text(shown))
