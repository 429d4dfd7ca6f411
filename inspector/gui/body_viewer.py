"""The body viewer: pretty JSON, text, image or hex, chosen per body.

Rendering (decompression, JSON pretty-printing, hex dumps) runs on a worker
thread, so a large body never freezes the window; the newest request wins
when the selection changes mid-render. Bodies over 1 MiB open truncated with
a "Show all" button.

The filter's body terms are highlighted in a JSON or text body, the current
match in a stronger colour; F3 and Shift+F3 (or the arrows by the note) step
to the next and previous match, wrapping around.

Signals:
    rendered(): a render finished and is on screen (tests wait on it).
    highlighted(): the matches of the filter's body terms are on screen;
        before ``rendered`` unless the text is over 1 MiB, when they are
        found on the worker thread.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QKeySequence, QPixmap, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.bodyview import BodyKind, BodyView, hexdump, render
from inspector.core.filter_terms import Value
from inspector.core.flow import Message
from inspector.gui.body_find import MAX_MATCHES, Matches, document_matches

FIND_ON_WORKER = 1024 * 1024
"""Texts longer than this (in characters) are searched on the worker thread."""

# Dark text on both, so a match reads the same in light and dark palettes
# (as a browser's find bar does).
MATCH = QColor("#ffe35c")
CURRENT = QColor("#ff9a3c")
MATCH_TEXT = QColor("#1a1a1a")


class RenderRelay(QObject):
    """Carries a finished render from the worker thread to the GUI thread
    (the body viewer's and the WebSocket message viewer's)."""

    done = Signal(int, object)


class BodyViewer(QWidget):
    rendered = Signal()
    highlighted = Signal()

    def __init__(
        self, executor: concurrent.futures.Executor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self._message: Message | None = None
        self._generation = 0
        self._relay = RenderRelay(self)
        self._relay.done.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._values: list[Value] = []
        self._matches = Matches()
        self._current = -1
        self._selections: list[QTextEdit.ExtraSelection] = []
        self._find_generation = 0
        self._searched = False
        """The matches shown are those of the text shown (none, when still
        finding them)."""
        self._found = RenderRelay(self)
        self._found.done.connect(self._show_matches, Qt.ConnectionType.QueuedConnection)

        self._note = QLabel()
        self._note.setWordWrap(True)
        self._note.setStyleSheet("color: palette(placeholder-text);")
        self._show_all = QPushButton("Show all")
        self._show_all.clicked.connect(lambda: self._render(show_all=True))
        self._show_all.hide()
        self.match_label = QLabel()
        self.match_label.setStyleSheet("color: palette(placeholder-text);")
        self._previous = _arrow_button("▲", "Previous match (Shift+F3)", self.previous_match)
        self._next = _arrow_button("▼", "Next match (F3)", self.next_match)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self._note, 1)
        bar.addWidget(self.match_label)
        bar.addWidget(self._previous)
        bar.addWidget(self._next)
        bar.addWidget(self._show_all)
        for key, step in (("F3", self.next_match), ("Shift+F3", self.previous_match)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(step)

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
        self._show_count()

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
        self._clear_matches()
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
            self._clear_matches()
            self.rendered.emit()
            return
        assert isinstance(result, concurrent.futures.Future)
        try:
            view: BodyView = result.result()
        except Exception as exc:
            self.kind = BodyKind.EMPTY
            self._note.setText(f"Cannot render this body: {exc}")
            self._stack.setCurrentWidget(self._placeholder)
            self._clear_matches()
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
                self._clear_matches()
                self.rendered.emit()
                return
            self.kind = BodyKind.BINARY
            self._note.setText("Image data that does not decode; showing hex")
            self.text.setPlainText(hexdump(view.data[:65536]))
        else:
            self.text.setPlainText(view.text)
        self._stack.setCurrentWidget(self.text)
        self._find()
        self.rendered.emit()

    # Highlighting the filter's body terms

    def set_highlight(self, values: list[Value]) -> None:
        """Highlight ``values`` (the filter's body terms) in the body shown
        now and in each body shown after it."""
        if _keys(values) == _keys(self._values):
            return  # another part of the filter changed
        self._values = list(values)
        self._find()

    def match_count(self) -> int:
        return len(self._matches.spans)

    def current_match(self) -> int:
        """The index of the current match, or -1 when there is none."""
        return self._current

    def next_match(self) -> None:
        if self._matches.spans:
            self._go_to((self._current + 1) % len(self._matches.spans))

    def previous_match(self) -> None:
        if self._matches.spans:
            self._go_to((self._current - 1) % len(self._matches.spans))

    def _searchable(self) -> bool:
        """Whether the text view shows a rendered body (not a hex dump)."""
        return self.kind in (BodyKind.JSON, BodyKind.TEXT) and (
            self._stack.currentWidget() is self.text
        )

    def _find(self) -> None:
        if not self._values or not self._searchable():
            self._clear_matches()
            self.highlighted.emit()
            return
        # The document's own text: its line breaks and positions are the
        # ones the highlights are laid on.
        text = self.text.toPlainText()
        values = list(self._values)
        if len(text) <= FIND_ON_WORKER:
            # Straight from the old highlights to the new: clearing first
            # would cost as much again with thousands of them.
            self._find_generation += 1
            self._show_matches(self._find_generation, document_matches(text, values))
            return
        self._clear_matches()
        generation = self._find_generation
        self.match_label.setText("Finding matches…")
        self.match_label.show()
        future = self._executor.submit(document_matches, text, values)
        future.add_done_callback(lambda f: self._found.done.emit(generation, f))

    def _show_matches(self, generation: int, result: object) -> None:
        if generation != self._find_generation:
            return  # the body or the filter changed meanwhile
        if isinstance(result, concurrent.futures.Future):
            result = result.result()
        assert isinstance(result, Matches)
        self._matches = result
        self._searched = True
        self._selections = []
        for start, end in result.spans:
            selection = QTextEdit.ExtraSelection()
            selection.cursor = self._cursor(start, end)
            selection.format.setBackground(MATCH)
            selection.format.setForeground(MATCH_TEXT)
            self._selections.append(selection)
        if result.spans:
            self._go_to(0)
        else:
            self._current = -1
            self.text.setExtraSelections([])
            self._show_count()
        self.highlighted.emit()

    def _clear_matches(self) -> None:
        """Drop the highlights, and any search under way."""
        self._find_generation += 1
        self._searched = False
        self._matches = Matches()
        self._current = -1
        if self._selections:
            self.text.setExtraSelections([])
        self._selections = []
        self._show_count()

    def _go_to(self, index: int) -> None:
        """Make match ``index`` the current one and scroll it into view."""
        self._current = index
        start, end = self._matches.spans[index]
        current = QTextEdit.ExtraSelection()
        current.cursor = self._cursor(start, end)
        current.format.setBackground(CURRENT)
        current.format.setForeground(MATCH_TEXT)
        # Drawn last, so over the match's own yellow.
        self.text.setExtraSelections([*self._selections, current])
        # The end first, so a match far along a long line shows whole; then
        # the start, centred, where reading goes on from.
        self.text.setTextCursor(self._cursor(end, end))
        self.text.ensureCursorVisible()
        self.text.setTextCursor(self._cursor(start, start))
        self.text.centerCursor()
        self._show_count()

    def _cursor(self, start: int, end: int) -> QTextCursor:
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return cursor

    def _show_count(self) -> None:
        count = len(self._matches.spans)
        if count:
            total = f"{MAX_MATCHES:,}+" if self._matches.capped else f"{count:,}"
            noun = "match" if total == "1" else "matches"
            self.match_label.setText(f"{self._current + 1:,} of {total} {noun}")
        elif self._searched:
            self.match_label.setText("No matches for the filter's body terms")
        else:
            self.match_label.setText("")
        self.match_label.setVisible(bool(self.match_label.text()))
        self._previous.setVisible(count > 0)
        self._next.setVisible(count > 0)


def _arrow_button(text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    button.clicked.connect(slot)
    return button


def _keys(values: list[Value]) -> list[tuple[str, str | None]]:
    return [(v.text, v.regex.pattern if v.regex is not None else None) for v in values]


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
