"""The composer's body editor: Raw, JSON or Form.

Raw sends the text as typed (UTF-8). JSON is the same text, checked as
you type (the first error with its line:column) with a Format button that
pretty-prints it; invalid JSON is only a warning and goes out as typed, a
developer may well want to see how a server takes a broken body. Form is
a name/value table sent as ``application/x-www-form-urlencoded``; switching
between Form and the text modes carries the fields over.

A body loaded from a flow that is not UTF-8 text is kept as its bytes and
shown read-only (as a note), since editing it as text would change it;
"Edit as text" lets it go for a text body.

Signals:
    changed(): the body or its mode changed.
    mode_changed(str): now ``raw``, ``json`` or ``form``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core import forms
from inspector.core.format import size
from inspector.gui.composer_pairs import PairTable

MODES = ("raw", "json", "form")
LABELS = {"raw": "Raw", "json": "JSON", "form": "Form"}
CONTENT_TYPES = {"json": "application/json", "form": "application/x-www-form-urlencoded"}


def json_problem(text: str) -> str | None:
    """Why ``text`` is not JSON (with line:column), or None."""
    if not text.strip():
        return None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"JSON: {exc.msg} at line {exc.lineno}:{exc.colno}"
    return None


def encode_form(pairs: list[tuple[str, str]]) -> str:
    """Form fields as ``application/x-www-form-urlencoded`` (spaces as ``+``)."""
    return urlencode(pairs)


def mode_for(content_type: str) -> str:
    """The mode that suits a body of ``content_type``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return "json"
    if kind == "application/x-www-form-urlencoded":
        return "form"
    return "raw"


class BodyEditor(QWidget):
    changed = Signal()
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = "raw"
        self._binary: bytes | None = None
        self.buttons = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for mode in MODES:
            radio = QRadioButton(LABELS[mode])
            self.radios[mode] = radio
            self.buttons.addButton(radio)
            radio.toggled.connect(lambda on, m=mode: self._toggled(on, m))
            bar.addWidget(radio)
        bar.addStretch(1)
        self.format_button = QPushButton("Format")
        self.format_button.setToolTip("Pretty-print the JSON")
        self.format_button.clicked.connect(self.format_json)
        bar.addWidget(self.format_button)
        self.text = QPlainTextEdit()
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("Request body")
        self.text.textChanged.connect(self._edited)
        self.form = PairTable("field")
        self.form.changed.connect(self._edited)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.text)
        self.stack.addWidget(self.form)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.binary_button = QPushButton("Edit as text")
        self.binary_button.clicked.connect(self._drop_binary)
        note_row = QHBoxLayout()
        note_row.setContentsMargins(0, 0, 0, 0)
        note_row.addWidget(self.note, 1)
        note_row.addWidget(self.binary_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        layout.addLayout(note_row)
        self.radios["raw"].setChecked(True)
        self._update()

    # Contents

    def set_body(self, body: bytes, content_type: str = "") -> None:
        """Show ``body``, in the mode its type suits."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            self._binary = body
            self.radios["raw"].setChecked(True)
            self.text.setPlainText("")
            self._update()
            return
        self._binary = None
        mode = mode_for(content_type)
        if mode == "form" and not _is_form(text):
            mode = "raw"
        self.text.setPlainText(text)
        self.radios[mode].setChecked(True)
        if mode == "form":
            self.form.set_pairs(forms.parse_urlencoded(text))
        self._update()

    def body(self) -> bytes:
        if self._binary is not None:
            return self._binary
        if self.mode == "form":
            return encode_form(self.form.pairs()).encode("ascii")
        return self.text.toPlainText().encode("utf-8")

    def problem(self) -> str | None:
        """A warning about the body (invalid JSON), or None."""
        if self.mode == "json" and self._binary is None:
            return json_problem(self.text.toPlainText())
        return None

    # Modes

    def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        if mode == "form" and self._binary is None:
            self.form.set_pairs(forms.parse_urlencoded(self.text.toPlainText()))
        elif self.mode == "form":
            self.text.setPlainText(encode_form(self.form.pairs()))
        self.mode = mode
        self.radios[mode].setChecked(True)
        self._update()
        self.mode_changed.emit(mode)
        self.changed.emit()

    def _toggled(self, on: bool, mode: str) -> None:
        if on:
            self.set_mode(mode)

    def format_json(self) -> None:
        try:
            value = json.loads(self.text.toPlainText())
        except json.JSONDecodeError:
            return  # the note already says why
        self.text.setPlainText(json.dumps(value, indent=2, ensure_ascii=False))

    def _drop_binary(self) -> None:
        self._binary = None
        self._update()
        self.changed.emit()

    def _edited(self) -> None:
        self._update()
        self.changed.emit()

    def _update(self) -> None:
        binary = self._binary is not None
        self.stack.setCurrentWidget(self.form if self.mode == "form" and not binary else self.text)
        self.text.setReadOnly(binary)
        self.format_button.setVisible(self.mode == "json")
        self.binary_button.setVisible(binary)
        for mode, radio in self.radios.items():
            radio.setEnabled(not binary or mode == "raw")
        if binary:
            shown = size(len(self._binary or b""))
            self._say(f"A binary body of {shown}, sent as loaded", error=False)
            return
        problem = self.problem()
        if problem is not None:
            self._say(f"{problem} (it is sent as typed)", error=True)
        elif self.mode == "json" and self.text.toPlainText().strip():
            self._say("Valid JSON", error=False)
        else:
            self._say("", error=False)

    def _say(self, text: str, error: bool) -> None:
        self.note.setText(text)
        self.note.setStyleSheet("color: #d73a49;" if error else "")
        self.note.setVisible(bool(text))


def _is_form(text: str) -> bool:
    """Whether ``text`` reads back the same from its fields (no loss)."""
    return encode_form(forms.parse_urlencoded(text)) == text
