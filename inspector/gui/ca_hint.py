"""The one-time hint to install the CA, the first time a client refuses it.

A client that does not trust Inspector's CA ends its tunnel at the TLS
handshake; the row says so ("CA rejected"), and the first time it happens
this bar over the table says what to do about it, with a button to the CA
dialog. Once shown (dismissed or followed) it never comes back: the
window's state remembers it (``window_state.WindowState.hints``).

Signals:
    ca_requested(): the user asked for the CA dialog.
    done(): the hint was followed or dismissed; it will not show again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from inspector.core import summary

HINT = "ca-rejected"
"""Its name among the window's one-time hints."""
UNTRUSTED_KIND = "client-untrusted"
"""The error kind of a tunnel whose client rejected the CA (``proxy.tunnel``)."""


def rejected_host(rows: Iterable[Sequence[Any]]) -> str | None:
    """The host of the first row whose client rejected the CA, if any."""
    for row in rows:
        if row[summary.ERROR_KIND] == UNTRUSTED_KIND:
            return str(row[summary.HOST])
    return None


class CaHint(QFrame):
    ca_requested = Signal()
    done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CaHint")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.given = False
        self.text = QLabel()
        self.text.setWordWrap(True)
        install = QPushButton("Install the CA…")
        install.clicked.connect(self._install)
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(install)
        layout.addWidget(dismiss)
        self.setStyleSheet(
            "#CaHint { background: #f0b429; border-radius: 4px; }"
            " #CaHint QLabel { color: #1f2328; }"
        )
        self.hide()

    def check(self, rows: Sequence[Sequence[Any]]) -> None:
        """Show the hint if one of ``rows`` is a tunnel whose client
        rejected the CA, unless it was given already."""
        if self.given or self.isVisible() or not rows:
            return
        host = rejected_host(rows)
        if host is None:
            return
        self.text.setText(
            f"<b>A client refused Inspector's certificate for {host}.</b> To see its HTTPS"
            " traffic, install Inspector's CA in that client (or its system) and trust it;"
            " other clients are not affected."
        )
        self.show()

    def _install(self) -> None:
        self._finish()
        self.ca_requested.emit()

    def _dismiss(self) -> None:
        self._finish()

    def _finish(self) -> None:
        self.given = True
        self.hide()
        self.done.emit()
