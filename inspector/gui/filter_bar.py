"""The filter bar over the flow table: the filter box with its history and
saved filters, the error of a malformed expression, and type toggles.

The box's expression and the chosen type toggle are parsed apart and their
predicates joined (``both``), so the model gets one ``FlowFilter`` and the
typed text never needs rewriting. A malformed expression shows its error
under the box and leaves the last good filter in place.

Signals:
    filter_changed(object): a new ``FlowFilter`` to apply.
    escaped(): Esc in the box (the window moves the focus to the table).
    saved_changed(list): the saved filters, ``[name, expression]`` pairs,
        after one was saved or removed.
    history_changed(list): the history, most recent first, after an
        expression was applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.filter import FilterError, FlowFilter, parse_filter

FILTER_DELAY_MS = 150
HISTORY_SIZE = 20

TYPES: tuple[tuple[str, str], ...] = (
    ("All", ""),
    ("XHR/Fetch", "type:json or type:xml"),
    ("Doc", "type:html"),
    ("JS", "type:js"),
    ("CSS", "type:css"),
    ("Img", "type:image"),
    ("Media", "type:media"),
    ("Font", "type:font"),
    ("WS", "type:ws"),
    ("Other", "type:other"),
)
"""The type toggles: label, and the expression each one adds."""

S = TypeVar("S")


def _and(
    first: Callable[[S], bool] | None, second: Callable[[S], bool] | None
) -> Callable[[S], bool] | None:
    if first is None:
        return second
    if second is None:
        return first
    return lambda subject: first(subject) and second(subject)


def both(first: FlowFilter, second: FlowFilter) -> FlowFilter:
    """A filter matching what both match (empty parts match everything)."""
    if second.predicate is None and second.flow_predicate is None:
        return first
    if first.predicate is None and first.flow_predicate is None:
        return second
    needs_flow = first.needs_flow or second.needs_flow
    return FlowFilter(
        f"({first.text}) ({second.text})",
        _and(first.predicate, second.predicate),
        _and(first.flow_predicate, second.flow_predicate),
        needs_flow,
        first.response_terms + second.response_terms,
        (lambda row: first.surely(row) and second.surely(row)) if needs_flow else None,
        first.needs_bodies or second.needs_bodies,
        first.body_values + second.body_values,
    )


class History:
    """Applied expressions, most recent first, no duplicates."""

    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self.size = size
        self.items: list[str] = []

    def add(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if text in self.items:
            self.items.remove(text)
        self.items.insert(0, text)
        del self.items[self.size :]


class FilterBox(QLineEdit):
    """The filter's line edit: Up/Down walk the history, Esc leaves."""

    escaped = Signal()

    def __init__(self, history: History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.walking = -1
        """The history entry shown, -1 when the text is the user's own."""
        self._draft = ""
        self._stepping = False
        self.textEdited.connect(self._edited)

    def _edited(self, _text: str) -> None:
        self.walking = -1

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
            return
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._step(1 if key == Qt.Key.Key_Up else -1)
            event.accept()
            return
        super().keyPressEvent(event)

    def _step(self, delta: int) -> None:
        items = self.history.items
        target = max(-1, min(self.walking + delta, len(items) - 1))
        if target == self.walking:
            return
        if self.walking == -1:
            self._draft = self.text()
        self.walking = target
        self.setText(self._draft if target == -1 else items[target])


class FilterBar(QWidget):
    filter_changed = Signal(object)
    escaped = Signal()
    saved_changed = Signal(list)
    history_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = History()
        self.saved: list[list[str]] = []
        self.box = FilterBox(self.history)
        self.box.setPlaceholderText(
            "Filter: text in URL, method:POST, status:4xx, host:api   (Ctrl+F, ↑↓ history)"
        )
        self.box.setClearButtonEnabled(True)
        self.box.escaped.connect(self.escaped)
        self.box.returnPressed.connect(self._enter)
        self.box.textChanged.connect(self._text_changed)

        self.star = QToolButton()
        self.star.setText("★")
        self.star.setToolTip("Saved filters")
        self.star.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.saved_menu = QMenu(self.star)
        self.saved_menu.aboutToShow.connect(self._fill_menu)
        self.star.setMenu(self.saved_menu)

        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #d73a49;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.type_group = QButtonGroup(self)
        self.type_group.setExclusive(True)
        self.type_buttons: dict[str, QToolButton] = {}
        types = QHBoxLayout()
        types.setContentsMargins(0, 0, 0, 0)
        types.setSpacing(2)
        for label, expression in TYPES:
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setAutoRaise(True)
            if expression:
                button.setToolTip(expression)
            self.type_group.addButton(button)
            self.type_buttons[label] = button
            types.addWidget(button)
        types.addStretch(1)
        self.type_buttons["All"].setChecked(True)
        self._type_filters = {label: parse_filter(text) for label, text in TYPES}
        self.type_group.buttonToggled.connect(self._type_toggled)

        box_row = QHBoxLayout()
        box_row.setContentsMargins(0, 0, 0, 0)
        box_row.setSpacing(2)
        box_row.addWidget(self.box, 1)
        box_row.addWidget(self.star)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(box_row)
        layout.addWidget(self.error_label)
        layout.addLayout(types)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DELAY_MS)
        self._timer.timeout.connect(self.apply)
        self.typed = parse_filter("")
        """The last good parse of the box."""
        self.current = self.typed
        """What was last sent: the box's filter and the type's, joined."""

    # The type toggles

    @property
    def type_label(self) -> str:
        button = self.type_group.checkedButton()
        return button.text() if button is not None else "All"

    def set_type(self, label: str) -> None:
        self.type_buttons[label].setChecked(True)

    def _type_toggled(self, _button: QObject, checked: bool) -> None:
        if checked:
            self._send()

    # The box

    def error(self) -> str:
        """The malformed expression's message, "" when it parses."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def _text_changed(self, text: str) -> None:
        try:
            parse_filter(text)
        except FilterError as exc:
            self._timer.stop()
            self._show_error(str(exc))
            return
        self._show_error("")
        self._timer.start()

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self.box.setStyleSheet("QLineEdit { border: 2px solid #d73a49; }" if message else "")
        self.box.setToolTip(message)

    def _enter(self) -> None:
        self.box.walking = -1
        self.apply()

    def apply(self) -> None:
        """Apply the box's expression now (the pause's end, or Enter)."""
        self._timer.stop()
        text = self.box.text()
        try:
            typed = parse_filter(text)
        except FilterError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        if self.box.walking == -1 and text.strip():
            before = list(self.history.items)
            self.history.add(text)
            if self.history.items != before:
                self.history_changed.emit(list(self.history.items))
        self.typed = typed
        self._send()

    def _send(self) -> None:
        self.current = both(self.typed, self._type_filters[self.type_label])
        self.filter_changed.emit(self.current)

    # Saved filters

    def set_history(self, items: list[str]) -> None:
        self.history.items = [text for text in items if text.strip()][: self.history.size]

    def set_saved(self, saved: list[list[str]]) -> None:
        self.saved = [list(pair) for pair in saved]

    def save_current(self, name: str) -> None:
        """Save the box's expression under ``name`` (replacing one so named)."""
        name, text = name.strip(), self.box.text().strip()
        if not name or not text:
            return
        self.saved = [pair for pair in self.saved if pair[0] != name] + [[name, text]]
        self.saved_changed.emit([list(pair) for pair in self.saved])

    def remove_saved(self, name: str) -> None:
        self.saved = [pair for pair in self.saved if pair[0] != name]
        self.saved_changed.emit([list(pair) for pair in self.saved])

    def use_saved(self, name: str) -> None:
        for saved_name, text in self.saved:
            if saved_name == name:
                self.box.setText(text)
                self.apply()
                return

    def _ask_name(self) -> None:
        name, ok = QInputDialog.getText(self, "Save Filter", "Name of the filter:")
        if ok:
            self.save_current(name)

    def _fill_menu(self) -> None:
        menu = self.saved_menu
        menu.clear()
        save = menu.addAction("Save current filter…", self._ask_name)
        save.setEnabled(bool(self.box.text().strip()) and not self.error())
        if not self.saved:
            return
        menu.addSeparator()
        for name, text in self.saved:
            action = menu.addAction(f"{name}    {text}")
            action.triggered.connect(lambda _c=False, n=name: self.use_saved(n))
        remove = menu.addMenu("Remove")
        for name, _text in self.saved:
            action = remove.addAction(name)
            action.triggered.connect(lambda _c=False, n=name: self.remove_saved(n))
