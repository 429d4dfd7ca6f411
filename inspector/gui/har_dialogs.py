"""The Export HAR dialog: which flows (all, the rows the table shows, the
selected ones) and whether secrets stay in.

Secrets are redacted unless the box is ticked: a HAR file is made to be
shared, and a leaked token cannot be taken back. WebSocket messages are
exported as they were (nothing in a message says which part is a secret),
and the dialog says so next to the box.
"""

from __future__ import annotations

import enum

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)


class Scope(enum.Enum):
    ALL = "all"
    FILTERED = "filtered"
    SELECTED = "selected"


class ExportHarDialog(QDialog):
    """Shown with ``open()``; read ``scope`` and ``include_secrets`` once
    it is accepted."""

    def __init__(
        self,
        total: int,
        shown: int,
        selected: int,
        filtered: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export HAR")
        self.setObjectName("ExportHarDialog")
        self.all = QRadioButton(f"All flows ({total:,})")
        shows = "the filter shows" if filtered else "the table shows"
        self.filtered = QRadioButton(f"The flows {shows} ({shown:,})")
        self.selected = QRadioButton(f"The selected flows ({selected:,})")
        self.filtered.setEnabled(shown > 0)
        self.selected.setEnabled(selected > 0)
        self._group = QButtonGroup(self)
        for button in (self.all, self.filtered, self.selected):
            self._group.addButton(button)
        if selected > 1:
            self.selected.setChecked(True)
        elif filtered and shown > 0:
            self.filtered.setChecked(True)
        else:
            self.all.setChecked(True)
        scope_box = QGroupBox("Export")
        scope_layout = QVBoxLayout(scope_box)
        for button in (self.all, self.filtered, self.selected):
            scope_layout.addWidget(button)

        self.secrets = QCheckBox("Include secrets")
        self.secrets.setChecked(False)
        note = QLabel(
            "Without secrets, the values of credentials, cookies, tokens, API keys and "
            "secret-looking query and form parameters become REDACTED (their names stay).<br>"
            "<b>WebSocket messages are never redacted</b>: check them before you share "
            "the file."
        )
        note.setWordWrap(True)
        note.setObjectName("ExportHarNote")
        self.note = note
        # A word-wrapped label asks for little width, and reads badly
        # narrow; at a known width its height comes out right too.
        note.setMinimumWidth(440)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Export…")
        ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(scope_box)
        layout.addSpacing(6)
        layout.addWidget(self.secrets)
        layout.addWidget(note)
        layout.addSpacing(6)
        layout.addWidget(buttons)

    @property
    def scope(self) -> Scope:
        if self.selected.isChecked():
            return Scope.SELECTED
        if self.filtered.isChecked():
            return Scope.FILTERED
        return Scope.ALL

    @property
    def include_secrets(self) -> bool:
        return self.secrets.isChecked()
