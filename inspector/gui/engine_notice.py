"""The notice shown over the flow table when the engine ended unasked:
what happened, in plain words, that the rows shown are kept, and a button
to start a new engine.

Signals:
    restart_requested(): the user asked for a new engine.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class EngineNotice(QFrame):
    restart_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EngineNotice")
        # A style sheet background is painted only with this set.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.restart = QPushButton("Restart engine")
        self.restart.clicked.connect(self._restart)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.restart)
        self.setStyleSheet(
            "#EngineNotice { background: #d73a49; border-radius: 4px; }"
            " #EngineNotice QLabel { color: white; font-weight: bold; }"
        )
        self.hide()

    def show_lost(self, description: str) -> None:
        self.text.setText(
            f"The proxy engine stopped unexpectedly ({description}). The flows shown are kept, "
            "but new traffic is not captured and their details are gone. Restart the engine "
            "to capture again."
        )
        self.restart.setEnabled(True)
        self.restart.setText("Restart engine")
        self.show()

    def show_failed(self, message: str) -> None:
        self.text.setText(f"The proxy engine could not be started: {message}")
        self.restart.setEnabled(True)
        self.restart.setText("Try again")
        self.show()

    def _restart(self) -> None:
        self.restart.setEnabled(False)
        self.restart.setText("Starting…")
        self.restart_requested.emit()
