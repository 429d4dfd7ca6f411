"""The body viewer: pretty JSON (as text or a collapsible tree), text
highlighted for JSON, XML, HTML, JavaScript and CSS, an image with its size
and dimensions, or hex, chosen per body.

Rendering (decompression, JSON pretty-printing, highlighting, the JSON
tree, hex dumps; ``core/body_render.py``) runs on a worker thread for small
bodies and in the render helper process for large ones, with a placeholder
meanwhile; the text then goes in a slice at a time and colours are laid on
the lines in sight (``body_text.py``), so no body holds the GUI thread. The
newest request wins when the selection changes mid-render. Text and hex
bodies over 1 MiB open truncated with a "Show all" button; JSON opens whole.

The filter's body terms are highlighted in a JSON or text body, the current
match in a stronger colour; F3 and Shift+F3 (or the arrows by the note) step
to the next and previous match, wrapping around.

Signals:
    rendered(): a render finished and is on screen (tests wait on it).
    highlighted(): the matches of the filter's body terms are on screen;
        before ``rendered`` unless the text is over 1 MiB, when they are
        found on the worker thread.
    coloured(): the syntax highlighting of the body shown has arrived.
    tree_shown(): the JSON tree of the body shown has arrived.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QObject, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QImageReader,
    QKeySequence,
    QPixmap,
    QShortcut,
    QTextCursor,
)
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

from inspector.core.body_render import TextPart, render_parts, runs_part, text_part, tree_part
from inspector.core.bodyview import BodyKind, hexdump
from inspector.core.filter_terms import Value
from inspector.core.flow import Message
from inspector.core.format import size
from inspector.gui.body_find import MAX_MATCHES, Matches, document_matches
from inspector.gui.body_text import RunPainter, TextLoader
from inspector.gui.json_tree_view import JsonTreeView
from inspector.gui.render_client import RenderHelper

FIND_ON_WORKER = 1024 * 1024
"""Texts longer than this (in characters) are searched on the worker thread."""
HELPER_ABOVE = 256 * 1024
"""Bodies longer than this are rendered in the render helper process."""
DECODE_PIXELS = 4_000_000
"""Images with more pixels than this are decoded scaled to ``IMAGE_FIT``."""
IMAGE_FIT = QSize(2048, 2048)

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
    coloured = Signal()
    tree_shown = Signal()

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        parent: QWidget | None = None,
        renderer: RenderHelper | None = None,
    ) -> None:
        super().__init__(parent)
        self._executor = executor
        self.renderer = renderer if renderer is not None else RenderHelper(self)
        self.renderer.part.connect(self._helper_part)
        self.renderer.ended.connect(self._helper_ended)
        self._slot = f"viewer-{id(self)}"
        self._job: int | None = None
        self.image_size = QSize()
        """The shown image's dimensions (invalid when no image is shown)."""
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
        self.view_text = _toggle("Text", "The body as text")
        self.view_tree = _toggle("Tree", "The JSON body as a collapsible tree")
        self.view_text.setChecked(True)
        self.view_text.clicked.connect(lambda: self._pick_view(tree=False))
        self.view_tree.clicked.connect(lambda: self._pick_view(tree=True))
        self.match_label = QLabel()
        self.match_label.setStyleSheet("color: palette(placeholder-text);")
        self._previous = _arrow_button("▲", "Previous match (Shift+F3)", self.previous_match)
        self._next = _arrow_button("▼", "Next match (F3)", self.next_match)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.view_text)
        bar.addWidget(self.view_tree)
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
        self.loader = TextLoader(self.text)
        self.loader.loaded.connect(self._text_loaded)
        self.loader.progress.connect(self._loading)
        self.painter = RunPainter(self.text)
        self.tree = JsonTreeView()
        self._described = ""
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self.image)
        scroll.setWidgetResizable(True)
        self._placeholder = QLabel("No body")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("color: palette(placeholder-text);")
        self._stack = QStackedWidget()
        for widget in (self._placeholder, self.text, scroll, self.tree):
            self._stack.addWidget(widget)
        self._set_tree_available(False)

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
        self._job = None
        message = self._message
        self._set_tree_available(False)
        self.painter.set_runs(None)
        if message is None or not message.body:
            self._show_empty()
            return
        self._note.setText("Rendering…")
        self._clear_matches()
        if len(message.body) > HELPER_ABOVE:
            self._placeholder.setText(f"Rendering {size(len(message.body))}…")
            self._stack.setCurrentWidget(self._placeholder)
            self._job = self.renderer.submit(self._slot, message, show_all)
            return
        future = self._executor.submit(lambda: list(render_parts(message, show_all)))
        future.add_done_callback(lambda f: self._relay.done.emit(generation, f))

    def _show(self, generation: int, result: object) -> None:
        """A render from the worker thread: all its parts at once."""
        if generation != self._generation:
            return  # a newer selection replaced this one
        assert isinstance(result, concurrent.futures.Future)
        try:
            parts = result.result()
        except Exception as exc:
            self._failed(str(exc))
            return
        for kind, data in parts:
            self._part(kind, data)

    def _helper_part(self, job: int, kind: str, data: object) -> None:
        if job == self._job:
            assert isinstance(data, dict)
            self._part(kind, data)

    def _helper_ended(self, job: int, error: str) -> None:
        if job == self._job and error:
            self._failed(error)

    def _show_empty(self) -> None:
        self._show_all.hide()
        self.kind = BodyKind.EMPTY
        captured = self._message.body_size if self._message is not None else 0
        self._placeholder.setText("No body" if not captured else "Body not captured")
        self._note.setText("")
        self._stack.setCurrentWidget(self._placeholder)
        self.loader.clear()
        self._clear_matches()
        self.rendered.emit()

    def _failed(self, reason: str) -> None:
        self.kind = BodyKind.EMPTY
        self._show_all.hide()
        self._note.setText(f"Cannot render this body: {reason}")
        self._placeholder.setText("Cannot render this body")
        self._stack.setCurrentWidget(self._placeholder)
        self._clear_matches()
        self.rendered.emit()

    def _part(self, kind: str, data: dict[str, object]) -> None:
        if kind == "text":
            self._show_text(text_part(data))
        elif kind == "runs":
            self.painter.set_runs(runs_part(data))
            self.coloured.emit()
        elif kind == "tree":
            self.tree.set_tree(tree_part(data))
            self._set_tree_available(True)
            self.tree_shown.emit()

    def _show_text(self, part: TextPart) -> None:
        self.kind = part.kind
        self._show_all.setVisible(part.truncated)
        self._described = _describe(part)
        self._note.setText(self._described)
        self.image_size = QSize()
        if part.kind is BodyKind.IMAGE:
            if self._show_image(part):
                return
            self.kind = BodyKind.BINARY
            self._described = "Image data that does not decode; showing hex"
            self._note.setText(self._described)
            text = hexdump(part.data[:65536])
        else:
            text = part.text
        self._stack.setCurrentWidget(self.text)
        self.view_text.setChecked(True)
        self.view_tree.setChecked(False)
        self.loader.load(text)

    def _loading(self, percent: int) -> None:
        self._note.setText(f"{self._described} — loading {percent}%")

    def _text_loaded(self) -> None:
        self._note.setText(self._described)
        self.painter.paint_visible()
        self._find()
        self.rendered.emit()

    def _show_image(self, part: TextPart) -> bool:
        buffer = QBuffer()
        buffer.setData(QByteArray(part.data))
        reader = QImageReader(buffer)
        dimensions = reader.size()
        kind = bytes(reader.format().data()).decode("ascii", "replace").upper()
        if dimensions.isValid() and dimensions.width() * dimensions.height() > DECODE_PIXELS:
            reader.setScaledSize(dimensions.scaled(IMAGE_FIT, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if image.isNull():
            return False
        self.image_size = dimensions if dimensions.isValid() else image.size()
        self._described = (
            f"Image, {kind}, {self.image_size.width():,} × {self.image_size.height():,} px, "
            f"{part.size:,} bytes" + (f" — {part.note}" if part.note else "")
        )
        self._note.setText(self._described)
        self.image.setPixmap(QPixmap.fromImage(image))
        self._stack.setCurrentIndex(2)
        self.loader.clear()
        self._clear_matches()
        self.rendered.emit()
        return True

    def _set_tree_available(self, available: bool) -> None:
        self.view_text.setVisible(available)
        self.view_tree.setVisible(available)
        if not available and self._stack.currentWidget() is self.tree:
            self._stack.setCurrentWidget(self.text)

    def _pick_view(self, tree: bool) -> None:
        self.view_tree.setChecked(tree)
        self.view_text.setChecked(not tree)
        self._stack.setCurrentWidget(self.tree if tree else self.text)
        if tree:
            self._clear_matches()
        else:
            self._find()

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
        if not self.loader.done:
            return  # the text is still going in: searched once it is all in
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


def _toggle(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(True)
    button.setAutoRaise(True)
    return button


_LANGUAGE_LABELS = {"xml": "XML", "html": "HTML", "javascript": "JavaScript", "css": "CSS"}


def _describe(part: TextPart) -> str:
    label = {
        BodyKind.JSON: "JSON",
        BodyKind.TEXT: "Text",
        BodyKind.IMAGE: "Image",
        BodyKind.BINARY: "Binary (hex)",
        BodyKind.EMPTY: "Empty",
    }[part.kind]
    if part.language and part.kind is BodyKind.TEXT:
        label = _LANGUAGE_LABELS.get(part.language, label)
    details = f"{label}, {part.size:,} bytes"
    return f"{details} — {part.note}" if part.note else details
