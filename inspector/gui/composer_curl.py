"""The composer's "Import curl" dialog: paste a curl command, get a request.

The text is read with ``core.curl.parse_curl`` when Import is pressed; a
command it cannot read leaves the dialog open with the text as pasted and
the reason under it, so nothing typed is lost. The dialog is shown, never
``exec()``-ed (a nested event loop is what qasync cannot survive).

Signals:
    imported(object): a ``CurlRequest`` read from the text.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from inspector.core.curl import CurlError, parse_curl


class CurlDialog(QDialog):
    imported = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import curl")
        self.resize(640, 320)
        self.text = QPlainTextEdit()
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText(
            "curl 'https://example.com/api' -H 'Accept: application/json' --data-raw '{}'"
        )
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d73a49;")
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.import_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        buttons.accepted.connect(self.try_import)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Paste a curl command (a browser's Copy as cURL works):"))
        layout.addWidget(self.text, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def start(self, text: str = "") -> None:
        """Show the dialog, with ``text`` in it (if any)."""
        if text:
            self.text.setPlainText(text)
        self.error.hide()
        self.show()
        self.raise_()
        self.text.setFocus()

    def try_import(self) -> None:
        try:
            request = parse_curl(self.text.toPlainText().strip())
        except CurlError as exc:
            self.error.setText(f"Cannot import: {exc}")
            self.error.show()
            return
        self.error.hide()
        self.imported.emit(request)
        self.accept()
