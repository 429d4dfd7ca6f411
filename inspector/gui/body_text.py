"""A text view for bodies of any size: the text goes into the document a
slice per event-loop turn, colours are laid only on the lines in sight,
and a document put aside is freed on a thread of its own.

Measured on an 8 MiB JSON body (12.6 MB, 900,000 lines pretty-printed):
``setPlainText`` holds the GUI thread for seconds and a whole-document
``QSyntaxHighlighter`` pass as long again, where 32 KiB slices cost
about 10 ms each; freeing that document costs some 50 ms, so it is freed
by a plain ``QThread`` (its C++ event loop, no interpreter lock).

Signals (on ``TextLoader``):
    progress(int): percent of the text in the document.
    loaded(): the whole text is in.
"""

from __future__ import annotations

import atexit
import bisect
import time

from PySide6.QtCore import QObject, QThread, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QPalette,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextLayout,
)
from PySide6.QtWidgets import QPlainTextDocumentLayout, QPlainTextEdit

from inspector.core.highlight import Runs, Style

SYNC_CHARS = 64 * 1024
"""Texts up to this many characters go in at once."""
SLICE_SECONDS = 0.008
FIRST_SLICE = 16 * 1024

_LIGHT = {
    Style.KEYWORD: "#8250df",
    Style.STRING: "#0a3069",
    Style.NUMBER: "#0550ae",
    Style.COMMENT: "#6e7781",
    Style.TAG: "#116329",
    Style.ATTRIBUTE: "#953800",
    Style.PUNCTUATION: "#57606a",
    Style.CONSTANT: "#cf222e",
    Style.NAME: "#6639ba",
}
_DARK = {
    Style.KEYWORD: "#d2a8ff",
    Style.STRING: "#a5d6ff",
    Style.NUMBER: "#79c0ff",
    Style.COMMENT: "#8b949e",
    Style.TAG: "#7ee787",
    Style.ATTRIBUTE: "#ffa657",
    Style.PUNCTUATION: "#8b949e",
    Style.CONSTANT: "#ff7b72",
    Style.NAME: "#d2a8ff",
}


def new_document() -> QTextDocument:
    document = QTextDocument()
    document.setDocumentLayout(QPlainTextDocumentLayout(document))
    document.setUndoRedoEnabled(False)
    return document


class _Reaper:
    """The thread documents are freed on, started when first needed and
    stopped at exit."""

    thread: QThread | None = None

    @classmethod
    def free(cls, document: QTextDocument) -> None:
        if cls.thread is None:
            cls.thread = QThread()
            cls.thread.setObjectName("document-reaper")
            cls.thread.start(QThread.Priority.IdlePriority)
            atexit.register(cls.stop)
        document.moveToThread(cls.thread)
        document.deleteLater()

    @classmethod
    def stop(cls) -> None:
        if cls.thread is not None:
            cls.thread.quit()
            cls.thread.wait()
            cls.thread = None


class TextLoader(QObject):
    progress = Signal(int)
    loaded = Signal()

    def __init__(self, edit: QPlainTextEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        self._text = ""
        self._at = 0
        self._chunk = FIRST_SLICE
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        self._document = new_document()
        edit.setDocument(self._document)
        self.done = True

    def load(self, text: str) -> None:
        """Replace the document with ``text``."""
        self._timer.stop()
        self._swap()
        self._text, self._at, self._chunk = text, 0, FIRST_SLICE
        self.done = False
        if len(text) <= SYNC_CHARS:
            self._document.setPlainText(text)
            self._finish()
            return
        self._timer.start()

    def clear(self) -> None:
        self.load("")

    def _swap(self) -> None:
        """Start from an empty document; a large old one is freed on the
        reaper thread."""
        old = self._document
        if old.characterCount() <= SYNC_CHARS:
            old.clear()
            return
        self._document = new_document()
        self.edit.setDocument(self._document)
        _Reaper.free(old)

    def _slice(self) -> None:
        started = time.perf_counter()
        cursor = QTextCursor(self._document)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        end = min(len(self._text), self._at + self._chunk)
        cursor.insertText(self._text[self._at : end])
        self._at = end
        spent = time.perf_counter() - started
        # Aim each slice at the budget, whatever the text's line lengths.
        scale = SLICE_SECONDS / spent if spent > 0 else 2.0
        self._chunk = max(4096, min(int(self._chunk * min(2.0, max(0.5, scale))), 1 << 20))
        if self._at >= len(self._text):
            self._timer.stop()
            self._finish()
        else:
            self.progress.emit(self._at * 100 // len(self._text))

    def _finish(self) -> None:
        self._text = ""
        self.done = True
        self.loaded.emit()


class RunPainter(QObject):
    """Lays highlighting runs on the blocks in sight, and on each block
    that scrolls into sight later (as ``QSyntaxHighlighter`` would for
    every block at once)."""

    def __init__(self, edit: QPlainTextEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        self._runs: Runs | None = None
        self._formats: dict[int, QTextCharFormat] = {}
        self._painted: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.paint_visible)
        edit.verticalScrollBar().valueChanged.connect(self._timer.start)
        edit.updateRequest.connect(lambda *_: self._runs is not None and self._timer.start())

    def set_runs(self, runs: Runs | None) -> None:
        self._runs = runs
        self._painted = set()
        dark = self.edit.palette().color(QPalette.ColorRole.Base).lightness() < 128
        self._formats = {}
        for style, colour in (_DARK if dark else _LIGHT).items():
            form = QTextCharFormat()
            form.setForeground(QColor(colour))
            self._formats[style] = form
        if runs is not None:
            self.paint_visible()

    def painted_blocks(self) -> int:
        return len(self._painted)

    def paint_visible(self) -> None:
        runs = self._runs
        if runs is None or not runs.starts:
            return
        document = self.edit.document()
        block = self.edit.firstVisibleBlock()
        bottom = self.edit.viewport().height()
        offset = self.edit.contentOffset()
        first = last = -1
        while block.isValid():
            number = block.blockNumber()
            if number not in self._painted:
                self._painted.add(number)
                self._paint(block, runs)
                if first < 0:
                    first = block.position()
                last = block.position() + block.length()
            top = self.edit.blockBoundingGeometry(block).translated(offset).top()
            if top > bottom:
                break
            block = block.next()
        if first >= 0:
            # One relayout for the lot: a call per block costs as much again.
            document.markContentsDirty(first, last - first)

    def _paint(self, block: QTextBlock, runs: Runs) -> None:
        start = block.position()
        end = start + block.length()
        starts = runs.starts
        i = max(0, bisect.bisect_right(starts, start) - 1)
        ranges = []
        while i < len(starts) and starts[i] < end:
            stop = starts[i + 1] if i + 1 < len(starts) else end
            form = self._formats.get(runs.styles[i])
            if form is not None and stop > start:
                piece = QTextLayout.FormatRange()
                piece.start = max(starts[i], start) - start
                piece.length = min(stop, end) - start - piece.start
                piece.format = form
                ranges.append(piece)
            i += 1
        block.layout().setFormats(ranges)
