"""The offer, over the flow table at start, to reopen the last session:
"Reopen the last session (N flows, today 14:03)?" with Open and Dismiss.

A bar rather than a dialog: the proxy is already capturing, and nothing
should stand between the user and the traffic they came to see.

Signals:
    open_requested(object): the user asked to open the offered file (a Path).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from inspector.gui.recent import FileSummary, when


class ReopenBar(QFrame):
    open_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReopenBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.path: Path | None = None
        self.text = QLabel()
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._open)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.dismiss_button)
        # Colours from the palette, so it reads in light and dark themes.
        self.setStyleSheet(
            "#ReopenBar { background: palette(alternate-base);"
            " border: 1px solid palette(mid); border-radius: 4px; }"
        )
        self.hide()

    def offer(self, path: Path, summary: FileSummary) -> None:
        self.path = path
        flows = "1 flow" if summary.flows == 1 else f"{summary.flows:,} flows"
        self.text.setText(f"Reopen the last session ({flows}, {when(summary.ended)})?")
        self.text.setToolTip(str(path))
        self.show()

    def _open(self) -> None:
        self.hide()
        if self.path is not None:
            self.open_requested.emit(self.path)
